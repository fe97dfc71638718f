// The gate's names check (issue 18 §1): a change that leaves a name used but never bound, or imports
// a repository module that does not exist, is told or refused; Python's own scoping is not flagged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "kcat/core/fs.h"
#include "kcat/patch/gate.h"
#include "kcat/patch/semantic_check.h"
#include "testsupport/support.h"

namespace kcat::patch {
namespace {

std::vector<std::string> unbound(const std::string& src) {
  std::vector<std::string> out;
  for (auto& u : unbound_names(src)) out.push_back(u.name + ":" + std::to_string(u.line));
  return out;
}

TEST(UnboundNames, FindsANameNothingBinds) {
  EXPECT_THAT(unbound("import torch\n\ndef f(q):\n    return flash_attn_func(q)\n"),
              testing::ElementsAre("flash_attn_func:4"));
  // commenting out an assignment leaves its later use unbound
  EXPECT_THAT(unbound("def f(q, k, v, bias):\n    # x = sdpa(q, k, v, attn_mask=bias)\n    return x\n"),
              testing::ElementsAre("x:3"));
}

TEST(UnboundNames, PythonScopingIsNotFlagged) {
  const char* ok = R"(import os, torch, torch.nn as nn
import numpy.linalg
from typing import (List,
                    Optional as Opt)
from . import sibling
try:
    from flash_attn import flash_attn_func
except ImportError as err:
    print(err)
    flash_attn_func = None

CONST: int = 3
a, (b, *rest) = 1, (2, 3)


@decorator_defined_later
class Model(nn.Module, metaclass=type):
    attr = CONST

    def forward(self, x, /, y=CONST, *args, scale: float = 1.0, z: Opt[int] = None, **kw) -> List[int]:
        global later
        later = 1
        total = sum(i * j for i, row in enumerate(x) for j in row)
        squares = {k: v for k, v in kw.items()}
        if (n := len(args)) > 0:
            pass
        with open(os.devnull) as fh, torch.no_grad():
            fh.read()
        for idx, item in enumerate(args):
            del item
        f = lambda p, *q, **r: p + len(q) + len(r) + idx
        match y:
            case {"k": captured}:
                print(captured)
            case Point(x=px) | [px, *_]:
                print(px)
        def inner():
            nonlocal total
            return total + n + a + b + sibling.x + numpy.linalg.norm(rest)
        return [f, inner, squares, attr_ok(), print(__file__, __name__, self.attr, scale, z)]


def decorator_defined_later(c):
    return c


def attr_ok():
    return Model.attr, later, flash_attn_func, f"{CONST!r}"
)";
  EXPECT_THAT(unbound(ok), testing::IsEmpty());
  // a star import or a write through globals() may bind anything
  EXPECT_THAT(unbound("from torch import *\nx = cuda_thing\n"), testing::IsEmpty());
  EXPECT_THAT(unbound("globals()['x'] = 1\nprint(x)\n"), testing::IsEmpty());
}

TEST(UnboundNames, OnlyWhatAChangeAddsCounts) {
  std::string old = "print(undefined_before)\nfrom flash_attn import flash_attn_func\nflash_attn_func(1)\n";
  std::string now = "print(undefined_before)\nimport torch_npu\nflash_attn_func(1)\n";
  auto fresh = new_unbound_names(old, now);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].name, "flash_attn_func");
  EXPECT_EQ(fresh[0].line, 3u);
  EXPECT_TRUE(new_unbound_names(old, old).empty());
}

TEST(NamesCheck, AnImportOfAMissingRepositoryModuleIsUnresolved) {
  test::TempDir dir;
  test::write(dir / "pkg/__init__.py", "");
  test::write(dir / "pkg/attn.py", "x = 1\n");
  test::write(dir / "pkg/ops/__init__.py", "");
  auto why = names_check(dir.path(), "pkg/attn.py", "x = 1\n", "from .npu_attn import fused\nx = fused\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("pkg/attn.py:1"));
  EXPECT_THAT(*why, testing::HasSubstr("`.npu_attn`"));
  why = names_check(dir.path(), "pkg/attn.py", "x = 1\n", "import pkg.missing\nx = 1\n");
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("`pkg.missing`"));
  // modules that exist, and packages that are not the repository's, pass
  EXPECT_FALSE(
      names_check(dir.path(), "pkg/attn.py", "x = 1\n",
                  "from . import ops\nfrom .ops import y\nimport pkg.attn\nimport torch_npu\nx = 1\n"));
}

