#include "kcat/kb/fused_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
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

// Issue 15: npu_fusion_attention is documented for training; the inference API is
// npu_fused_infer_attention_score (op-plugin docs, graph mode included). Its entry says how
// flash_attn's arguments map and which output to take.
TEST(FusedOps, TheInferenceAttentionApiIsInTheCatalogWithItsMapping) {
  auto ops = load_fused_ops(test::source_dir() / "patches");
  auto it =
      std::find_if(ops.begin(), ops.end(), [](auto& o) { return o.id == "npu_fused_infer_attention_score"; });
  ASSERT_NE(it, ops.end());
  EXPECT_NE(it->source.find("torch_npu-npu_fused_infer_attention_score.md@"), std::string::npos)
      << it->source;
  EXPECT_NE(it->signature.find("sparse_mode=0"), std::string::npos);
  std::string mapping;
  for (auto& m : it->mapping) mapping += m + "\n";
  for (const char* want : {"output[0]", "sparse_mode=3", "pse_shift", "block_table", "scale", "TND"})
    EXPECT_NE(mapping.find(want), std::string::npos) << want << " in\n" << mapping;
  EXPECT_NE(it->notes.find("inference only"), std::string::npos) << it->notes;
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

// An [[op]] that is not a table (`op = [1]`) was dereferenced as one: an error naming the file now,
// from the knowledge base's one array-of-tables reader (kb::each_table).
TEST(FusedOps, AnOpThatIsNotATableIsRefusedByName) {
  test::TempDir dir;
  test::write(dir / "fused_ops.toml", "op = [1]\n");
  try {
    load_fused_ops(dir.path());
    ADD_FAILURE() << "accepted op = [1]";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[[op]] must be a table"), std::string::npos) << e.what();
    EXPECT_NE(e.where().find("fused_ops.toml:1"), std::string::npos) << e.where();
  }
}

}  // namespace kcat::kb
