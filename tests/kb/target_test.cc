#include "kcat/kb/target.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::kb {

TEST(Targets, ShippedProfiles) {
  auto ts = load_targets(test::source_dir() / "patches");
  ASSERT_EQ(ts.size(), 3u);
  auto& a2 = find_target(ts, "ascend-a2");
  EXPECT_EQ(a2.device, "npu");
  EXPECT_EQ(a2.dist_backend, "hccl");
  EXPECT_TRUE(a2.supports("bfloat16"));
  EXPECT_FALSE(find_target(ts, "ascend-310p").supports("bfloat16"));  // 310P: fp16 instead
  EXPECT_EQ(a2.env.at("TASK_QUEUE_ENABLE"), "1");
  for (auto& t : ts) EXPECT_FALSE(t.source.empty()) << t.id;
}

TEST(Targets, UnknownTargetListsTheKnownOnes) {
  auto ts = load_targets(test::source_dir() / "patches");
  try {
    find_target(ts, "gpu");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.hint().find("ascend-a2, ascend-a3, ascend-310p"), std::string::npos) << e.hint();
  }
}

// A kcat without its knowledge base (a binary copied away from its build or installation) said
// "unknown target 'ascend-a2'" with "known targets: ascend-a2, ..." as the hint: it says the
// knowledge base is missing, where it looked, and how to point at one.
TEST(Targets, AMissingKnowledgeBaseIsSaidSo) {
  test::TempDir dir;
  try {
    load_targets(dir / "nowhere");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "kcat's knowledge base is missing");
    EXPECT_NE(e.where().find("nowhere"), std::string::npos) << e.where();
    EXPECT_NE(e.hint().find("KCAT_DATA_DIR"), std::string::npos) << e.hint();
  }
  EXPECT_TRUE(load_targets(dir.path()).empty());  // a knowledge base without targets: none
}

// Issue 13 §4: where triton-ascend runs is the target's `triton` (it was a string comparison with
// "ascend-310p" in migrate, and missing from `kcat requirements`).
TEST(Targets, TritonRunsOnA2AndA3Only) {
  auto ts = load_targets(test::source_dir() / "patches");
  EXPECT_TRUE(find_target(ts, "ascend-a2").triton);
  EXPECT_TRUE(find_target(ts, "ascend-a3").triton);
  EXPECT_FALSE(find_target(ts, "ascend-310p").triton);
  EXPECT_EQ(target_list(ts, " or "), "ascend-a2, ascend-a3 or ascend-310p");
  EXPECT_EQ(target_ids(ts), (std::vector<std::string>{"ascend-a2", "ascend-a3", "ascend-310p"}));
  EXPECT_EQ(target_help(test::source_dir() / "patches"), "ascend-a2, ascend-a3 or ascend-310p");
  test::TempDir dir;
  EXPECT_EQ(target_help(dir / "nowhere"), "a target id from patches/targets");  // help never throws
}

TEST(Targets, ATritonThatIsNotABooleanIsRefusedByNameAndLine) {
  test::TempDir dir;
  test::write(dir / "targets" / "t.toml",
              "[[target]]\nid = \"x\"\ndevice = \"npu\"\nsource = \"s\"\ntriton = \"no\"\n");
  try {
    load_targets(dir.path());
    ADD_FAILURE() << "accepted triton = \"no\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'triton' must be true or false"), std::string::npos) << e.what();
    EXPECT_NE(e.where().find("t.toml:5"), std::string::npos) << e.where();
  }
}

}  // namespace kcat::kb
