#include "kcat/patch/worktree_safety.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "kcat/patch/gate.h"
#include "testsupport/support.h"

namespace kcat::patch {

namespace {

const char* kGit = "git -c user.name=U -c user.email=u@x -c protocol.file.allow=always ";

std::string git(const test::TempDir& dir, const std::string& args) {
  return test::sh(std::string(kGit) + args, dir.path()).out;
}

Patch cuda_to_npu(const std::string& file) { return {"m", {{file, 31, 35, "npu", "t"}}}; }
const char* kCuda = "import torch\nx = torch.ones(1).cuda()\n";

}  // namespace

TEST(WorktreeSafety, TheGateRefusesAnUntrackedFileAndLeavesIt) {
  test::TempDir dir;
  test::write(dir / "m.py", kCuda);
  test::git_init_commit(dir.path());
  test::write(dir / "scratch.py", kCuda);
  auto repo = GitRepo::open(dir.path());
  GateOptions o;
  o.message = "kcat: test";
  auto g = apply_verify_commit(repo, cuda_to_npu("scratch.py"), o);
  EXPECT_FALSE(g.committed);
  EXPECT_EQ(g.failed_checks, std::vector<std::string>{"scope"});
  EXPECT_NE(g.reason.find("scratch.py (untracked: not edited)"), std::string::npos) << g.reason;
  EXPECT_EQ(test::read(dir / "scratch.py"), kCuda);
  EXPECT_EQ(git(dir, "ls-files scratch.py"), "");
  // A new file a patch creates is still fine, and so is a tracked one.
  EXPECT_TRUE(apply_verify_commit(repo, {"n", {{"pkg/new.py", 0, 0, "x = 1\n", "t"}}}, o).committed);
  EXPECT_TRUE(apply_verify_commit(repo, cuda_to_npu("m.py"), o).committed);
}

TEST(WorktreeSafety, TheGateKeepsToTheScopeAndOutOfSubmodules) {
  test::TempDir sub;
  test::write(sub / "lib.py", kCuda);
  test::git_init_commit(sub.path());
  test::TempDir dir;
  test::write(dir / "projA/a.py", kCuda);
  test::write(dir / "projB/b.py", kCuda);
  test::git_init_commit(dir.path());
  ASSERT_EQ(test::sh(std::string(kGit) + "submodule -q add " + sub.path().string() + " projA/lib && " + kGit +
                         "commit -qm sub",
                     dir.path())
                .exit_code,
            0);
  auto repo = GitRepo::open(dir.path());
  EXPECT_EQ(repo.submodule_paths(), std::vector<std::string>{"projA/lib"});
  EditScope scope(repo, "projA/");
  EXPECT_EQ(scope.within(), "projA");
  EXPECT_EQ(scope.why_not("projA/a.py"), std::nullopt);
  EXPECT_EQ(scope.why_not("projB/b.py"), "outside projA: not edited");
  EXPECT_EQ(scope.why_not("projA/lib/lib.py"), "submodule: not edited");
  std::vector<Finding> findings(3);
  findings[0].file = "projA/a.py";
  findings[1].file = "projB/b.py";
  findings[2].file = "projA/lib/lib.py";
  auto out = scope.take_not_editable(findings);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].file, "projA/a.py");
  ASSERT_EQ(out.size(), 1u);  // outside the scope: not part of this migration, not reported
  EXPECT_EQ(out[0].second, "submodule: not edited");

  GateOptions o;
  o.message = "kcat: test";
  o.within = "projA";
  auto b = apply_verify_commit(repo, cuda_to_npu("projB/b.py"), o);
  EXPECT_FALSE(b.committed);
  EXPECT_NE(b.reason.find("outside projA"), std::string::npos) << b.reason;
  auto s = apply_verify_commit(repo, cuda_to_npu("projA/lib/lib.py"), o);
  EXPECT_FALSE(s.committed);
  EXPECT_NE(s.reason.find("submodule"), std::string::npos) << s.reason;
  EXPECT_EQ(test::read(dir / "projA/lib/lib.py"), kCuda);
  EXPECT_EQ(test::read(dir / "projB/b.py"), kCuda);
  EXPECT_TRUE(apply_verify_commit(repo, cuda_to_npu("projA/a.py"), o).committed);
  EXPECT_EQ(git(dir, "ls-tree HEAD projA/lib").substr(0, 11), "160000 comm");
}

