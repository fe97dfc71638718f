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

// Issue 13 §3: one reading of a text field for the whole knowledge base. A value of the wrong type
// was read as "" (a number for a note, a list's number silently dropped): now an error naming the
// key and the file:line of the value.
TEST(FusedOps, AFieldOfTheWrongTypeIsRefusedByNameAndLine) {
  test::TempDir dir;
  test::write(dir / "fused_ops.toml",
              "[[op]]\nid = \"x\"\nsignature = \"x()\"\nsource = \"s\"\nreplaces = [\"y\"]\nnotes = 5\n");
  try {
    load_fused_ops(dir.path());
    ADD_FAILURE() << "accepted notes = 5";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'notes' must be text"), std::string::npos) << e.what();
    EXPECT_NE(e.where().find("fused_ops.toml:6"), std::string::npos) << e.where();
  }
  test::write(dir / "fused_ops.toml",
              "[[op]]\nid = \"x\"\nsignature = \"x()\"\nsource = \"s\"\nreplaces = [\"y\", 3]\n");
  try {
    load_fused_ops(dir.path());
    ADD_FAILURE() << "accepted replaces = [\"y\", 3]";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'replaces' must be text or a list of text"), std::string::npos)
        << e.what();
  }
}

}  // namespace kcat::kb
