#include "kcat/kb/knowledge.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::kb {

namespace {
Finding api_finding(std::string matched, std::string codemod = "replace") {
  Finding f;
  f.category = "cuda-api";
  f.matched = std::move(matched);
  f.codemod = std::move(codemod);
  f.replacement = "npu";
  return f;
}
}  // namespace

TEST(KnowledgeBase, ShippedMapsAreSourcedAndConsistent) {
  auto kb = KnowledgeBase::load(test::source_dir() / "patches");
  ASSERT_GT(kb.apis().size(), 50u);
  ASSERT_GT(kb.envs().size(), 10u);
  for (auto& [name, e] : kb.apis()) {
    EXPECT_FALSE(e.source.empty()) << name;
    if (e.verdict == Verdict::Supported) {
      EXPECT_FALSE(e.equivalent.empty()) << name;
    }
    if (e.verdict == Verdict::Unsupported) {
      EXPECT_FALSE(e.note.empty()) << name << " says not what to do";
    }
  }
  for (auto& [name, e] : kb.envs()) {
    EXPECT_FALSE(e.source.empty()) << name;
    EXPECT_TRUE(e.action == "rename" || e.action == "remove" || e.action == "keep") << name;
    // A rename target is never itself a CUDA-side name of the map (no chains, no cycles).
    if (e.action == "rename") {
      EXPECT_EQ(kb.env(e.ascend), nullptr) << name;
    }
  }
}

TEST(KnowledgeBase, RecommendedPerformanceVariablesSayWhatTheyDo) {
  auto kb = KnowledgeBase::load(test::source_dir() / "patches");
  ASSERT_GE(kb.performance_env().size(), 5u);
  bool task_queue = false;
  for (auto& p : kb.performance_env()) {
    EXPECT_FALSE(p.what.empty()) << p.name;
    EXPECT_FALSE(p.source.empty()) << p.name;
    task_queue |= p.name == "TASK_QUEUE_ENABLE" && p.value == "2";
  }
  EXPECT_TRUE(task_queue);
}

TEST(KnowledgeBase, AnnotateKeepsSupportedCodemodsAndWithdrawsTheRest) {
  auto kb = KnowledgeBase::load(test::source_dir() / "patches");
  std::vector<Finding> fs = {api_finding("torch.cuda.synchronize"), api_finding("torch.cuda.memory_usage"),
                             api_finding("torch.cuda.some_new_api"), api_finding("torch.cuda.amp.autocast")};
  fs[3].category = "amp";
  Finding env;
  env.category = "env-var";
  env.codemod = "env-rename";
  env.matched = "CUDA_VISIBLE_DEVICES";
  Finding removed = env;
  removed.matched = "NCCL_DEBUG";
  fs.push_back(env);
  fs.push_back(removed);
  kb.annotate(fs);
  EXPECT_EQ(fs[0].verdict, Verdict::Supported);
  EXPECT_EQ(fs[0].codemod, "replace");
  EXPECT_EQ(fs[0].equivalent, "torch.npu.synchronize");
  EXPECT_EQ(fs[1].verdict, Verdict::Unsupported);
  EXPECT_TRUE(fs[1].codemod.empty());
  EXPECT_NE(fs[1].action.find("memory_allocated"), std::string::npos);
  EXPECT_EQ(fs[2].verdict, Verdict::Unknown);  // not in the map: never rewritten blindly
  EXPECT_TRUE(fs[2].codemod.empty());
  EXPECT_EQ(fs[3].verdict, Verdict::Supported);  // judged by its module torch.cuda.amp.*
  EXPECT_EQ(fs[4].replacement, "ASCEND_RT_VISIBLE_DEVICES");
  EXPECT_TRUE(fs[5].codemod.empty());
}

// Issue 12 / accuracy finding F2: torch.npu.get_device_capability exists but returns None, so
// `major, minor = torch.cuda.get_device_capability()` must not become the npu call.
TEST(KnowledgeBase, AnEntryWithADifferentBehaviourKeepsTheFindingWithoutCodemod) {
  auto kb = KnowledgeBase::load(test::source_dir() / "patches");
  ASSERT_NE(kb.api("torch.cuda.get_device_capability"), nullptr);
  EXPECT_NE(kb.api("torch.cuda.get_device_capability")->behaviour.find("returns None"), std::string::npos);
  std::vector<Finding> fs = {api_finding("torch.cuda.get_device_capability")};
  kb.annotate(fs);
  EXPECT_EQ(fs[0].verdict, Verdict::Supported);
  EXPECT_TRUE(fs[0].codemod.empty());
  EXPECT_NE(fs[0].action.find("not rewritten: torch.npu.get_device_capability exists, but"),
            std::string::npos)
      << fs[0].action;
}

TEST(KnowledgeBase, AnEntryWithoutASourceIsRefused) {
  test::TempDir dir;
  test::write(dir / "api_map.toml",
              "[[api]]\ncuda = \"torch.cuda.x\"\nverdict = \"supported\"\nnpu = \"torch.npu.x\"\n");
  EXPECT_THROW(KnowledgeBase::load(dir.path()), Error);
  test::write(dir / "api_map.toml",
              "[[api]]\ncuda = \"a\"\nverdict = \"supported\"\nsource = \"s\"\n[[api]]\ncuda = "
              "\"a\"\nverdict = \"unsupported\"\nsource = \"s\"\n");
  EXPECT_THROW(KnowledgeBase::load(dir.path()), Error);  // two entries for one name contradict
}

}  // namespace kcat::kb