// One reading of "inside the path given", for the gate's scope and the reference fallback's.
TEST(WorktreeSafety, WithinPathNormalisesBothSides) {
  EXPECT_TRUE(within_path("src/a.py", ""));
  EXPECT_TRUE(within_path("src/a.py", "."));
  EXPECT_TRUE(within_path("src/a.py", "src"));
  EXPECT_TRUE(within_path("src/a.py", "./src/"));
  EXPECT_TRUE(within_path("./src/a.py", "src"));
  EXPECT_TRUE(within_path("src", "src"));
  EXPECT_FALSE(within_path("srcx/a.py", "src"));
  EXPECT_FALSE(within_path("lib/a.py", "src/"));
}

TEST(WorktreeSafety, ABranchWithoutKcatCommitsIsNotKcats) {
  test::TempDir dir;
  test::write(dir / "a.py", "x = 1\n");
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  check_branch_owned(repo, "kcat/ascend-a2");  // missing: fine
  git(dir, "branch kcat/ascend-a2");
  check_branch_owned(repo, "kcat/ascend-a2");  // at HEAD: nothing on it
  git(dir, "checkout -q kcat/ascend-a2");
  test::write(dir / "a.py", "x = 2\n");
  git(dir, "commit -qam mine");
  git(dir, "checkout -q main");
  try {
    check_branch_owned(repo, "kcat/ascend-a2");
    FAIL() << "a user's branch was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kcat/ascend-a2"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("--branch"), std::string::npos);
  }
  git(dir, "branch kcat/other main");
  repo.checkout("kcat/other");
  test::write(dir / "a.py", "x = 3\n");
  repo.commit("kcat: step", {{"Kcat-Run", "r"}, {"Kcat-Step", "s-1"}}, {"a.py"}, "A", "a@b");
  repo.checkout("main");
  check_branch_owned(repo, "kcat/other");  // kcat's own
}

TEST(WorktreeSafety, CheckoutKeepsIgnoredFiles) {
  test::TempDir dir;
  test::write(dir / ".gitignore", "local.cfg\n");
  test::git_init_commit(dir.path());
  git(dir, "checkout -q -b theirs");
  test::write(dir / "local.cfg", "tracked on theirs\n");
  git(dir, "add -f local.cfg");
  git(dir, "commit -qm cfg");
  git(dir, "checkout -q main");
  test::write(dir / "local.cfg", "mine\n");
  auto repo = GitRepo::open(dir.path());
  EXPECT_THROW(repo.checkout("theirs"), Error);
  EXPECT_EQ(test::read(dir / "local.cfg"), "mine\n");
  EXPECT_EQ(repo.current_branch(), "main");
}

TEST(WorktreeSafety, ABranchCheckedOutInAnotherWorkTreeIsRefusedBeforeTheIndexChanges) {
  test::TempDir dir;
  test::write(dir / "a.py", "x = 1\n");
  test::git_init_commit(dir.path());
  test::TempDir other;
  git(dir, "worktree add -q -b kcat/ascend-a2 " + (other / "wt").string());
  auto repo = GitRepo::open(dir.path());
  EXPECT_NE(repo.checked_out_elsewhere("kcat/ascend-a2").find("wt"), std::string::npos);
  EXPECT_EQ(repo.checked_out_elsewhere("main"), "");
  EXPECT_THROW(check_not_checked_out_elsewhere(repo, "kcat/ascend-a2"), Error);
  try {
    repo.checkout("kcat/ascend-a2");
    FAIL() << "checked out a branch another work tree has";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another work tree"), std::string::npos) << e.what();
  }
  EXPECT_EQ(repo.current_branch(), "main");
  EXPECT_EQ(git(dir, "status --porcelain"), "");
}

