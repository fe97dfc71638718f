#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/report/run_report.h"
#include "report/report_fixture.h"
#include "testsupport/support.h"

namespace kcat {

class ReportCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    nlohmann::json j = report::test_data::sample();
    test::write(dir_ / ".kcat/runs/20261124T210000Z-aaaaaa/report.json", "{\"schema\":\"kcat-report/1\"}");
    test::write(dir_ / ".kcat/runs/20261124T220000Z-abc123/report.json", j.dump());
  }
  test::TempDir dir_;
};

TEST_F(ReportCommand, LatestRunAsMarkdown) {
  auto r = test::kcat({"report", "-C", dir_.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("# kcat migration report: ddp-llm"), std::string::npos) << r.out;
}

TEST_F(ReportCommand, HtmlToAFile) {
  auto out = dir_ / "r.html";
  auto r = test::kcat(
      {"report", "20261124T22", "-C", dir_.path().string(), "--format", "html", "-o", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto html = test::read(out);
  EXPECT_NE(html.find("<svg id=\"kcat-chart\""), std::string::npos);
}

TEST_F(ReportCommand, AmbiguousOrUnknownRunIsAUsageErrorListingRuns) {
  auto r = test::kcat({"report", "2026", "-C", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ambiguous"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("20261124T210000Z-aaaaaa"), std::string::npos);
  r = test::kcat({"report", "1999", "-C", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(ReportCommand, NoRunsSaysWhatToDo) {
  test::TempDir empty;
  auto r = test::kcat({"report", "-C", empty.path().string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("kcat migrate"), std::string::npos) << r.err;
}

TEST_F(ReportCommand, CorruptReportIsAClearError) {
  test::write(dir_ / ".kcat/runs/20261124T230000Z-ffffff/report.json", "{not json");
  auto r = test::kcat({"report", "-C", dir_.path().string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("report.json"), std::string::npos) << r.err;
}

}  // namespace kcat
