#include <gtest/gtest.h>

#include "kcat/report/run_report.h"
#include "report/report_fixture.h"
#include "testsupport/support.h"

namespace kcat::report {

TEST(Junit, OneCasePerCheckAndBenchCheck) {
  auto xml = render_junit(test_data::sample());
  // 3 checks of step 1 + 2 of step 2 + target + ratio.
  EXPECT_NE(xml.find("<testsuites name=\"kcat 20261124T220000Z-abc123\" tests=\"7\" failures=\"1\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"attention-1.py_compile\">"), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"py_compile failed\"/>"), std::string::npos);
  EXPECT_NE(xml.find("name=\"ratio over baseline 7.33x\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("classname=\"kcat.bench\" name=\"target\"/>"), std::string::npos);
}

TEST(Junit, TargetMissedIsAFailure) {
  auto r = test_data::sample();
  r.target_metric = 500;
  auto xml = render_junit(r);
  EXPECT_NE(xml.find("best 110.00 tok/s is below the target 500.00"), std::string::npos) << xml;
}

TEST(Junit, IsWellFormedXml) {
  test::TempDir dir;
  test::write(dir / "r.xml", render_junit(test_data::sample()));
  auto r = test::run(
      {"python3", "-c", "import sys,xml.dom.minidom as m; m.parse(sys.argv[1])", (dir / "r.xml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace kcat::report