TEST(WorktreeSafety, APinnedBranchGetsEveryCommitOrNone) {
  test::TempDir dir;
  test::write(dir / "a.py", "x = 1\n");
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  repo.checkout_new_or_existing("kcat/ascend-a2");
  repo.pin_branch("kcat/ascend-a2");
  auto main_id = git(dir, "rev-parse main");
  git(dir, "checkout -q main");  // e.g. a hook
  test::write(dir / "a.py", "x = 2\n");
  EXPECT_THROW(repo.commit("kcat: step", {}, {"a.py"}, "A", "a@b"), BranchMoved);
  EXPECT_EQ(git(dir, "rev-parse main"), main_id);
  EXPECT_EQ(git(dir, "diff --cached --name-only"), "");  // nothing staged on main either
  // Through the gate: the edit is rolled back too.
  test::write(dir / "a.py", "x = 1\n");
  GateOptions o;
  o.message = "kcat: step";
  EXPECT_THROW(apply_verify_commit(repo, {"m", {{"a.py", 4, 5, "3", "t"}}}, o), BranchMoved);
  EXPECT_EQ(test::read(dir / "a.py"), "x = 1\n");
  EXPECT_EQ(git(dir, "rev-parse main"), main_id);
}

TEST(WorktreeSafety, TheJournalTellsKcatsHalfWrittenFilesFromTheUsers) {
  test::TempDir dir;
  test::write(dir / "m.py", kCuda);
  test::write(dir / "n.py", kCuda);
  test::git_init_commit(dir.path());
  auto repo = GitRepo::open(dir.path());
  EXPECT_EQ(blob_id(kCuda) + "\n", test::sh("git hash-object m.py", dir.path()).out);
  StepJournal seen;
  GateOptions o;
  o.message = "kcat: test";
  o.journal = [&](const StepJournal& j) {
    seen = j;
    EXPECT_EQ(test::read(dir / "m.py"), kCuda);  // journaled before the first byte changes
  };
  o.before_commit = [] { throw std::runtime_error("killed"); };  // interrupted after the write
  EXPECT_THROW(apply_verify_commit(repo, cuda_to_npu("m.py"), o), std::runtime_error);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].file, "m.py");
  EXPECT_EQ(seen[0].before, blob_id(kCuda));
  EXPECT_EQ(seen[0].after, blob_id("import torch\nx = torch.ones(1).npu()\n"));
  // Round trip through the ledger's JSON.
  std::vector<nlohmann::json> events{{{"type", "step-journal"}, {"files", journal_json(seen)}}};
  auto journal = journal_of_ledger(events);
  ASSERT_EQ(journal.size(), 1u);
  EXPECT_EQ(journal[0].after, seen[0].after);
  // m.py as the step wrote it: kcat's. n.py (never journaled) and m.py edited further: the user's.
  test::write(dir / "m.py", "import torch\nx = torch.ones(1).npu()\n");
  test::write(dir / "n.py", "# mine\n");
  auto split = split_dirty(repo, {"m.py", "n.py"}, journal);
  EXPECT_EQ(split.kcat, std::vector<std::string>{"m.py"});
  EXPECT_EQ(split.user, std::vector<std::string>{"n.py"});
  test::write(dir / "m.py", "import torch\nx = torch.ones(1).npu()\n# mine too\n");
  split = split_dirty(repo, {"m.py"}, journal);
  EXPECT_EQ(split.user, std::vector<std::string>{"m.py"});
  repo.restore_from_head({"n.py"});
  EXPECT_EQ(test::read(dir / "n.py"), kCuda);
  EXPECT_EQ(test::read(dir / "m.py"), "import torch\nx = torch.ones(1).npu()\n# mine too\n");
}

}  // namespace kcat::patch
