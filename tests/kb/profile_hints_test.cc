// Issue 13 §4: which recipe a profile's operators point at is data (patches/profile_hints.toml),
// not a table in bench/profile.cc.
#include "kcat/kb/profile_hints.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::kb {
namespace {

// The profiler's normalization in small (bench's normalize_op_type is above kb): a trailing V2.
std::string strip_v2(std::string_view op) {
  if (op.size() > 2 && op.substr(op.size() - 2) == "V2") op.remove_suffix(2);
  return std::string(op);
}

TEST(ProfileHints, ShippedHintsNameTheirRecipesAndSources) {
  auto hints = load_profile_hints(test::source_dir() / "patches", strip_v2);
  ASSERT_EQ(hints.size(), 4u);
  EXPECT_EQ(hints[0].recipe, "fused-attention");
  EXPECT_EQ(hints[0].signatures, (std::vector<std::vector<std::string>>{{"Softmax", "BatchMatMul"}}));
  EXPECT_EQ(hints[0].related, std::vector<std::string>{"Transpose"});
  EXPECT_EQ(hints[3].recipe, "native-moe");
  EXPECT_EQ(hints[3].signatures.size(), 3u);  // topk + index, gather or index_put
  for (auto& h : hints) {
    EXPECT_NE(h.source.find("Ascend/op-plugin:"), std::string::npos) << h.recipe;
    EXPECT_FALSE(h.fused.empty()) << h.recipe;
  }
}

TEST(ProfileHints, AMalformedHintIsRefusedByFileAndLine) {
  test::TempDir dir;
  auto refused = [&](const std::string& text, const std::string& what, const std::string& where) {
    test::write(dir / "profile_hints.toml", text);
    try {
      load_profile_hints(dir.path(), strip_v2);
      ADD_FAILURE() << "accepted:\n" << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_NE(e.where().find(where), std::string::npos) << e.where();
    }
  };
  const std::string ok = "[[hint]]\nrecipe = \"r\"\nwhy = \"w\"\nsource = \"s\"\nsignatures = [[\"A\"]]\n\n";
  refused(ok + "[[hint]]\nrecipe = \"r\"\nwhy = \"w\"\nsource = \"s\"\nsignatures = [\"A\", \"B\"]\n",
          "'signatures' must be a list of lists of op names", "profile_hints.toml:7");
  refused(ok + "[[hint]]\nrecipe = \"r\"\nwhy = \"w\"\nsignatures = [[\"A\"]]\n",
          "a hint needs recipe, signatures, why and source", "profile_hints.toml:7");
  refused(ok + "[[hint]]\nrecipe = \"r\"\nwhy = \"w\"\nsource = \"s\"\nsignatures = [[\"SoftmaxV2\"]]\n",
          "op 'SoftmaxV2' in hint r is not a normalized name", "profile_hints.toml:7");
}

}  // namespace
}  // namespace kcat::kb
