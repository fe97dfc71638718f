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
  for (const auto& id : {"flash-attn-to-npu-fusion-attention", "attn-impl-to-sdpa"}) {
    EXPECT_EQ(recipe(id).kind, "port") << id;
  }
  // SDPA with a float mask runs on the NPU (issue 12 R2): its recipe is a speed-up, not a port.
  EXPECT_EQ(recipe("sdpa-float-mask-to-pfa").kind, "performance");
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
  // Issue 12 F3: PFA only at run time when it computes what SDPA computes (no grad, half precision,
  // a (B or 1, N, Sq, Skv) bias of q's dtype), SDPA's own scale; otherwise the original call.
  EXPECT_NE(
      out.find("x = (torch_npu.npu_prompt_flash_attention(q.contiguous(), k.contiguous(), v.contiguous(), "
               "pse_shift=attn_bias.contiguous(), input_layout=\"BNSD\", scale_value=q.shape[-1] ** -0.5, "
               "pre_tokens=2147483647, next_tokens=2147483647, num_heads=q.shape[1]) if not "
               "torch.is_grad_enabled() and isinstance(attn_bias, torch.Tensor)"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("tuple(attn_bias.shape[1:]) == (q.shape[1], q.shape[2], k.shape[2]) and k.shape[1] == "
                     "q.shape[1] else " +
                     flagged.substr(4) + ")"),
            std::string::npos)
      << out;
  EXPECT_EQ(r.kind, "performance") << "SDPA with a float mask runs on the NPU: not a port";
  EXPECT_NE(out.find(other), std::string::npos) << "an unflagged call is left alone";
  EXPECT_NE(out.find("import torch\nimport torch_npu\n"), std::string::npos) << out;
  EXPECT_TRUE(py_compiles(d / "sam.py"));
}

TEST(ShippedRecipes, SdpaFloatBiasIsNotTouchedInTrainingCode) {
  TempDir d;
  const std::string call = "torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)";
  std::string src = "import torch\n\n\ndef step(q, k, v, attn_bias, opt):\n    x = " + call +
                    "\n    x.sum().backward()\n    opt.step()\n";
  test::write(d / "tiny_vit.py", src);
  auto f = finding_at("py.sdpa-float-mask", "tiny_vit.py", src, call);
  std::vector<RecipeSkip> skipped;
  auto p = recipe_patch(recipe("sdpa-float-mask-to-pfa"), d.path(), {f}, &skipped);
  EXPECT_TRUE(p.edits.empty());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].reason.find("inference-only"), std::string::npos);
}

// Issue 12 F6: only the value that requests an implementation changes; eager where the model's code
// is remote (trust_remote_code), since kcat cannot tell whether its class supports SDPA.
TEST(ShippedRecipes, AttnImplementationChangesOnlyWhereItIsRequested) {
  TempDir d;
  const std::string src =
      "from transformers import AutoModel\n"
      "m = AutoModel.from_pretrained(p, attn_implementation=\"flash_attention_2\")\n"
      "cfg._attn_implementation = 'flash_attention_2'\n"
      "if self.attn_implementation != \"flash_attention_2\":\n    pass\n"
      "if cfg._attn_implementation == 'flash_attention_2':\n    pass\n"
      "class AttentionFunction(StrEnum):\n    FLASH_ATTENTION_2 = \"flash_attention_2\"\n"
      "kw = {\"attn_implementation\": \"flash_attention_2\"}\n"
      "def load(p, attn_implementation=\"flash_attention_2\"):\n    return p\n"
      "m2 = AutoModel.from_pretrained(p, use_flash_attention_2=True)\n";
  const std::string remote =
      "from transformers import AutoModel\n"
      "m = AutoModel.from_pretrained(p, trust_remote_code=True, attn_implementation='flash_attention_2')\n";
  test::write(d / "load.py", src);
  test::write(d / "remote.py", remote);
  Finding f;
  f.rule_id = "py.flash-attention-2";
  f.file = "load.py";
  const auto& r = recipe("attn-impl-to-sdpa");
  ASSERT_EQ(why_not_applicable(r, d.path(), {f}), "");
  patch::apply_patch(d.path(), recipe_patch(r, d.path(), {f}));
  auto out = test::read(d / "load.py");
  EXPECT_NE(out.find("from_pretrained(p, attn_implementation=\"sdpa\")"), std::string::npos) << out;
  EXPECT_NE(out.find("cfg._attn_implementation = 'sdpa'"), std::string::npos) << out;
  EXPECT_NE(out.find("!= \"flash_attention_2\""), std::string::npos) << out;
  EXPECT_NE(out.find("== 'flash_attention_2'"), std::string::npos) << out;
  EXPECT_NE(out.find("FLASH_ATTENTION_2 = \"flash_attention_2\""), std::string::npos) << out;
  EXPECT_NE(out.find("{\"attn_implementation\": \"flash_attention_2\"}"), std::string::npos) << out;
  EXPECT_NE(out.find("def load(p, attn_implementation=\"flash_attention_2\")"), std::string::npos) << out;
  EXPECT_NE(out.find("from_pretrained(p, attn_implementation=\"sdpa\")\n", out.find("m2")), std::string::npos)
      << out;
  EXPECT_NE(test::read(d / "remote.py").find("trust_remote_code=True, attn_implementation='eager')"),
            std::string::npos)
      << test::read(d / "remote.py");
  EXPECT_TRUE(py_compiles(d / "load.py"));
}

