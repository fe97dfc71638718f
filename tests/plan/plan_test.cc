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

namespace kcat::plan {

// Issue 12 R1: CUDA-only packages are routed by package (patches/advice), not all to the flash-attn
// recipe; a guarded import whose advice needs no change and the repository's own package are notes.
TEST(Plan, CudaOnlyFindingsAreRoutedByPackage) {
  auto use = [](std::string file, uint32_t line, std::string matched, Severity sev = Severity::Blocking) {
    auto f = finding(std::move(file), line, "py.cuda-only-use", "import", "", "",
                     "flash-attn-to-npu-fusion-attention", sev);
    f.matched = std::move(matched);
    return f;
  };
  auto bnb = use("lora.py", 3, "bitsandbytes.nn.Linear8bitLt");
  auto r = routed(bnb, shipped_advice());
  EXPECT_EQ(r.recipe, "");
  EXPECT_NE(r.action.find("bf16"), std::string::npos) << r.action;
  EXPECT_NE(r.action.find("bitsandbytes-foundation/bitsandbytes:"), std::string::npos)
      << "cited: " << r.action;
  EXPECT_EQ(action_for(bnb), Action::Llm);
  EXPECT_EQ(routed(use("m.py", 1, "flash_attn.flash_attn_func"), shipped_advice()).recipe,
            "flash-attn-to-npu-fusion-attention");
  EXPECT_EQ(routed(use("m.py", 1, "nvtx.range_push"), shipped_advice()).recipe, "")
      << "no package without advice goes to the flash-attn recipe";
  for (const char* pkg : {"xformers", "apex", "bitsandbytes", "cupy", "pynvml", "transformer_engine",
                          "mamba_ssm", "causal_conv1d"}) {
    const auto* a = shipped_advice().find(pkg);
    ASSERT_NE(a, nullptr) << pkg;
    EXPECT_NE(a->source.find(':'), std::string::npos) << pkg;
  }

  auto p = make_plan(
      {use("mamba_ssm/modules/block.py", 4, "mamba_ssm.ops.triton.layer_norm.RMSNorm"),
       use("mamba_ssm/modules/mamba_simple.py", 9, "causal_conv1d.causal_conv1d_fn", Severity::Warning),
       use("train.py", 2, "apex.amp.initialize")},
      "mamba", "ascend-a2");
  size_t findings = 0;
  for (auto& s : p.steps) {
    findings += s.findings.size();
    EXPECT_NE(s.recipe, "flash-attn-to-npu-fusion-attention");
  }
  EXPECT_EQ(findings, 1u) << "only the unguarded apex use is work";
  std::string notes;
  for (auto& n : p.notes) notes += n + "\n";
  EXPECT_NE(notes.find("mamba_ssm: 1 site(s), a note, not work: the repository's own package"),
            std::string::npos)
      << notes;
  EXPECT_NE(notes.find("causal_conv1d: 1 site(s), a note, not work: no change needed"), std::string::npos)
      << notes;
  // Issue 12, honest accounting: the plan counts as route_all routes (the same for scan and status).
  EXPECT_EQ(p.sites.found, 3u);
  EXPECT_EQ(p.sites.left, 1u);
  EXPECT_EQ(p.sites.blocking, 1u);
  EXPECT_EQ(p.sites.notes, 2u);
  EXPECT_EQ(account_line(p.sites), "1 left (1 blocking), 2 notes");
  nlohmann::json j = p;
  EXPECT_EQ(j["sites"]["notes"], 2);
  EXPECT_NE(render_markdown(p).find("Sites: 3 found: 1 left (1 blocking), 2 notes."), std::string::npos);
}

// Issue 12 R2: SDPA with a float mask runs on the NPU: a performance note, not a blocker.
TEST(Plan, SdpaFloatMaskIsAPerformanceNote) {
  auto f = finding("timm/models/tiny_vit.py", 287, "py.sdpa-float-mask", "attn-impl", "", "",
                   "sdpa-float-mask-to-pfa");
  auto p = make_plan({f}, "timm", "ascend-a2");
  EXPECT_TRUE(p.steps.empty());
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("py.sdpa-float-mask: 1 site(s), a note"), std::string::npos) << p.notes[0];
  EXPECT_EQ(action_for(f), Action::Manual);
}

// Issue 17 item 2: a Triton kernel and its launch API are kept on triton-ascend (recipe
// triton-kernel-port, outcome "kept"): a note handled by the recipe, not a pending recipe step; what
// triton-ascend documents as different (inline asm for the GPU) stays, blocking, with its reason.
TEST(Plan, TritonKernelsAreKeptOnTritonAscendAndTheirChecksLeft) {
  auto kernel = finding("pkg/ops.py", 8, "py.triton", "triton-kernel", "", "", "triton-kernel-port");
  auto launch = finding("pkg/ops.py", 28, "py.triton-launch", "triton-kernel", "", "", "triton-kernel-port",
                        Severity::Warning);
  auto asm_ = finding("pkg/ops.py", 14, "py.triton-ascend-inline-asm", "triton-kernel", "", "");
  auto p = make_plan({kernel, launch, asm_}, "pkg", "ascend-a2");
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].findings.size(), 1u);
  EXPECT_EQ(p.steps[0].findings[0].rule_id, "py.triton-ascend-inline-asm");
  EXPECT_NE(p.steps[0].action, Action::Recipe);
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(
      p.notes[0].find("recipe triton-kernel-port: 2 site(s), a note, not work: kept: runs on triton-ascend"),
      std::string::npos)
      << p.notes[0];
  EXPECT_NE(keeping_recipe(kernel), nullptr);
  EXPECT_EQ(keeping_recipe(asm_), nullptr);
  EXPECT_EQ(routed(kernel, shipped_advice()).severity, Severity::Info);
}

// Issue 17 item 4: a kernel-DSL site (recipe kernel-dsl-port, outcome "left") is for a person, with
// the route as its action, never an LLM rewrite or a pending recipe.
TEST(Plan, KernelDslSitesAreLeftWithTheirRoute) {
  auto f = finding("pkg/ops/cute/k.py", 3, "py.kernel-dsl", "kernel", "", "", "kernel-dsl-port");
  EXPECT_EQ(action_for(f), Action::Manual);
  auto r = routed(f, shipped_advice());
  EXPECT_EQ(r.severity, Severity::Blocking);
  EXPECT_NE(r.action.find("reference"), std::string::npos) << r.action;
  auto p = make_plan({f}, "pkg", "ascend-a2");
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].action, Action::Manual);
  EXPECT_EQ(keeping_recipe(f), nullptr);
}

}  // namespace kcat::plan
