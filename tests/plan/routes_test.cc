#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/core/error.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/route.h"
#include "kcat/plan/plan.h"
#include "testsupport/support.h"

namespace kcat::plan {
namespace {

std::vector<kb::Route> shipped() { return kb::load_routes(kb::default_data_dir() / "routes"); }

TEST(Routes, ShippedRoutesLoadWithSources) {
  auto routes = shipped();
  ASSERT_GE(routes.size(), 2u);
  for (const auto& r : routes) {
    EXPECT_FALSE(r.sources.empty()) << r.id;
    EXPECT_FALSE(r.install.empty()) << r.id;
    EXPECT_TRUE(r.stack.count("vllm_ascend")) << r.id;
  }
}

// The anchor is quoted as vllm-ascend's tutorial states it (section 8 of
// docs/source/tutorials/models/DeepSeekOCR2.md): "864TPS (Token Per Second)", without a concurrency
// and without saying output or total tokens; the route must not call it "output tok/s". Its serve
// command keeps the tutorial's caches-off flags and --additional-config.
TEST(Routes, TheOcrAnchorIsQuotedAsTheTutorialStatesIt) {
  for (const auto& r : shipped()) {
    if (r.id != "ocr2-native-vllm-ascend") continue;
    EXPECT_NE(r.expected_note.find("864TPS (Token Per Second)"), std::string::npos) << r.expected_note;
    EXPECT_EQ(r.expected_note.find("output tok/s"), std::string::npos) << r.expected_note;
    EXPECT_NE(r.expected_note.find("neither the concurrency nor whether TPS counts output or total"),
              std::string::npos);
    for (const char* flag :
         {"--no-enable-prefix-caching", "--mm-processor-cache-gb 0", "--additional-config"})
      EXPECT_NE(r.run.find(flag), std::string::npos) << flag;
    return;
  }
  FAIL() << "no route ocr2-native-vllm-ascend";
}

// vllm-ascend v0.19.1rc1 .. v0.25.1rc1 fail to start DeepSeek-OCR-2 ("'AscendQwen2DecoderLayer' object
// has no attribute 'attention_type'", issues #11661 / #11926 / #11991, transformers >= 5.5); v0.18.0
// with transformers below 5 runs. The default route is that release, keeps transformers below 5, and
// keeps n-gram blocking through vLLM's V1 NGramPerReqLogitsProcessor instead of dropping it.
TEST(Routes, TheOcrDefaultIsTheReleaseThatStartsAndKeepsNgramBlocking) {
  for (const auto& r : shipped()) {
    if (r.id != "ocr2-native-vllm-ascend") continue;
    EXPECT_EQ(r.stack.at("vllm_ascend"), "0.18.0");
    EXPECT_EQ(r.stack.at("vllm"), "0.18.0");
    EXPECT_NE(r.stack.at("transformers").find("<5"), std::string::npos) << r.stack.at("transformers");
    bool pins_transformers = false;
    for (auto& c : r.install) pins_transformers |= c.find("'transformers>=4.57.4,<5'") != std::string::npos;
    EXPECT_TRUE(pins_transformers);
    std::string caveats;
    for (auto& c : r.caveats) caveats += c + "\n";
    EXPECT_NE(caveats.find("NGramPerReqLogitsProcessor"), std::string::npos) << caveats;
    EXPECT_NE(caveats.find("extra_args"), std::string::npos) << caveats;
    EXPECT_EQ(caveats.find("or is lost"), std::string::npos) << caveats;
    EXPECT_NE(caveats.find("SamplingMetadata"), std::string::npos) << caveats;
    return;
  }
  FAIL() << "no route ocr2-native-vllm-ascend";
}

TEST(Routes, OcrShapedRepoGetsBothRoutesAndTheFasterOneByDefault) {
  Plan p;
  auto fit = add_routes(p, test::fixtures_dir() / "ocr2/repo", shipped());
  ASSERT_EQ(fit.size(), 2u);
  EXPECT_EQ(fit[0].id, "ocr2-native-vllm-ascend");
  ASSERT_FALSE(p.steps.empty());
  EXPECT_EQ(p.steps[0].id, "environment-route");
  EXPECT_NE(p.steps[0].title.find("ocr2-native-vllm-ascend"), std::string::npos);
  bool installs_ascend = false;
  for (auto& c : p.steps[0].commands)
    installs_ascend |= c.find("pip install vllm-ascend==0.18.0") != std::string::npos;
  EXPECT_TRUE(installs_ascend);
  ASSERT_EQ(p.notes.size(), 2u);
  EXPECT_NE(p.notes[0].find("the default: the highest expected throughput"), std::string::npos) << p.notes[0];
  EXPECT_NE(p.notes[0].find("864"), std::string::npos);
  EXPECT_NE(p.notes[1].find("not the default"), std::string::npos) << p.notes[1];
  EXPECT_NE(p.notes[1].find("--route ocr2-faithful-v085"), std::string::npos) << p.notes[1];
  auto md = render_markdown(p);
  EXPECT_NE(md.find("```sh\nnpu-smi info\n"), std::string::npos) << md;
}

TEST(Routes, ChoosingTheFaithfulRouteExplainsTheDefault) {
  Plan p;
  auto fit = add_routes(p, test::fixtures_dir() / "ocr2/repo", shipped(), "ocr2-faithful-v085");
  ASSERT_EQ(fit[0].id, "ocr2-faithful-v085");
  EXPECT_NE(p.steps[0].rationale.find("vllm_ascend 0.8.5rc1"), std::string::npos) << p.steps[0].rationale;
  EXPECT_NE(p.notes[0].find("chosen with --route"), std::string::npos);
  EXPECT_NE(p.notes[1].find("the default when no route is chosen"), std::string::npos) << p.notes[1];
  nlohmann::json j = p;
  EXPECT_FALSE(j["steps"][0]["commands"].empty());
}

TEST(Routes, UnrelatedRepoGetsNoRouteAndAnUnknownRouteIsAUsageError) {
  test::TempDir d;
  test::write(d / "train.py", "import torch\n");
  Plan p;
  EXPECT_TRUE(add_routes(p, d.path(), shipped()).empty());
  EXPECT_TRUE(p.steps.empty());
  EXPECT_THROW(add_routes(p, d.path(), shipped(), "nope"), Error);
}

// Issue 18 §8: the default DeepSeek-OCR-2 route runs vLLM's own model, so the repository's vLLM
// folder (its model class, registered out of tree, and the scripts beside it) is not the agent's to
// port: those sites go to a skipped step that says why; the rest stay with the agent. The faithful
// route runs that folder: nothing is set aside.
struct OcrRepo {
  test::TempDir d;
  OcrRepo() {
    test::write(d / "ocr_vllm/model.py",
                "import torch\nclass DeepseekOCR2ForCausalLM(torch.nn.Module):\n    pass\n");
    test::write(d / "ocr_vllm/run.py",
                "from vllm import ModelRegistry\nfrom model import DeepseekOCR2ForCausalLM as M\n"
                "ModelRegistry.register_model(\"DeepseekOCR2ForCausalLM\", M)\n");
    test::write(d / "ocr_hf/run.py", "import torch\n");
  }
  static Plan agent_plan() {
    Plan p;
    Step s;
    s.id = "attention-fused-ops-1";
    s.phase = Phase::AttentionFusedOps;
    s.action = Action::Llm;
    for (auto file : {"ocr_vllm/model.py", "ocr_hf/run.py", "ocr_vllm/run.py"}) {
      Finding f;
      f.rule_id = "py.flash-attn-call";
      f.severity = Severity::Blocking;
      f.file = file;
      s.findings.push_back(f);
    }
    p.steps.push_back(s);
    return p;
  }
};

TEST(Routes, TheDefaultOcrRouteSetsAsideTheFolderVllmsOwnModelReplaces) {
  OcrRepo r;
  auto p = OcrRepo::agent_plan();
  auto fit = add_routes(p, r.d.path(), shipped());
  ASSERT_EQ(fit.at(0).id, "ocr2-native-vllm-ascend");
  const Step* agent = nullptr;
  const Step* moot = nullptr;
  for (auto& s : p.steps) {
    if (s.id == "attention-fused-ops-1") agent = &s;
    if (s.id == "attention-moot") moot = &s;
  }
  ASSERT_NE(agent, nullptr);
  ASSERT_EQ(agent->findings.size(), 1u);
  EXPECT_EQ(agent->findings[0].file, "ocr_hf/run.py");
  ASSERT_NE(moot, nullptr);
  EXPECT_EQ(moot->findings.size(), 2u);
  EXPECT_EQ(moot->action, Action::Manual);  // not the agent's
  EXPECT_EQ(moot->status, Status::Skipped);
  EXPECT_NE(moot->title.find("2 site(s) in ocr_vllm"), std::string::npos) << moot->title;
  EXPECT_NE(moot->status_reason.find("vLLM's own DeepseekOCR2ForCausalLM"), std::string::npos);
  EXPECT_NE(render_markdown(p).find("Not done: on this route"), std::string::npos) << render_markdown(p);

  auto faithful = OcrRepo::agent_plan();
  add_routes(faithful, r.d.path(), shipped(), "ocr2-faithful-v085");
  for (auto& s : faithful.steps) EXPECT_NE(s.status, Status::Skipped) << s.id;
  EXPECT_EQ(faithful.steps.back().findings.size(), 3u);
}

// Only a folder of its own that registers the class out of tree: vLLM's own source (the class,
// never registered with ModelRegistry) and a model at the repository's root are not set aside.
TEST(Routes, NothingIsSetAsideWithoutAnOutOfTreeModelFolder) {
  {
    OcrRepo r;
    test::write(r.d / "ocr_vllm/run.py", "import vllm\n");  // no registration: vLLM's own tree
    auto p = OcrRepo::agent_plan();
    add_routes(p, r.d.path(), shipped());
    for (auto& s : p.steps) EXPECT_NE(s.status, Status::Skipped) << s.id;
  }
  {
    test::TempDir d;
    test::write(d / "model.py",
                "class DeepseekOCR2ForCausalLM:\n    pass\n"
                "ModelRegistry.register_model(\"DeepseekOCR2ForCausalLM\", DeepseekOCR2ForCausalLM)\n");
    Plan p;
    Step s;
    s.action = Action::Llm;
    Finding f;
    f.file = "model.py";
    s.findings = {f};
    p.steps = {s};
    add_routes(p, d.path(), shipped());
    for (auto& st : p.steps) EXPECT_NE(st.status, Status::Skipped) << st.id;
  }
}

TEST(Routes, BadRouteFilesNameTheFile) {
  test::TempDir d;
  test::write(d / "r.toml", "[[route]]\nid = 'x'\ntitle = 't'\ndetect = ['a']\n");
  try {
    kb::load_routes(d.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.where().find("r.toml:1"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("cites no sources"), std::string::npos);
  }
}

}  // namespace
}  // namespace kcat::plan