// Issue 12 R0: a recipe step fixes only the findings whose bytes its patch changes.
TEST(ShippedRecipes, ARecipeFixesOnlyTheSitesItsPatchChanges) {
  patch::Patch p;
  p.edits.push_back({"a.py", 10, 20, "x", "recipe:r"});
  p.edits.push_back({"b.py", 5, 5, "import torch_npu\n", "recipe:r"});
  auto mk = [](std::string file, uint32_t b, uint32_t e) {
    Finding f;
    f.file = std::move(file);
    f.span.begin = b;
    f.span.end = e;
    return f;
  };
  auto fixed =
      fixed_by_patch(p, {mk("a.py", 12, 14), mk("a.py", 30, 40), mk("b.py", 5, 9), mk("c.py", 10, 20)});
  ASSERT_EQ(fixed.size(), 2u);
  EXPECT_EQ(fixed[0].span.begin, 12u);
  EXPECT_EQ(fixed[1].file, "b.py");
  EXPECT_TRUE(fixed_by_patch(patch::Patch{}, {mk("a.py", 12, 14)}).empty())
      << "matched nothing, fixed nothing";
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

// Issue 12 F1 (LLaVA llava/train/llama_flash_attn_monkey_patch.py, mamba mamba_ssm/modules/mha.py):
// an import is rewritten only when the module provides every name it imports, under a module path
// the file can reach; bert_padding's helpers are provided; everything else is left and reported.
TEST(ShippedRecipes, FlashAttnImportsOnlyNamesTheModuleProvidesFromAReachableModule) {
  TempDir d;
  const std::string llava =
      "import torch\n"
      "try:\n"
      "    from flash_attn.flash_attn_interface import flash_attn_unpadded_qkvpacked_func\n"
      "except ImportError:\n"
      "    from flash_attn.flash_attn_interface import flash_attn_varlen_qkvpacked_func as "
      "flash_attn_unpadded_qkvpacked_func\n"
      "from flash_attn.bert_padding import unpad_input, pad_input\n";
  const std::string mha = "import torch\nfrom flash_attn import flash_attn_with_kvcache\n";
  const std::string attn =
      "import torch\nfrom flash_attn import (flash_attn_func,\n    flash_attn_varlen_kvpacked_func)\n";
  test::write(d / "llava/__init__.py", "");
  test::write(d / "llava/train/monkey.py", llava);  // llava/train has no __init__.py
  test::write(d / "mamba_ssm/__init__.py", "");
  test::write(d / "mamba_ssm/modules/__init__.py", "");
  test::write(d / "mamba_ssm/modules/mha.py", mha);
  test::write(d / "mamba_ssm/modules/attn.py", attn);
  test::write(d / "tools/deep/bench.py", attn);  // no package, not a top-level folder
  auto at = [](const std::string& file, const std::string& src, const std::string& module, size_t nth = 0) {
    size_t pos = src.find(module);
    for (size_t i = 0; i < nth; ++i) pos = src.find(module, pos + 1);
    Finding f;
    f.rule_id = "py.flash-attn-import";
    f.file = file;
    f.span.begin = static_cast<uint32_t>(pos);
    f.span.end = static_cast<uint32_t>(pos + module.size());
    return f;
  };
  std::vector<Finding> fs = {at("llava/train/monkey.py", llava, "flash_attn.flash_attn_interface"),
                             at("llava/train/monkey.py", llava, "flash_attn.flash_attn_interface", 1),
                             at("llava/train/monkey.py", llava, "flash_attn.bert_padding"),
                             at("mamba_ssm/modules/mha.py", mha, "flash_attn"),
                             at("mamba_ssm/modules/attn.py", attn, "flash_attn"),
                             at("tools/deep/bench.py", attn, "flash_attn")};
  const auto& r = recipe("flash-attn-to-npu-fusion-attention");
  std::vector<RecipeSkip> skipped;
  auto p = recipe_patch(r, d.path(), fs, &skipped);
  patch::apply_patch(d.path(), p);

  auto out = test::read(d / "llava/train/monkey.py");
  EXPECT_NE(out.find("    from flash_attn.flash_attn_interface import flash_attn_unpadded_qkvpacked_func\n"),
            std::string::npos)
      << "a flash-attn 1.x name the module lacks is left (its ImportError selects the except branch)\n"
      << out;
  EXPECT_NE(out.find("    from llava.flash_attn_npu import flash_attn_varlen_qkvpacked_func as "
                     "flash_attn_unpadded_qkvpacked_func\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\nfrom llava.flash_attn_npu import unpad_input, pad_input\n"), std::string::npos)
      << out;
  EXPECT_NE(
      test::read(d / "mamba_ssm/modules/attn.py").find("from ..flash_attn_npu import (flash_attn_func,"),
      std::string::npos);
  EXPECT_EQ(test::read(d / "mamba_ssm/modules/mha.py"), mha);
  EXPECT_EQ(test::read(d / "tools/deep/bench.py"), attn);
  // One module per package tree, at its top package; none in the folders.
  EXPECT_TRUE(std::filesystem::exists(d / "llava/flash_attn_npu.py"));
  EXPECT_TRUE(std::filesystem::exists(d / "mamba_ssm/flash_attn_npu.py"));
  EXPECT_FALSE(std::filesystem::exists(d / "llava/train/flash_attn_npu.py"));
  EXPECT_FALSE(std::filesystem::exists(d / "mamba_ssm/modules/flash_attn_npu.py"));
  EXPECT_FALSE(std::filesystem::exists(d / "tools/deep/flash_attn_npu.py"));
  // The module defines every name the recipe says it provides.
  auto defined = test::run({"python3", "-c",
                            "import ast,sys; t=ast.parse(open(sys.argv[1]).read()); "
                            "print(' '.join(n.name for n in t.body if isinstance(n, ast.FunctionDef)))",
                            (d / "llava/flash_attn_npu.py").string()});
  ASSERT_EQ(defined.exit_code, 0) << defined.err;
  for (const auto& name : r.provides) {
    EXPECT_NE((" " + defined.out).find(" " + name), std::string::npos) << name;
  }
  // The left sites, each with its reason.
  auto reason_for = [&](const std::string& file) {
    std::string all;
    for (auto& s : skipped)
      if (s.file == file) all += s.reason + "\n";
    return all;
  };
  EXPECT_NE(reason_for("llava/train/monkey.py").find("does not provide flash_attn_unpadded_qkvpacked_func"),
            std::string::npos)
      << reason_for("llava/train/monkey.py");
  EXPECT_NE(reason_for("mamba_ssm/modules/mha.py").find("flash_attn_with_kvcache"), std::string::npos);
  EXPECT_NE(reason_for("tools/deep/bench.py").find("neither in a package"), std::string::npos);
  for (const char* f : {"llava/train/monkey.py", "mamba_ssm/modules/attn.py", "llava/flash_attn_npu.py"})
    EXPECT_TRUE(py_compiles(d / f)) << f;
}

TEST(ShippedRecipes, FlashAttnLeavesAFileThatUnpacksFiveValuesFromUnpadInput) {
  TempDir d;
  const std::string src =
      "from flash_attn.bert_padding import pad_input, unpad_input\n"
      "x, idx, cu, mx, used = unpad_input(h, m)\n";
  test::write(d / "run.py", src);
  Finding f = finding_at("py.flash-attn-import", "run.py", src, "flash_attn.bert_padding");
  std::vector<RecipeSkip> skipped;
  auto p = recipe_patch(recipe("flash-attn-to-npu-fusion-attention"), d.path(), {f}, &skipped);
  EXPECT_TRUE(p.edits.empty());
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].reason.find("five values"), std::string::npos);
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