// Issue 12: a module the change itself creates is the repository's: an absolute import of it from
// a file that cannot reach it (it sits in a folder without __init__.py, not beside the file, not at
// the root) is unresolved, and the reason says where the module is. Beside the file it resolves.
TEST(NamesCheck, AnImportOfAModuleTheChangePlacesOutOfReachIsUnresolved) {
  test::TempDir dir;
  test::write(dir / "tools/flash_attn_npu.py", "def f(x):\n    return x\n");
  test::write(dir / "scripts/flash_attn_npu.py", "def f(x):\n    return x\n");
  const std::string now = "from flash_attn_npu import f\nx = f\n";
  auto why = names_check(dir.path(), "app/x.py", "x = 1\n", now, {"tools/flash_attn_npu.py"});
  ASSERT_TRUE(why);
  EXPECT_THAT(*why, testing::HasSubstr("app/x.py:1"));
  EXPECT_THAT(*why, testing::HasSubstr("at tools/flash_attn_npu.py"));
  // not the change's own module: a package installed elsewhere, not checked
  EXPECT_FALSE(names_check(dir.path(), "app/x.py", "x = 1\n", now));
  // placed beside the importing file, or the import was there before: fine
  EXPECT_FALSE(names_check(dir.path(), "scripts/x.py", "x = 1\n", now, {"scripts/flash_attn_npu.py"}));
  EXPECT_FALSE(names_check(dir.path(), "app/x.py", now, now + "y = 2\n", {"tools/flash_attn_npu.py"}));
}

TEST(NamesCheck, TheGateWarnsOrRefusesByOption) {
  test::TempDir dir;
  const char* kBefore =
      "from flash_attn import flash_attn_func\n\n\ndef f(q):\n    return flash_attn_func(q)\n";
  test::write(dir / "m.py", kBefore);
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  repo.checkout_new_or_existing("kcat/ascend-a2");
  Patch p;
  std::string swap = "import torch_npu\n";
  p.edits.push_back({"m.py", 0, static_cast<uint32_t>(std::string(kBefore).find('\n') + 1), swap, "llm"});
  GateOptions o;
  o.message = "swap";
  o.names = NameCheck::Refuse;
  auto g = apply_verify_commit(repo, p, o);
  EXPECT_FALSE(g.committed);
  EXPECT_THAT(g.failed_checks, testing::Contains("names"));
  EXPECT_THAT(g.reason, testing::HasSubstr("`flash_attn_func` (line 5)"));
  EXPECT_EQ(test::read(dir / "m.py"), kBefore);
  o.names = NameCheck::Warn;
  g = apply_verify_commit(repo, p, o);
  EXPECT_TRUE(g.committed);
  ASSERT_EQ(g.warnings.size(), 1u);
  EXPECT_THAT(g.warnings[0], testing::HasSubstr("flash_attn_func"));
}

// Measured on a tree of real Python (KCAT_NAMES_CORPUS=/usr/lib/python3.11): how many files the
// check would call broken. Run by hand; prints the names it reports.
TEST(UnboundNames, DISABLED_Corpus) {
  const char* dir = std::getenv("KCAT_NAMES_CORPUS");
  if (!dir) GTEST_SKIP();
  size_t files = 0, flagged = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".py") continue;
    ++files;
    auto names = unbound_names(read_file(e.path()));
    if (names.empty()) continue;
    ++flagged;
    std::string list;
    for (auto& u : names) list += " " + u.name + ":" + std::to_string(u.line);
    std::printf("%s:%s\n", e.path().c_str(), list.c_str());
  }
  std::printf("%zu files, %zu with an unbound name\n", files, flagged);
}

}  // namespace
}  // namespace kcat::patch
