#include "kcat/report/run_report.h"

#include <gtest/gtest.h>

#include "report/report_fixture.h"

namespace kcat::report {

TEST(RunReport, TotalsCountEachWayASiteWasHandled) {
  auto t = test_data::sample().totals();
  EXPECT_EQ(t.found, 4u);
  EXPECT_EQ(t.fixed_by_codemod, 2u);
  EXPECT_EQ(t.left_for_recipe, 1u);
  EXPECT_EQ(t.left_for_person, 1u);
  EXPECT_EQ(t.blocking_left, 1u);
}

// Issue 12, honest accounting: a note (a site found that is not work) is found, never left or
// blocking: found = fixed + left + notes in every rendering.
TEST(RunReport, ANoteIsFoundButNotLeft) {
  auto r = test_data::sample();
  Site note;
  note.finding.file = "train.py";
  note.finding.rule_id = "py.cuda-only-import";
  note.finding.severity = Severity::Info;
  note.status = "note";
  r.sites.push_back(note);
  auto t = r.totals();
  EXPECT_EQ(t.found, 5u);
  EXPECT_EQ(t.notes, 1u);
  EXPECT_EQ(t.left_for_person, 1u);
  EXPECT_EQ(t.blocking_left, 1u);
  EXPECT_EQ(t.found, t.fixed_by_codemod + t.left_for_recipe + t.left_for_person + t.notes);
  nlohmann::json j = r;
  EXPECT_EQ(j["totals"]["notes"], 1);
  EXPECT_EQ(j.get<RunReport>().sites.back().status, "note");
  EXPECT_NE(render_markdown(r).find("| blocking left | notes |"), std::string::npos);
  EXPECT_NE(render_markdown(r).find("| 5 | 2 | 0 | 0 | 1 | 0 | 1 | 1 | 1 |"), std::string::npos)
      << render_markdown(r);
  EXPECT_NE(render_html(r).find("<b>1</b>notes<small>found, not work</small>"), std::string::npos);
}

TEST(RunReport, JsonRoundTripKeepsEverything) {
  auto r = test_data::sample();
  nlohmann::json j = r;
  EXPECT_EQ(j["schema"], "kcat-report/1");
  EXPECT_EQ(j["totals"]["fixed_by_codemod"], 2);
  auto back = j.get<RunReport>();
  EXPECT_EQ(back.sites.size(), 4u);
  EXPECT_EQ(back.sites[2].how, "recipe:flash-attn-to-npu-fusion-attention");
  EXPECT_EQ(back.steps[1].failed_checks, std::vector<std::string>{"py_compile"});
  ASSERT_EQ(back.iterations.size(), 4u);
  EXPECT_FALSE(back.iterations[2].kept);
  EXPECT_EQ(back.baseline, 15);
  EXPECT_EQ(back.target_metric, 100);
  EXPECT_EQ(nlohmann::json(back), j);
}

TEST(RunReport, MarkdownHasTotalsStepsAndEscapedCells) {
  auto md = render_markdown(test_data::sample());
  EXPECT_NE(md.find("| 4 | 2 | 0 | 0 | 1 | 0 | 1 | 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| device-api-1 | codemod | done |"), std::string::npos);
  EXPECT_NE(md.find("| 3 | tiny-chunks | 12.00 |"), std::string::npos);
  EXPECT_NE(md.find("reverted"), std::string::npos);
  EXPECT_NE(md.find("model.py:12:5"), std::string::npos);
}

TEST(RunReport, XmlEscape) {
  EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(xml_escape(std::string("x\x01y")), "xy");
}

}  // namespace kcat::report
