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
