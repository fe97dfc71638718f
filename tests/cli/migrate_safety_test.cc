// kcat migrate never loses the user's work (issue 14 §2), through the real binary: untracked files,
// uncommitted edits on resume, a branch kcat did not make, submodules, the path given as the scope,
// a branch checked out in another work tree, and a hook that moves HEAD.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "kcat/report/runs.h"
#include "testsupport/support.h"

namespace kcat {

namespace {

namespace fs = std::filesystem;

using Files = std::map<std::string, std::string>;
const char* kCuda = "import torch\nx = torch.ones(1).cuda()\n";
const char* kNpu = "import torch\nimport torch_npu\nx = torch.ones(1).npu()\n";
const char* kGit = "git -c user.name=U -c user.email=u@x -c protocol.file.allow=always ";

struct Repo {
  test::TempDir dir;
  explicit Repo(const std::map<std::string, std::string>& files = {}) {
    if (files.empty()) {
      test::copy_tree(test::fixtures_dir() / "migrate" / "basic" / "before", dir.path());
    }
    for (auto& [f, text] : files) test::write(dir / f, text);
    test::git_init_commit(dir.path());
  }
  test::Result migrate(std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {},
                       const std::string& sub = "") {
    std::vector<std::string> args{"migrate",  (dir.path() / sub).string(), "--target", "ascend-a2",
                                  "--author", "Tester <t@example.com>"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::kcat(args, {}, env);
  }
  std::string git(const std::string& args) { return test::sh("git " + args, dir.path()).out; }
  void commit_all(const std::string& message) {
    auto r = test::sh(std::string(kGit) + "add -A && " + kGit + "commit -qm '" + message + "'", dir.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  // site "file rule" -> "status/how" from the latest run's report.
  std::map<std::string, std::string> sites() {
    auto runs = report::list_runs(dir.path());
    std::map<std::string, std::string> out;
    if (runs.empty()) return out;
    auto rep = nlohmann::json::parse(test::read(dir / ".kcat" / "runs" / runs.back() / "report.json"));
    for (auto& s : rep["sites"]) {
      out[s["finding"]["file"].get<std::string>() + " " + s["finding"]["rule"].get<std::string>()] =
          s["status"].get<std::string>() + "/" + s["how"].get<std::string>();
    }
    return out;
  }
};

}  // namespace

TEST(MigrateSafety, AnUntrackedFileIsNeitherEditedNorCommittedAndSurvivesUndo) {
  Repo repo;
  test::write(repo.dir / "scratch.py", kCuda);  // the user's, never added to git
  auto r = repo.migrate();
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(test::read(repo.dir / "scratch.py"), kCuda);
  EXPECT_EQ(repo.git("ls-tree --name-only kcat/ascend-a2 scratch.py"), "");
  EXPECT_EQ(repo.sites()["scratch.py py.cuda-method"], "left/untracked: not edited") << r.out;
  EXPECT_NE(r.out.find("left for you, untracked: not edited"), std::string::npos) << r.out;
  EXPECT_NE(repo.git("log --format=%s main..kcat/ascend-a2").find("kcat: "), std::string::npos);
  auto undo = test::kcat({"undo", repo.dir.path().string(), "--all"});
  EXPECT_EQ(undo.exit_code, 0) << undo.err;
  EXPECT_EQ(test::read(repo.dir / "scratch.py"), kCuda);
}

TEST(MigrateSafety, ResumeRefusesAUserEditToAFileTheStepTouchedAndKeepsIt) {
  Repo repo;
  auto killed = repo.migrate({}, {{"KCAT_TEST_KILL_AT", "before-commit:1"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
  ASSERT_NE(repo.git("status --porcelain --untracked-files=no").find("train.py"), std::string::npos);
  // The user goes on working on the file the interrupted step wrote.
  auto mine = test::read(repo.dir / "train.py") + "# my own change\n";
  test::write(repo.dir / "train.py", mine);
  auto r = repo.migrate({"--resume"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("train.py"), std::string::npos) << r.err;
  EXPECT_EQ(test::read(repo.dir / "train.py"), mine);
}

TEST(MigrateSafety, ABranchKcatDidNotMakeIsRefusedAndUntouched) {
  Repo repo;
  test::write(repo.dir / ".gitignore", "local.cfg\n");
  repo.commit_all("ignore local.cfg");
  // The user's own kcat/ascend-a2, with a commit that tracks local.cfg.
  test::sh(std::string(kGit) + "checkout -q -b kcat/ascend-a2", repo.dir.path());
  test::write(repo.dir / "local.cfg", "theirs\n");
  test::write(repo.dir / "notes.txt", "my notes\n");
  test::sh(std::string(kGit) + "add -f local.cfg notes.txt && " + kGit + "commit -qm 'my work'",
           repo.dir.path());
  test::sh(std::string(kGit) + "checkout -q main", repo.dir.path());
  test::write(repo.dir / "local.cfg", "mine, ignored on main\n");
  auto tip = repo.git("rev-parse kcat/ascend-a2");
  auto r = repo.migrate();
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("kcat/ascend-a2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--branch"), std::string::npos) << r.err;
  EXPECT_EQ(repo.git("rev-parse kcat/ascend-a2"), tip);
  EXPECT_EQ(repo.git("rev-parse --abbrev-ref HEAD"), "main\n");
  EXPECT_EQ(test::read(repo.dir / "local.cfg"), "mine, ignored on main\n");
  EXPECT_EQ(repo.git("status --porcelain"), "");
  // Another name works.
  auto other = repo.migrate({"--branch", "kcat/a2-port"});
  EXPECT_EQ(other.exit_code, 1) << other.err;
  EXPECT_EQ(repo.git("rev-parse kcat/ascend-a2"), tip);
  EXPECT_EQ(test::read(repo.dir / "local.cfg"), "mine, ignored on main\n");
}

TEST(MigrateSafety, ASubmoduleIsNotEditedAndItsGitlinkStays) {
  test::TempDir sub;
  test::write(sub / "lib.py", kCuda);
  test::git_init_commit(sub.path());
  Repo repo(Files{{"app.py", kCuda}});
  auto add = test::sh(std::string(kGit) + "submodule -q add " + sub.path().string() + " extern/lib && " +
                          kGit + "commit -qm 'add submodule'",
                      repo.dir.path());
  ASSERT_EQ(add.exit_code, 0) << add.err;
  auto r = repo.migrate();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(test::read(repo.dir / "app.py"), kNpu);
  EXPECT_EQ(test::read(repo.dir / "extern/lib/lib.py"), kCuda);
  EXPECT_EQ(repo.git("ls-tree kcat/ascend-a2 extern/lib").substr(0, 11), "160000 comm");
  EXPECT_EQ(repo.git("ls-tree -r --name-only kcat/ascend-a2 extern"), "extern/lib\n");
  EXPECT_EQ(test::sh("git status --porcelain", repo.dir / "extern/lib").out, "");
  EXPECT_EQ(repo.sites()["extern/lib/lib.py py.cuda-method"], "left/submodule: not edited") << r.out;
}

TEST(MigrateSafety, ThePathGivenIsTheScope) {
  Repo repo(Files{{"projA/a.py", kCuda}, {"projB/b.py", kCuda}});
  auto r = repo.migrate({}, {}, "projA");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(test::read(repo.dir / "projA/a.py"), kNpu);
  EXPECT_EQ(test::read(repo.dir / "projB/b.py"), kCuda);
  EXPECT_EQ(repo.git("show kcat/ascend-a2:projB/b.py"), kCuda);
  EXPECT_EQ(repo.git("diff --name-only main kcat/ascend-a2"), "projA/a.py\n");
}

TEST(MigrateSafety, ABranchCheckedOutInAnotherWorkTreeIsRefusedUpFront) {
  Repo repo(Files{{"a.py", kCuda}});
  test::TempDir other;
  auto wt = other / "wt";
  auto add =
      test::sh(std::string(kGit) + "worktree add -q -b kcat/ascend-a2 " + wt.string(), repo.dir.path());
  ASSERT_EQ(add.exit_code, 0) << add.err;
  // An earlier kcat step committed there.
  test::write(wt / "a.py", kNpu);
  auto step = test::sh(
      std::string(kGit) + "commit -qam 'kcat: step' -m 'Kcat-Run: r1' -m 'Kcat-Step: device-api-1'", wt);
  ASSERT_EQ(step.exit_code, 0) << step.err;
  auto r = repo.migrate();
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("checked out in another work tree"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(wt.filename().string()), std::string::npos) << r.err;
  EXPECT_EQ(repo.git("rev-parse --abbrev-ref HEAD"), "main\n");
  EXPECT_EQ(repo.git("status --porcelain --untracked-files=no"), "");
  EXPECT_EQ(repo.git("diff --cached --name-only"), "");
  EXPECT_EQ(test::read(repo.dir / "a.py"), kCuda);
  EXPECT_EQ(test::read(wt / "a.py"), kNpu);
}

TEST(MigrateSafety, AHookThatChecksOutMainNeverGetsACommitOntoMain) {
  Repo repo(Files{{"a.py", kCuda}, {"kcat.toml", "[hooks]\nbefore_commit = \"git checkout -q main\"\n"}});
  auto main_before = repo.git("rev-parse main");
  // The hook comes from the repository's kcat.toml, which runs only when trusted (issue 14 §1).
  auto hash = repo.git("hash-object kcat.toml");
  auto r = repo.migrate({"--trust-repo-config", hash.substr(0, hash.find('\n'))});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("kcat/ascend-a2"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(repo.git("rev-parse main"), main_before);
  EXPECT_EQ(repo.git("log --format=%s main..kcat/ascend-a2"), "");
  EXPECT_EQ(repo.git("diff --cached --name-only"), "");
  EXPECT_EQ(test::read(repo.dir / "a.py"), kCuda);  // kcat's edit rolled back
}

}  // namespace kcat
