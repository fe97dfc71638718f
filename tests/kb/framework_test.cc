#include "kcat/kb/framework.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::kb {
namespace {

std::vector<Framework> shipped() {
  return load_frameworks(test::source_dir() / "patches" / "frameworks.toml");
}

TEST(Framework, DeepSpeedIsDetectedByItsOwnNpuBackend) {
  test::TempDir dir;
  test::write(dir / "accelerator" / "real_accelerator.py", "");
  test::write(dir / "accelerator" / "npu_accelerator.py", "");
  test::write(dir / "op_builder" / "npu" / "builder.py", "");
  EXPECT_FALSE(detect_framework(dir.path(), shipped()));  // every signal must be there
  test::write(dir / "deepspeed" / "runtime" / "comm" / "hccl.py", "");
  auto f = detect_framework(dir.path(), shipped());
  ASSERT_TRUE(f);
  EXPECT_EQ(f->id, "deepspeed");
  EXPECT_THAT(framework_note(*f), testing::HasSubstr("DS_ACCELERATOR=npu"));
  EXPECT_THAT(framework_note(*f), testing::HasSubstr("accelerator/real_accelerator.py"));
}

TEST(Framework, EveryShippedEntryCitesItsSource) {
  auto all = shipped();
  EXPECT_GE(all.size(), 4u);
  for (auto& f : all) EXPECT_FALSE(f.source.empty()) << f.id;
  test::TempDir dir;
  test::write(dir / "f.toml", "[[framework]]\nid = \"x\"\nsignals = [\"a\"]\n");
  EXPECT_THROW(load_frameworks(dir / "f.toml"), Error);
  EXPECT_TRUE(load_frameworks(dir / "missing.toml").empty());
}

}  // namespace
}  // namespace kcat::kb
