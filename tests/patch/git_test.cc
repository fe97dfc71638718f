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

// The agent's step end (issue 18 §7): its commits become one with the same tree on the step's
// base, or are kept on a side ref; a branch moved under kcat is refused, touching nothing.
TEST(Git, SquashOntoMakesOneCommitWithTheSameTreeAndSetRefKeepsTheOldCommits) {
  test::TempDir dir;
  test::write(dir / "a.py", "x = 1\n");
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  repo.checkout_new_or_existing("kcat/ascend-a2");
  repo.pin_branch("kcat/ascend-a2");
  auto base = repo.head_id();
  test::write(dir / "a.py", "x = 2\n");
  repo.commit("one", {}, {"a.py"}, "Ann", "ann@x.y");
  test::write(dir / "b.py", "y = 1\n");
  auto second = repo.commit("two", {}, {"b.py"}, "Ann", "ann@x.y");
  repo.set_ref("refs/kcat/attempts/r1/s1", second, "test");
  auto id = repo.squash_onto(base, "kcat agent: both", {{"Kcat-Step", "s1"}}, "Ann", "ann@x.y");
  auto log = repo.log("HEAD", base);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].id, id);
  EXPECT_EQ(log[0].trailers["Kcat-Step"], "s1");
  EXPECT_EQ(repo.diff(second, id), "");  // the same tree
  EXPECT_TRUE(repo.dirty_files().empty());
  EXPECT_EQ(repo.current_branch(), "kcat/ascend-a2");
  EXPECT_EQ(repo.log("refs/kcat/attempts/r1/s1", base).size(), 2u);
  // A second attempt of the same step (a resumed run) gets its own ref; the first stays.
  EXPECT_EQ(repo.set_ref("refs/kcat/attempts/r1/s1", id, "test"), "refs/kcat/attempts/r1/s1-2");
  EXPECT_EQ(repo.set_ref("refs/kcat/attempts/r1/s1", id, "test"), "refs/kcat/attempts/r1/s1-3");
  EXPECT_EQ(repo.log("refs/kcat/attempts/r1/s1", base).size(), 2u);
  EXPECT_EQ(repo.log("refs/kcat/attempts/r1/s1-2", base).size(), 1u);
  test::sh("git checkout -q main", dir.path());
  EXPECT_THROW(repo.squash_onto(base, "x", {}, "Ann", "ann@x.y"), BranchMoved);
  EXPECT_EQ(test::sh("git rev-parse kcat/ascend-a2", dir.path()).out, id + "\n");
}

// A base the branch no longer descends from (reset or rebased under the agent's step) is refused:
// squashing onto it would fold unrelated history into the step's one commit.
TEST(Git, SquashOntoABaseTheBranchDoesNotDescendFromIsRefusedTouchingNothing) {
  test::TempDir dir;
  test::write(dir / "a.py", "x = 1\n");
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  repo.checkout_new_or_existing("kcat/ascend-a2");
  repo.pin_branch("kcat/ascend-a2");
  auto root = repo.head_id();
  test::write(dir / "a.py", "x = 2\n");
  auto base = repo.commit("the step's base", {}, {"a.py"}, "Ann", "ann@x.y");
  // The branch is reset under the step to a history of its own.
  repo.reset_hard(root);
  test::write(dir / "b.py", "y = 1\n");
  repo.commit("unrelated one", {}, {"b.py"}, "Ann", "ann@x.y");
  test::write(dir / "c.py", "z = 1\n");
  auto head = repo.commit("unrelated two", {}, {"c.py"}, "Ann", "ann@x.y");
  try {
    repo.squash_onto(base, "x", {}, "Ann", "ann@x.y");
    FAIL() << "squashed onto a base the branch does not descend from";
  } catch (const BranchMoved& e) {
    EXPECT_NE(std::string(e.what()).find("is not an ancestor of kcat/ascend-a2"), std::string::npos)
        << e.what();
    EXPECT_NE(e.hint().find("git reflog kcat/ascend-a2"), std::string::npos) << e.hint();
  }
  EXPECT_EQ(repo.head_id(), head);
  EXPECT_EQ(repo.log("HEAD", root).size(), 2u);
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
