#include "kcat/patch/git.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "kcat/patch/gate.h"
#include "testsupport/support.h"

namespace kcat::patch {

TEST(Git, BranchCommitTrailersDiffResetAndDirtyFiles) {
  test::TempDir dir;
  test::write(dir / "a.py", "x = 1\n");
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  EXPECT_EQ(repo.current_branch(), "main");
  auto base = repo.head_id();
  repo.checkout_new_or_existing("kcat/ascend-a2");
  EXPECT_EQ(repo.current_branch(), "kcat/ascend-a2");
  test::write(dir / "a.py", "x = 2\n");
  EXPECT_EQ(repo.dirty_files(), std::vector<std::string>{"a.py"});
  auto id = repo.commit("kcat: step", {{"Kcat-Step", "device-api-1"}, {"Kcat-Run", "r1"}}, {"a.py"}, "Ann",
                        "ann@x.y");
  EXPECT_TRUE(repo.dirty_files().empty());
  auto log = repo.log("HEAD", base);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].id, id);
  EXPECT_EQ(log[0].trailers["Kcat-Step"], "device-api-1");
  EXPECT_NE(repo.diff(base, id).find("+x = 2"), std::string::npos);
  EXPECT_EQ(repo.merge_base("main", "kcat/ascend-a2"), base);
  EXPECT_EQ(test::sh("git log -1 --format=%an/%cn", dir.path()).out, "Ann/kcat\n");
  repo.reset_hard(base);
  EXPECT_EQ(test::read(dir / "a.py"), "x = 1\n");
}

TEST(Git, NotARepositorySaysWhatToDo) {
  test::TempDir dir;
  try {
    GitRepo::open(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.hint()).find("--init"), std::string::npos);
  }
}

TEST(Gate, CommitsAGoodChangeAndRollsBackABadOne) {
  test::TempDir dir;
  test::write(dir / "m.py", "import torch\nx = torch.ones(1).cuda()\n");
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  GateOptions o;
  o.message = "kcat: test";
  auto bad = apply_verify_commit(repo, {"m", {{"m.py", 31, 35, "npu(", "t"}}}, o);
  EXPECT_FALSE(bad.committed);
  EXPECT_EQ(bad.failed_checks, std::vector<std::string>{"reparse"});
  EXPECT_NE(bad.reason.find("m.py"), std::string::npos);
  EXPECT_EQ(test::read(dir / "m.py"), "import torch\nx = torch.ones(1).cuda()\n");
  auto good = apply_verify_commit(repo, {"m", {{"m.py", 31, 35, "npu", "t"}}}, o);
  EXPECT_TRUE(good.committed);
  EXPECT_NE(good.diff.find("+x = torch.ones(1).npu()"), std::string::npos);
  EXPECT_TRUE(repo.dirty_files().empty());
}

TEST(Gate, PythonThatParsesButDoesNotCompileIsRefused) {
  test::TempDir dir;
  test::write(dir / "m.py", "def f():\n    return 1\n");
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  GateOptions o;
  o.message = "kcat: test";
  // `return` at module level parses in tree-sitter but python3 refuses to compile it.
  auto g = apply_verify_commit(repo, {"m", {{"m.py", 0, 9, "", "t"}}}, o);
  if (test::run({"python3", "--version"}).exit_code != 0) GTEST_SKIP() << "no python3";
  EXPECT_FALSE(g.committed) << g.reason;
  EXPECT_EQ(g.failed_checks, std::vector<std::string>{"py_compile"});
  EXPECT_EQ(test::read(dir / "m.py"), "def f():\n    return 1\n");
}

}  // namespace kcat::patch
