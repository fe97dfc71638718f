#include <gtest/gtest.h>

#include "kcat/report/run_report.h"
#include "report/report_fixture.h"
#include "testsupport/support.h"

namespace kcat::report {

// One case per plan step (issue 16): its checks go to system-out, not to cases of their own.
TEST(Junit, OneCasePerStepAndBenchCheck) {
  auto r = test_data::sample();
  r.sites[2].step = "attention-1";  // model.py:12, blocking, left
  auto xml = render_junit(r);
  // 2 steps + target + ratio; attention-1 failed (its check) and has a blocking site left.
  EXPECT_NE(xml.find("<testsuites name=\"kcat 20261124T220000Z-abc123\" tests=\"4\" failures=\"1\" "
                     "skipped=\"0\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("classname=\"kcat.plan\" name=\"device-api-1\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<system-out>checks: reparse py_compile rescan</system-out>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"py_compile failed; 1 blocking site(s) left\">py_compile failed; 1 "
                     "blocking site(s) left\nmodel.py:12 py.flash-attn-import</failure>"),
            std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("attention-1.py_compile"), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"ratio over baseline 7.33x\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("classname=\"kcat.bench\" name=\"target\"/>"), std::string::npos);
}

TEST(Junit, AStepWithBlockingSitesLeftInItsScopeFailsAndListsThem) {
  auto r = test_data::sample();
  r.steps[1].status = "done";  // attention-1 committed, yet two blocking sites in its scope remain
  r.steps[1].failed_checks.clear();
  r.sites[2].step = "attention-1";
  auto extra = r.sites[2];
  extra.finding.file = "layers/attn.py";
  extra.finding.span.start.line = 77;
  r.sites.push_back(extra);
  r.sites[3].step = "attention-1";  // a warning left there fails nothing
  auto xml = render_junit(r);
  EXPECT_NE(xml.find("<failure message=\"2 blocking site(s) left\">2 blocking site(s) left\nmodel.py:12 "
                     "py.flash-attn-import\nlayers/attn.py:77 py.flash-attn-import</failure>"),
            std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("model.py:40"), std::string::npos) << xml;
  EXPECT_NE(xml.find("failures=\"1\""), std::string::npos) << xml;
}

TEST(Junit, BlockingSitesNoStepCoversAreOneFailingCase) {
  auto xml = render_junit(test_data::sample());  // model.py:12 is left with no step
  EXPECT_NE(xml.find("name=\"outside the plan\">\n      <failure message=\"1 blocking site(s) left that no "
                     "plan step covers\">"),
            std::string::npos)
      << xml;
}

TEST(Junit, RepeatedStepIdsGetUniqueNames) {
  auto r = test_data::sample();
  r.steps.push_back(r.steps[1]);
  r.steps.back().status = "pending";
  r.steps.push_back(r.steps[1]);
  r.steps.back().status = "pending";
  auto xml = render_junit(r);
  EXPECT_NE(xml.find("name=\"attention-1\">"), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"attention-1 #2\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"attention-1 #3\""), std::string::npos) << xml;
}

TEST(Junit, ADeclinedStepIsSkippedNotFailed) {
  auto r = test_data::sample();
  r.steps[1].status = "declined";
  r.steps[1].reason = "declined by the person at the terminal";
  r.steps[1].failed_checks = {"hook:before_commit"};
  r.sites.erase(r.sites.begin() + 2);  // no blocking site left anywhere
  auto xml = render_junit(r);
  EXPECT_NE(xml.find("<skipped message=\"declined by the person at the terminal\"/>"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find("tests=\"4\" failures=\"0\" skipped=\"1\""), std::string::npos) << xml;
}

// A step the chosen route makes moot (plan::add_routes) is skipped with its reason, although its
// blocking sites are left: they are in code the route does not run.
TEST(Junit, AStepMootOnTheRouteIsSkippedWithItsSitesLeft) {
  auto r = test_data::sample();
  r.steps[1].status = "skipped";
  r.steps[1].reason = "on this route vLLM's own model runs. Another route (--route) ports them.";
  r.steps[1].failed_checks.clear();
  r.sites[2].step = r.steps[1].id;  // a blocking site left in its scope
  auto xml = render_junit(r);
  EXPECT_NE(xml.find("<skipped message=\"on this route vLLM&#39;s own model runs."), std::string::npos)
      << xml;
  EXPECT_EQ(xml.find("blocking site(s) left\">"), std::string::npos) << xml;
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
