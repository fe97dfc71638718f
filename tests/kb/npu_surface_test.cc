// The torch_npu API surface (patches/torch_npu_surface.toml) the gate checks added calls against.
#include "kcat/kb/npu_surface.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "kcat/kb/data_dir.h"
#include "testsupport/support.h"

namespace kcat::kb {
namespace {

TEST(NpuSurface, ASchemaGivesItsParametersAndHowManyMayBePositional) {
  auto o =
      parse_npu_schema("Tensor query, Tensor key, int[2] stride=[1, 1], *, Tensor? pse=None, str x=\"a,b\"");
  EXPECT_EQ(o.params, (std::vector<std::string>{"query", "key", "stride", "pse", "x"}));
  EXPECT_EQ(o.positional, 3u);
  EXPECT_TRUE(parse_npu_schema("").params.empty());
  EXPECT_TRUE(parse_npu_schema("...").any);
}

TEST(NpuSurface, TheShippedFileHasTheOpsAndNamesKcatWrites) {
  auto s = load_npu_surface(default_data_dir());
  ASSERT_FALSE(s.empty());
  EXPECT_EQ(s.torch, "v2.9");
  for (auto* op : {"npu_rms_norm", "npu_fusion_attention", "npu_prompt_flash_attention",
                   "npu_fused_infer_attention_score", "npu_rotary_mul", "npu_swiglu"}) {
    EXPECT_TRUE(s.ops.count(op)) << op;
  }
  for (auto* n : {"synchronize", "amp", "Stream", "get_device_capability", "empty_cache"}) {
    EXPECT_TRUE(s.npu_module.count(n)) << n;
  }
  EXPECT_FALSE(s.npu_module.count("get_arch_list"));
}

TEST(NpuSurface, AMissingFileChecksNothingAndAMalformedOneIsRefusedByName) {
  test::TempDir dir;
  EXPECT_TRUE(load_npu_surface(dir.path()).empty());
  test::write(dir / "torch_npu_surface.toml", "torch = \"v2.9\"\n[ops]\nnpu_x = 3\n");
  try {
    load_npu_surface(dir.path());
    FAIL() << "a malformed surface was loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("npu_x"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kcat::kb
