#include "kcat/kb/fused_ops.h"

#include <gtest/gtest.h>

#include <set>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::kb {

TEST(FusedOps, CatalogCoversTheFamiliesAndEveryEntryIsSourced) {
  auto ops = load_fused_ops(test::source_dir() / "patches");
  std::set<std::string> ids;
  for (auto& op : ops) {
    EXPECT_TRUE(ids.insert(op.id).second) << "duplicate " << op.id;
    EXPECT_FALSE(op.source.empty()) << op.id;
    EXPECT_NE(op.signature.find(op.id), std::string::npos) << op.id << ": the signature names another op";
  }
  for (auto want :
       {"npu_fusion_attention", "npu_prompt_flash_attention", "npu_incre_flash_attention", "npu_rms_norm",
        "npu_rotary_mul", "npu_swiglu", "npu_moe_gating_top_k_softmax", "npu_grouped_matmul"}) {
    EXPECT_TRUE(ids.count(want)) << want;
  }
}

TEST(FusedOps, AnEntryWithoutASourceIsRefused) {
  test::TempDir dir;
  test::write(dir / "fused_ops.toml", "[[op]]\nid = \"x\"\nsignature = \"x()\"\nreplaces = [\"y\"]\n");
  EXPECT_THROW(load_fused_ops(dir.path()), Error);
}

}  // namespace kcat::kb
