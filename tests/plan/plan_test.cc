#include "kcat/plan/plan.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kcat::plan {

namespace {
Finding finding(std::string file, uint32_t line, std::string rule, std::string category, std::string codemod,
                std::string replacement, std::string recipe = "", Severity sev = Severity::Blocking) {
  Finding f;
  f.file = std::move(file);
  f.span.begin = line * 10;
  f.span.start.line = line;
  f.rule_id = std::move(rule);
  f.category = std::move(category);
  f.codemod = std::move(codemod);
  f.replacement = std::move(replacement);
  f.recipe = std::move(recipe);
  f.severity = sev;
  return f;
}

std::vector<Finding> sample() {
  return {
      finding("train.py", 3, "py.cuda-method", "device-call", "replace", "npu"),
      finding("train.py", 9, "py.nccl-backend", "dist-backend", "replace", "hccl"),
      finding("model.py", 2, "py.flash-attn-import", "import", "", "", "flash-attn-to-npu-fusion-attention"),
      finding("k.cu", 5, "cpp.global-kernel", "kernel", "", "", ""),
      finding("requirements.txt", 1, "req.cuda-local-version", "requirements", "", ""),
      finding("a.py", 1, "py.cuda-mention", "mention", "", "", "", Severity::Info)};
}
}  // namespace

TEST(Plan, StepsInPhaseOrderWithActions) {
  auto p = make_plan(sample(), "repo", "ascend-a2");
  ASSERT_EQ(p.steps.size(), 5u);  // the info mention is not a step
  EXPECT_EQ(p.steps[0].id, "environment-1");
  EXPECT_EQ(p.steps[0].action, Action::Manual);
  EXPECT_EQ(p.steps[1].id, "device-api-1");
  EXPECT_EQ(p.steps[1].action, Action::Codemod);
  EXPECT_EQ(p.steps[1].risk, "low");
  EXPECT_EQ(p.steps[2].phase, Phase::Distributed);
  EXPECT_EQ(p.steps[3].phase, Phase::AttentionFusedOps);
  EXPECT_EQ(p.steps[3].action, Action::Recipe);
  EXPECT_EQ(p.steps[3].recipe, "flash-attn-to-npu-fusion-attention");
  EXPECT_EQ(p.steps[4].phase, Phase::CustomKernelsBuild);
  EXPECT_EQ(p.steps[4].action, Action::Llm);
}

TEST(Plan, DeterministicWhateverTheInputOrder) {
  auto a = sample();
  auto b = sample();
  std::reverse(b.begin(), b.end());
  nlohmann::json ja = make_plan(a, "r", "ascend-a2");
  nlohmann::json jb = make_plan(b, "r", "ascend-a2");
  EXPECT_EQ(ja, jb);
}

TEST(Plan, MarkdownNamesEveryStepAndHowItIsVerified) {
  auto md = render_markdown(make_plan(sample(), "repo", "ascend-a2"));
  EXPECT_NE(md.find("| device-api-1 | device-api | codemod | low | 1 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Verified by: re-parse every changed file"), std::string::npos);
  EXPECT_NE(md.find("`train.py:3` py.cuda-method — → npu"), std::string::npos);
}

TEST(Plan, TheDoctorsFailingChecksComeFirst) {
  auto p = make_plan(sample(), "repo", "ascend-a2");
  add_environment(p, {{"torch", "2.6.0", "2.5.1", "mismatch", "pip install torch==2.5.1"},
                      {"CANN toolkit", "8.1.RC1", "", "ok", ""}});
  ASSERT_EQ(p.steps.front().id, "environment-host");
  EXPECT_EQ(p.steps.front().action, Action::Manual);
  EXPECT_NE(p.steps.front().rationale.find("pip install torch==2.5.1"), std::string::npos);
  EXPECT_EQ(p.steps.front().rationale.find("CANN toolkit"), std::string::npos);
  auto ready = make_plan(sample(), "repo", "ascend-a2");
  add_environment(ready, {{"torch", "2.5.1", "2.5.1", "ok", ""}});
  EXPECT_NE(ready.steps.front().id, "environment-host");
  EXPECT_NE(ready.notes.back().find("ready"), std::string::npos);
}

TEST(Plan, EffortBucketsByWhatIsLeftAfterCodemods) {
  auto p = make_plan(sample(), "repo", "ascend-a2");
  EXPECT_EQ(p.effort["train.py"], "none");         // every site has a codemod
  EXPECT_EQ(p.effort["model.py"], "medium");       // a recipe
  EXPECT_EQ(p.effort["k.cu"], "high");             // a custom kernel
  EXPECT_EQ(p.effort["requirements.txt"], "low");  // packaging only
  auto md = render_markdown(p);
  EXPECT_NE(md.find("Effort by file after codemods: 2 none, 1 low, 1 medium, 1 high."), std::string::npos)
      << md;
}

// Issue 12: a codemod kcat withheld is left for a person, not a recipe or an LLM.
TEST(Plan, AWithheldCodemodIsLeftForAPerson) {
  auto f = finding("a.py", 4, "py.flash-attention-2", "attn-impl", "", "sdpa", "attn-impl-to-sdpa");
  EXPECT_EQ(action_for(f), Action::Recipe);
  f.action = "not rewritten: compared literal: the other operand is not known to be 'sdpa' on an NPU host";
  EXPECT_EQ(action_for(f), Action::Manual);
  auto g = finding("a.py", 5, "py.device-string", "device-call", "", "npu");
  EXPECT_EQ(action_for(g), Action::Llm);
  g.action = "not rewritten: the line carries the project's own marker to leave it as is";
  EXPECT_EQ(action_for(g), Action::Manual);
}

}  // namespace kcat::plan
