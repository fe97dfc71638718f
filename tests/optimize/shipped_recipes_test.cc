// The recipes kcat ships (patches/recipes), applied to code of the shapes they are written for.
#include <gtest/gtest.h>

#include "kcat/kb/data_dir.h"
#include "kcat/kb/recipe.h"
#include "kcat/optimize/optimize.h"
#include "testsupport/support.h"

namespace kcat::optimize {
namespace {

using test::TempDir;

const kb::RecipeSet& shipped() {
  static const kb::RecipeSet set = kb::load_recipes(kb::default_data_dir() / "recipes");
  return set;
}

const kb::Recipe& recipe(const std::string& id) {
  const auto* r = shipped().find(id);
  if (!r) throw std::runtime_error("no shipped recipe " + id);
  return *r;
}

Finding finding_at(const std::string& rule, const std::string& file, const std::string& bytes,
                   const std::string& text) {
  Finding f;
  f.rule_id = rule;
  f.file = file;
  f.span.begin = static_cast<uint32_t>(bytes.find(text));
  f.span.end = f.span.begin + static_cast<uint32_t>(text.size());
  return f;
}

bool py_compiles(const std::filesystem::path& file) {
  return test::run({"python3", "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", file.string()})
             .exit_code == 0;
}

TEST(ShippedRecipes, EveryRecipeTheRulesNameExistsOrIsLeftForAnLlm) {
  // Rules name recipes; the ones that are data must load, cite a source and be of a known kind.
  for (const auto& id :
       {"sdpa-float-mask-to-pfa", "flash-attn-to-npu-fusion-attention", "attn-impl-to-sdpa"}) {
    EXPECT_EQ(recipe(id).kind, "port") << id;
  }
  for (const auto* r : shipped().by_gain("performance")) {
    EXPECT_NE(r->source.find(':'), std::string::npos) << r->id << " cites repo:path";
    EXPECT_FALSE(r->gain_note.empty()) << r->id << " says where its expected gain comes from";
  }
}

TEST(ShippedRecipes, SdpaFloatBiasBecomesPromptFlashAttentionOnlyWhereFlagged) {
  TempDir d;
  const std::string flagged =
      "x = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)";
  const std::string other = "y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal)";
  std::string src =
      "import torch\nimport torch.nn.functional as F\n\n\nclass A:\n    def f(self, q, k, v, attn_bias, "
      "causal):\n        " +
      flagged + "\n        " + other + "\n        return x, y\n";
  test::write(d / "sam.py", src);
  auto f = finding_at("py.sdpa-float-mask", "sam.py", src, flagged.substr(4));
  const auto& r = recipe("sdpa-float-mask-to-pfa");
  EXPECT_EQ(why_not_applicable(r, d.path(), {f}), "");
  auto p = recipe_patch(r, d.path(), {f});
  patch::apply_patch(d.path(), p);
  auto out = test::read(d / "sam.py");
  EXPECT_NE(
      out.find(
          "x = torch_npu.npu_prompt_flash_attention(q, k, v, pse_shift=attn_bias, input_layout=\"BNSD\", "
          "scale_value=self.scale, pre_tokens=2147483647, next_tokens=2147483647, num_heads=self.num_heads)"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find(other), std::string::npos) << "an unflagged call is left alone";
  EXPECT_NE(out.find("import torch\nimport torch_npu\n"), std::string::npos) << out;
  EXPECT_TRUE(py_compiles(d / "sam.py"));
}

TEST(ShippedRecipes, FlashAttnImportPointsAtAModuleWrittenNextToIt) {
  TempDir d;
  std::string src = "import torch\nfrom flash_attn import flash_attn_qkvpacked_func\n\nprint(1)\n";
  test::write(d / "enc.py", src);  // a script: absolute import
  test::write(d / "pkg/__init__.py", "");
  test::write(d / "pkg/sam.py", src);  // inside a package: relative import
  std::vector<Finding> fs = {
      finding_at("py.flash-attn-import", "enc.py", src, "from flash_attn import flash_attn_qkvpacked_func"),
      finding_at("py.flash-attn-import", "pkg/sam.py", src,
                 "from flash_attn import flash_attn_qkvpacked_func")};
  auto p = recipe_patch(recipe("flash-attn-to-npu-fusion-attention"), d.path(), fs);
  patch::apply_patch(d.path(), p);
  EXPECT_NE(test::read(d / "enc.py").find("\nfrom flash_attn_npu import flash_attn_qkvpacked_func"),
            std::string::npos);
  EXPECT_NE(test::read(d / "pkg/sam.py").find("\nfrom .flash_attn_npu import flash_attn_qkvpacked_func"),
            std::string::npos);
  for (const char* mod_path : {"flash_attn_npu.py", "pkg/flash_attn_npu.py"}) {
    auto mod = test::read(d / mod_path);
    EXPECT_NE(mod.find("def flash_attn_qkvpacked_func"), std::string::npos) << mod_path;
    EXPECT_NE(mod.find("\"BSND\""), std::string::npos);
    EXPECT_TRUE(py_compiles(d / mod_path));
  }
  EXPECT_TRUE(py_compiles(d / "enc.py"));
  EXPECT_TRUE(recipe_patch(recipe("flash-attn-to-npu-fusion-attention"), d.path(), fs).edits.empty());
}

TEST(ShippedRecipes, OcrRegistrationV1AndGraphMode) {
  TempDir d;
  std::string src =
      "import os\nos.environ['VLLM_USE_V1'] = '0'\nfrom vllm import LLM\nfrom "
      "vllm.model_executor.models.registry "
      "import ModelRegistry\nfrom m import M\nModelRegistry.register_model(\"DeepseekOCR2ForCausalLM\", M)\n"
      "llm = LLM(model='x', enforce_eager=True)\n";
  test::write(d / "run.py", src);
  for (const char* id : {"vllm-native-deepseek-ocr2", "vllm-v1-engine", "vllm-graph-mode"}) {
    const auto& r = recipe(id);
    ASSERT_EQ(why_not_applicable(r, d.path(), {}), "") << id;
    auto p = recipe_patch(r, d.path(), {});
    EXPECT_FALSE(p.edits.empty()) << id;
    patch::apply_patch(d.path(), p);
    EXPECT_TRUE(recipe_patch(r, d.path(), {}).edits.empty()) << id << " is idempotent";
  }
  auto out = test::read(d / "run.py");
  EXPECT_NE(out.find("os.environ['VLLM_USE_V1'] = '1'"), std::string::npos) << out;
  EXPECT_NE(out.find("enforce_eager=False"), std::string::npos);
  EXPECT_NE(out.find("pass  # kcat: vLLM registers DeepseekOCR2ForCausalLM natively"), std::string::npos)
      << out;
  EXPECT_TRUE(py_compiles(d / "run.py"));
}

}  // namespace
}  // namespace kcat::optimize

namespace kcat::optimize {
namespace {

TEST(ProfileOrder, RecipesForTheHotOperatorsGoFirst) {
  auto summary =
      bench::summarize(bench::parse_op_statistic(test::fixtures_dir() / "profile/op_statistic.csv"), {});
  kb::RecipeSet set;
  auto mk = [](std::string id, std::vector<std::string> addresses, double gain) {
    kb::Recipe r;
    r.id = std::move(id);
    r.kind = "performance";
    r.addresses = std::move(addresses);
    r.expected_gain = gain;
    return r;
  };
  set.recipes = {mk("env-only", {}, 5.0), mk("rmsnorm", {"Pow", "ReduceMean"}, 1.1),
                 mk("attention", {"SoftmaxV2"}, 1.2), mk("unrelated", {"Conv2D"}, 3.0)};
  auto prefer = prefer_from_profile(summary, set);
  ASSERT_EQ(prefer.size(), 2u);
  EXPECT_EQ(prefer[0], "attention");  // Softmax holds 10% of device time, Pow + ReduceMean 9%
  EXPECT_EQ(prefer[1], "rmsnorm");
}

}  // namespace
}  // namespace kcat::optimize
