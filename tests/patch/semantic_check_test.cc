// The gate's meaning check (issue 12): swaps of compared literals, shadowed branches, imports of
// names a repository module does not define.
#include "kcat/patch/semantic_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kcat/patch/gate.h"
#include "testsupport/support.h"

namespace kcat::patch {
namespace {

// Writes `after` as m.py and checks it against `before`, with the edits of `patch`.
std::optional<std::string> check(test::TempDir& dir, const std::string& before, const std::string& after,
                                 std::vector<Edit> edits = {}) {
  test::write(dir / "m.py", after);
  Patch p;
  p.edits = std::move(edits);
  return meaning_check(dir.path(), p, {{"m.py", before}});
}

TEST(MeaningCheck, RefusesASwappedComparisonLiteral) {
  test::TempDir dir;
  auto why = check(dir, "if name == 'nccl':\n    a()\nelif name == 'gloo':\n    b()\n",
                   "if name == 'hccl':\n    a()\nelif name == 'gloo':\n    b()\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("m.py:1"));
  EXPECT_THAT(*why, testing::HasSubstr("'nccl' -> 'hccl'"));
  // membership, match case and dict key too
  EXPECT_TRUE(check(dir, "ok = d in ('cuda', 'cpu')\n", "ok = d in ('npu', 'cpu')\n"));
  EXPECT_TRUE(
      check(dir, "match d:\n    case 'cuda':\n        pass\n", "match d:\n    case 'npu':\n        pass\n"));
  EXPECT_TRUE(check(dir, "t = {'cuda': 1}\n", "t = {'npu': 1}\n"));
}

TEST(MeaningCheck, LetsThroughProvenSwapsValuesAndAddedBranches) {
  test::TempDir dir;
  std::string before = "if x.device.type == 'cuda':\n    pass\n";
  // 'cuda' is bytes 21..25.
  Edit proven{"m.py", 21, 25, "npu", "py.device-string", true};
  EXPECT_FALSE(check(dir, before, "if x.device.type == 'npu':\n    pass\n", {proven}));
  Edit unproven = proven;
  unproven.proven_compared = false;
  EXPECT_TRUE(check(dir, before, "if x.device.type == 'npu':\n    pass\n", {unproven}));
  // a value, not a test
  EXPECT_FALSE(check(dir, "x = t.to('cuda')\n", "x = t.to('npu')\n"));
  // a new branch adds a test and removes none
  EXPECT_FALSE(
      check(dir, "if d == 'cuda':\n    a()\n", "if d == 'cuda':\n    a()\nelif d == 'npu':\n    b()\n"));
  // an environment variable's rename follows env_map.toml
  EXPECT_FALSE(
      check(dir, "ok = 'CUDA_VISIBLE_DEVICES' in env\n", "ok = 'ASCEND_RT_VISIBLE_DEVICES' in env\n"));
}

TEST(MeaningCheck, RefusesAShadowedBranch) {
  test::TempDir dir;
  auto why = check(dir, "if b == 'x':\n    a()\nelif b == 'y':\n    c()\n",
                   "if b == 'x':\n    a()\nelif b == 'x':\n    c()\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("twice"));
  EXPECT_THAT(*why, testing::HasSubstr("m.py:3"));
  // timm (accuracy finding F4): the CUDA arm renamed into a copy of the NPU arm.
  why = check(dir, "if x.is_cuda:\n    a()\nelif x.is_npu:\n    b()\n",
              "if x.is_npu:\n    a()\nelif x.is_npu:\n    b()\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("`x.is_npu` twice"));
}

TEST(MeaningCheck, RefusesAnImportOfANameTheRepositoryModuleDoesNotDefine) {
  test::TempDir dir;
  test::write(dir / "pkg" / "__init__.py", "");
  test::write(dir / "pkg" / "util.py",
              "def helper():\n    pass\ntry:\n    FAST = 1\nexcept ImportError:\n    FAST = 0\n");
  test::write(dir / "pkg" / "sub" / "__init__.py", "");
  auto why = check(dir, "import os\n", "import os\nfrom pkg.util import helper, npu_helper\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("pkg/util.py defines no `npu_helper`"));
  EXPECT_FALSE(check(dir, "import os\n", "import os\nfrom pkg.util import helper, FAST\n"));
  EXPECT_FALSE(check(dir, "import os\n", "import os\nfrom pkg import util, sub\n"));  // submodules
  EXPECT_FALSE(check(dir, "import os\n", "import os\nfrom torch_npu.contrib import transfer_to_npu\n"));
  // relative: m.py sits at the root, so `.pkg.util` is pkg/util.py
  EXPECT_TRUE(check(dir, "import os\n", "import os\nfrom .pkg.util import nothing_here\n"));
}

// (d): torch_npu's API surface (patches/torch_npu_surface.toml, from op-plugin and torch_npu).
TEST(MeaningCheck, RefusesATorchNpuNameOrKeywordTheApiDoesNotHave) {
  test::TempDir dir;
  const std::string before = "import torch\nimport torch_npu\n";
  // A name torch.npu does not have (torch.cuda.get_arch_list has no NPU counterpart).
  auto why = check(dir, before, before + "a = torch.npu.get_arch_list()\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("m.py:3"));
  EXPECT_THAT(*why, testing::HasSubstr("torch.npu has no `get_arch_list`"));
  EXPECT_THAT(*why, testing::HasSubstr("op-plugin@"));
  // An op op-plugin does not define.
  why = check(dir, before, before + "y = torch_npu.npu_flash_attn_varlen(q, k, v)\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("torch_npu has no op `npu_flash_attn_varlen`"));
  // A keyword no overload accepts (npu_rms_norm's is `epsilon`), too many positional arguments, a
  // positional one given again by keyword.
  why = check(dir, before, before + "y = torch_npu.npu_rms_norm(x, w, eps=1e-6)[0]\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("[eps]"));
  EXPECT_THAT(*why, testing::HasSubstr("self, gamma, epsilon"));
  EXPECT_TRUE(check(dir, before, before + "y = torch_npu.npu_rms_norm(x, w, 1e-6, 2)\n"));
  EXPECT_TRUE(check(dir, before, before + "y = torch_npu.npu_rms_norm(x, w, gamma=w)\n"));
  // npu_prompt_flash_attention's options are keyword-only (`*` in its schema).
  EXPECT_TRUE(check(dir, before, before + "o = torch_npu.npu_prompt_flash_attention(q, k, v, 8)\n"));
  EXPECT_TRUE(check(dir, before, before + "o = torch.ops.npu.no_such_op(q)\n"));
}

TEST(MeaningCheck, LetsThroughTheTorchNpuApiAsItIsAndUsesTheFileHad) {
  test::TempDir dir;
  const std::string before = "import torch\nimport torch_npu\n";
  EXPECT_FALSE(check(dir, before,
                     before + "torch.npu.synchronize()\nwith torch.npu.amp.autocast():\n    pass\n"
                              "s = torch.npu.Stream()\nn = torch.npu.device_count()\n"));
  EXPECT_FALSE(check(dir, before, before + "y = torch_npu.npu_rms_norm(x, w, epsilon=1e-6)[0]\n"));
  EXPECT_FALSE(check(dir, before, before + "y = torch_npu.npu_rms_norm(x, w, 1e-6)[0]\n"));
  EXPECT_FALSE(check(dir, before,
                     before + "o = torch_npu.npu_prompt_flash_attention(q, k, v, num_heads=8, "
                              "input_layout='BNSD', scale_value=0.125)\n"));
  EXPECT_FALSE(
      check(dir, before, before + "o = torch_npu.npu_fusion_attention(q, k, v, 8, 'BNSD', **opts)\n"));
  // torch_npu's own ops (npu_native_functions.yaml), not only op-plugin's; and a Python-only op.
  EXPECT_FALSE(check(dir, before, before + "w = torch_npu.npu_format_cast(w, 29)\n"));
  EXPECT_FALSE(
      check(dir, before, before + "y = torch_npu.npu_fusion_attention_graph(q, k, v, anything=1)\n"));
  // Not torch_npu's ops: other torch_npu modules, and a name the old file already used.
  EXPECT_FALSE(check(dir, before, before + "from torch_npu.contrib import transfer_to_npu\n"));
  std::string had = before + "a = torch.npu.get_arch_list()\n";
  EXPECT_FALSE(check(dir, had, had + "b = 1\n"));
}

TEST(MeaningCheck, TheGateRollsBackAndSaysWhy) {
  test::TempDir dir;
  test::write(dir / "m.py", "if backend == 'nccl':\n    pass\n");
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  GateOptions o;
  o.message = "kcat: test";
  auto g = apply_verify_commit(repo, {"m", {{"m.py", 15, 19, "hccl", "t"}}}, o);
  EXPECT_FALSE(g.committed);
  EXPECT_EQ(g.failed_checks, std::vector<std::string>{"meaning"});
  EXPECT_THAT(g.reason, testing::HasSubstr("compared string literal"));
  EXPECT_EQ(test::read(dir / "m.py"), "if backend == 'nccl':\n    pass\n");
}

// Issue 13 §3: the gate re-checks every file the scanner reads as code, by the scanner's own
// table (.hh and .c were C++ to the scanner but unchecked by the gate; .ipynb was unchecked).
TEST(Gate, ReparsesEveryKindTheScannerReads) {
  test::TempDir dir;
  for (const char* name : {"k.hh", "k.c"}) {
    test::write(dir / name, "int f( {\n");
    auto g = verify_files(dir.path(), {{name, "int f() { return 0; }\n"}}, false);
    EXPECT_THAT(g.failed_checks, testing::Contains("reparse")) << name;
  }
  test::write(dir / "n.ipynb", "{\"cells\": [");
  auto g = verify_files(dir.path(), {{"n.ipynb", "{\"cells\": []}"}}, false);
  EXPECT_THAT(g.failed_checks, testing::Contains("reparse"));
  EXPECT_THAT(g.reason, testing::HasSubstr("n.ipynb"));
  test::write(dir / "n.ipynb", "{\"cells\": [], \"nbformat\": 4}");
  EXPECT_TRUE(verify_files(dir.path(), {{"n.ipynb", "{\"cells\": []}"}}, false).failed_checks.empty());
  EXPECT_EQ(parse_language("a/b.hh"), "cpp");
  EXPECT_EQ(parse_language("README.md"), "");
}

}  // namespace
}  // namespace kcat::patch
