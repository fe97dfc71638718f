// The fault-injection suite (issue 14 §3, docs/reliability.md): interruption and faults end in a
// known state, through the real binary. A second kcat at once fails fast naming the first; SIGINT
// and SIGTERM roll the step back, kill every descendant and say how to continue; after kill -9 at
// every kill point, ENOSPC at every write (KCAT_FAULT_INJECT), or a kill during --update, the next
// kcat command restores a whole-step state and the port ends as an uninterrupted one does; a bad
// ledger line is skipped with a warning; bytes that are not UTF-8 never stop a report.
//
// Reproduce: build/release/tests/kcat_cli_test --gtest_filter='Faults*'
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "kcat/report/ledger.h"
#include "kcat/report/runs.h"
#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

namespace kcat {

namespace {

namespace fs = std::filesystem;

using Files = std::map<std::string, std::string>;
const char* kAuthor = "Tester <t@example.com>";
const char* kGit = "git -c user.name=U -c user.email=u@x ";
// A port recipe that creates a file (flash_attn_npu.py) beside a codemod step.
const Files kFlashAttn = {
    {"model.py",
     "import torch\nfrom flash_attn import flash_attn_func\n\n\ndef attn(q, k, v):\n"
     "    return flash_attn_func(q, k, v, causal=True)\n"},
    {"train.py", "import torch\nx = torch.ones(1).cuda()\n"},
};

struct Repo {
  test::TempDir dir;
  struct CopyOf {};
  // A copy of `from`, its .git and .kcat/ included (a prepared state, cheaper than re-running it).
  Repo(CopyOf, const Repo& from) { test::copy_tree(from.dir.path(), dir.path()); }
  explicit Repo(const Files& files = {}) {
    if (files.empty()) test::copy_tree(test::fixtures_dir() / "migrate" / "basic" / "before", dir.path());
    for (auto& [f, text] : files) test::write(dir / f, text);
    test::git_init_commit(dir.path());
  }
  std::vector<std::string> args(std::vector<std::string> extra = {}) const {
    std::vector<std::string> a{"migrate", dir.path().string(), "--target", "ascend-a2", "--author", kAuthor};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  test::Result migrate(std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {}) {
    return test::kcat(args(std::move(extra)), {}, env);
  }
  std::string git(const std::string& a) const { return test::sh("git " + a, dir.path()).out; }
  std::string tree() const { return git("rev-parse 'HEAD^{tree}'"); }
  // Everything git sees besides kcat's own ignored .kcat/: nothing staged, changed or left behind.
  std::string status() const { return git("status --porcelain"); }
};

// The tree an uninterrupted port of `files` ends with (and its exit code). A tree id is the content
// alone (no time, no author), so each is computed once per test process: seven tests compared
// against the same two ports and ran them eleven times (docs/PERFORMANCE.md "CI time").
std::pair<std::string, int> reference(const Files& files) {
  static std::map<Files, std::pair<std::string, int>> done;
  if (auto it = done.find(files); it != done.end()) return it->second;
  Repo ref(files);
  auto r = ref.migrate();
  return done[files] = {ref.tree(), r.exit_code};
}

// After a fault: what a user does next. `--resume` when there is a run to resume, else a new run.
test::Result continue_after_fault(Repo& repo) {
  auto r = repo.migrate({"--resume"});
  if (r.exit_code == 2 && r.err.find("no interrupted run") != std::string::npos) r = repo.migrate();
  return r;
}

// A config the test owns (trusted: --config), whose after_edit hook marks that it started, then
// sleeps in a grandchild whose pid it records.
fs::path slow_hook_config(const test::TempDir& job) {
  auto marker = job / "hook-started";
  auto pidfile = job / "sleep.pid";
  test::write(job / "slow.toml", "[hooks]\nafter_edit = \"sleep 30 & echo $! > " + pidfile.string() +
                                     "; touch " + marker.string() + "; wait\"\n");
  return job / "slow.toml";
}

int read_pid(const fs::path& f) { return std::atoi(test::read(f).c_str()); }

}  // namespace

// ---- one kcat at a time ----

TEST(Faults, ASecondKcatWhileOneChangesTheRepositoryFailsFastNamingTheFirst) {
  Repo repo;
  test::TempDir job;
  auto cfg = slow_hook_config(job);
  test::Background first(repo.args({"--config", cfg.string()}));
  ASSERT_TRUE(test::wait_for_file(job / "hook-started")) << "the first run never reached its hook";
  auto t0 = std::chrono::steady_clock::now();
  for (auto args : {repo.args(), std::vector<std::string>{"undo", repo.dir.path().string()}}) {
    auto second = test::kcat(args);
    EXPECT_EQ(second.exit_code, 3) << second.out << second.err;
    EXPECT_NE(second.err.find("another kcat is changing this repository: pid " + std::to_string(first.pid())),
              std::string::npos)
        << second.err;
    EXPECT_NE(second.err.find("kill " + std::to_string(first.pid())), std::string::npos) << second.err;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));  // fast, not after the first
  ::kill(first.pid(), SIGTERM);
  auto r = first.wait();
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  // The lock went with it: the next run works.
  auto resumed = repo.migrate({"--resume"});
  EXPECT_EQ(resumed.exit_code, 1) << resumed.err;
}

// ---- SIGINT / SIGTERM ----

TEST(Faults, ASignalMidStepRollsItBackKillsItsDescendantsAndSaysHowToContinue) {
  auto [ref_tree, ref_exit] = reference({});
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(sig);
    Repo repo;
    test::TempDir job;
    auto cfg = slow_hook_config(job);
    auto main_before = repo.git("rev-parse main");
    test::Background run(repo.args({"--config", cfg.string()}));
    ASSERT_TRUE(test::wait_for_file(job / "hook-started"));
    ASSERT_TRUE(test::wait_for_file(job / "sleep.pid"));
    int sleeper = read_pid(job / "sleep.pid");
    ASSERT_TRUE(test::process_alive(sleeper));
    ::kill(run.pid(), sig);
    auto r = run.wait(30);
    EXPECT_EQ(r.exit_code, 128 + sig) << r.out << r.err;
    EXPECT_NE(r.err.find("interrupted by"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("was rolled back"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
    for (int i = 0; i < 60 && test::process_alive(sleeper); ++i) usleep(50000);
    EXPECT_FALSE(test::process_alive(sleeper)) << "the hook's grandchild outlived kcat";
    // A whole-step state: nothing half done, nothing committed by the cut step.
    EXPECT_EQ(repo.status(), "");
    EXPECT_EQ(repo.git("rev-parse main"), main_before);
    EXPECT_EQ(repo.git("log --format=%s main..kcat/ascend-a2"), "");
    auto resumed = repo.migrate({"--resume"});
    EXPECT_EQ(resumed.exit_code, ref_exit) << resumed.out << resumed.err;
    EXPECT_EQ(repo.tree(), ref_tree);
    EXPECT_EQ(repo.status(), "");
  }
}

// ---- kill -9 at every kill point ----

TEST(Faults, KillAtEveryPointThenTheNextRunEndsAsAnUninterruptedOne) {
  size_t cases = 0, held = 0;
  for (const Files& files : {Files{}, kFlashAttn}) {
    auto [ref_tree, ref_exit] = reference(files);
    for (std::string point : {"before-apply", "before-commit", "after-commit"}) {
      for (int n = 1;; ++n) {
        auto spec = point + ":" + std::to_string(n);
        SCOPED_TRACE(spec);
        Repo repo(files);
        auto killed = repo.migrate({}, {{"KCAT_TEST_KILL_AT", spec}});
        if (killed.exit_code != 128 + 9) break;  // the run has fewer steps than n
        ++cases;
        auto r = continue_after_fault(repo);
        bool ok = r.exit_code == ref_exit && repo.tree() == ref_tree && repo.status() == "";
        EXPECT_TRUE(ok) << "exit " << r.exit_code << "\n" << r.out << r.err << repo.status();
        held += ok;
      }
    }
  }
  std::cout << "[ reliability ] kill -9 at every kill point: " << cases << " cases, " << held << " held\n";
  EXPECT_GE(cases, 8u);
}

TEST(Faults, KilledWhileAStepCreatesAFileResumeCommitsTheFileNotAnImportOfAMissingOne) {
  Repo repo(kFlashAttn);
  auto [ref_tree, ref_exit] = reference(kFlashAttn);
  // The second step is the recipe that writes flash_attn_npu.py and points model.py at it.
  auto killed = repo.migrate({}, {{"KCAT_TEST_KILL_AT", "before-commit:2"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.err;
  ASSERT_TRUE(fs::exists(repo.dir / "flash_attn_npu.py"));
  auto r = repo.migrate({"--resume"});
  EXPECT_EQ(r.exit_code, ref_exit) << r.out << r.err;
  EXPECT_NE(r.err.find("recovered: put back"), std::string::npos) << r.err;
  EXPECT_EQ(repo.git("ls-files flash_attn_npu.py"), "flash_attn_npu.py\n");
  EXPECT_EQ(repo.status(), "");
  EXPECT_EQ(repo.tree(), ref_tree);
}

// ---- kill -9 in the middle of an agent step ----

// The agent commits each edit of a step and makes them one commit when the step ends. Killed in
// between, the next command keeps the step's edits on refs/kcat/attempts/<run>/<step> and puts the
// branch back at the step's start, saying so; --resume then redoes the step.
TEST(Faults, KilledMidAgentStepTheNextCommandKeepsItsEditsAsAnAttemptAndRestoresTheStepsStart) {
  const std::string ops =
      "import torch\nimport cupy as cp\n\n\ndef double(x):\n    return "
      "torch.as_tensor(cp.asnumpy(cp.asarray(x) * 2))\n";
  auto script = [](bool hang) {
    std::vector<test::Reply> r{
        test::reply_tool_call(
            "edit_file",
            R"({"path": "ops.py", "search": "import cupy as cp\n", "replace": "import numpy as cp\n"})"),
        test::reply_tool_call(
            "edit_file",
            R"j({"path": "ops.py", "search": "cp.asnumpy(cp.asarray(x) * 2)", "replace": "cp.asarray(x) * 2"})j"),
        test::reply_tool_call("finish_step", R"({"status": "done", "summary": "cupy -> numpy"})")};
    if (hang) r.back().delay_ms = 60000;  // the step is cut off here, its two edits committed
    return r;
  };
  Repo repo(Files{{"ops.py", ops}});
  auto env = [&](const test::FakeLlm& fake) {
    return std::map<std::string, std::string>{{"KCAT_LLM_BASE_URL", fake.base_url()},
                                              {"KCAT_LLM_MODEL", "fake"},
                                              {"KCAT_LLM_API_KEY", "sk-test"},
                                              {"HOME", repo.dir.path().string()}};
  };
  auto main_before = repo.git("rev-parse main");
  {
    test::FakeLlm fake(script(true));
    test::Background run(repo.args(), env(fake));
    for (int i = 0; i < 1200 && fake.request_count() < 3; ++i) usleep(50000);
    ASSERT_EQ(fake.request_count(), 3u) << "the agent never reached its third request";
    ASSERT_EQ(repo.git("log --format=%s main..kcat/ascend-a2 | grep -c 'kcat agent'"), "2\n")
        << repo.git("log --format=%s main..kcat/ascend-a2");
    ::kill(run.pid(), SIGKILL);
    EXPECT_EQ(run.wait(30).exit_code, 128 + 9);
  }
  auto st = test::kcat({"status", repo.dir.path().string()});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.err.find("kept on refs/kcat/attempts/"), std::string::npos) << st.err;
  EXPECT_NE(st.err.find("back at the step's start"), std::string::npos) << st.err;
  // A whole-step state: no edit of the cut step on the branch, the file as before the step.
  EXPECT_EQ(repo.git("log --format=%s main..kcat/ascend-a2 | grep -c 'kcat agent'"), "0\n");
  EXPECT_EQ(test::read(repo.dir / "ops.py"), ops);
  EXPECT_EQ(repo.status(), "");
  EXPECT_EQ(repo.git("rev-parse main"), main_before);
  auto refs = repo.git("for-each-ref --format='%(refname)' refs/kcat/attempts/");
  ASSERT_NE(refs, "") << st.err;
  auto ref = refs.substr(0, refs.find('\n'));
  EXPECT_EQ(repo.git("rev-list --count kcat/ascend-a2.." + ref), "2\n");
  EXPECT_EQ(repo.git("show " + ref + ":ops.py").find("cupy"), std::string::npos);
  // A second command finds nothing more to do.
  auto again = test::kcat({"status", repo.dir.path().string()});
  EXPECT_EQ(again.err.find("recovered"), std::string::npos) << again.err;
  // --resume redoes the step: one commit for it.
  test::FakeLlm fake(script(false));
  auto r = test::kcat(repo.args({"--resume"}), {}, env(fake));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(test::read(repo.dir / "ops.py").find("cupy"), std::string::npos);
  EXPECT_EQ(repo.git("log --format=%s main..kcat/ascend-a2 | grep -c 'kcat agent'"), "1\n");
  EXPECT_EQ(repo.status(), "");
}

// ---- a kill during --update ----

TEST(Faults, KilledDuringUpdateTheNextCommandAbortsTheRebaseAndSaysSo) {
  Repo repo;
  auto first = repo.migrate();
  ASSERT_EQ(first.exit_code, 1) << first.err;
  auto branch_before = repo.git("rev-parse kcat/ascend-a2");
  // Upstream moves on.
  test::sh(std::string(kGit) + "checkout -q main && echo '# upstream' > NEWS && " + kGit + "add NEWS && " +
               kGit + "commit -qm upstream && " + kGit + "checkout -q kcat/ascend-a2",
           repo.dir.path());
  auto killed = repo.migrate({"--update"}, {{"KCAT_TEST_KILL_AT", "rebase-commit:1"}});
  ASSERT_EQ(killed.exit_code, 128 + 9) << killed.out << killed.err;
  ASSERT_TRUE(fs::exists(repo.dir / ".git" / "rebase-merge"));  // mid-rebase, HEAD detached
  auto st = test::kcat({"status", repo.dir.path().string()});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.err.find("aborted the rebase of kcat/ascend-a2"), std::string::npos) << st.err;
  EXPECT_FALSE(fs::exists(repo.dir / ".git" / "rebase-merge"));
  EXPECT_EQ(repo.git("rev-parse --abbrev-ref HEAD"), "kcat/ascend-a2\n");
  EXPECT_EQ(repo.git("rev-parse kcat/ascend-a2"), branch_before);
  EXPECT_EQ(repo.status(), "");
  // And the update now goes through.
  auto again = repo.migrate({"--update"});
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_EQ(repo.git("merge-base --is-ancestor main kcat/ascend-a2 && echo yes"), "yes\n");
  EXPECT_EQ(repo.status(), "");
}

TEST(Faults, KilledDuringUpdateMigrateUpdateRecoversByItself) {
  Repo repo;
  ASSERT_EQ(repo.migrate().exit_code, 1);
  test::sh(std::string(kGit) + "checkout -q main && echo '# upstream' > NEWS && " + kGit + "add NEWS && " +
               kGit + "commit -qm upstream && " + kGit + "checkout -q kcat/ascend-a2",
           repo.dir.path());
  ASSERT_EQ(repo.migrate({"--update"}, {{"KCAT_TEST_KILL_AT", "rebase-commit:1"}}).exit_code, 128 + 9);
  auto again = repo.migrate({"--update"});
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_NE(again.err.find("aborted the rebase"), std::string::npos) << again.err;
  EXPECT_EQ(repo.git("merge-base --is-ancestor main kcat/ascend-a2 && echo yes"), "yes\n");
  EXPECT_EQ(repo.status(), "");
}

// ---- disk full at every write ----

// ENOSPC at write N (`mode` "": that write only; "-": it and every later one, the disk stays full),
// for every N a run reaches; then what the user does next. Returns {cases, held}.
// Every write in a full sweep (KCAT_FAULT_STRIDE=1, what docs/reliability.md records); CI takes
// every third write, with an offset per mode, to keep its time (each case is two kcat runs).
int fault_stride() {
  const char* s = std::getenv("KCAT_FAULT_STRIDE");
  return s && std::atoi(s) > 0 ? std::atoi(s) : 3;
}

std::pair<size_t, size_t> disk_full_at_every_write(const std::string& mode) {
  size_t cases = 0, held = 0;
  const int stride = fault_stride();
  for (const Files& files : {Files{}, kFlashAttn}) {
    auto [ref_tree, ref_exit] = reference(files);
    for (int n = 1 + (mode.empty() ? 0 : 1) % stride; n < 400; n += stride) {
      auto spec = "write:" + std::to_string(n) + mode;
      SCOPED_TRACE(spec);
      Repo repo(files);
      auto faulted = repo.migrate({}, {{"KCAT_FAULT_INJECT", spec}});
      if (faulted.err.find("kcat: fault injected") == std::string::npos) break;  // past the last write
      ++cases;
      // Never a crash: the run stops with exit 3 naming the disk, or the write was one kcat can
      // do without (the scan cache) and the run ends as usual.
      EXPECT_TRUE(faulted.exit_code == 3 || faulted.exit_code == ref_exit)
          << faulted.exit_code << faulted.err;
      if (faulted.exit_code == 3) {
        EXPECT_NE(faulted.err.find("No space left on device"), std::string::npos) << faulted.err;
      }
      auto r = continue_after_fault(repo);
      bool ok = r.exit_code == ref_exit && repo.tree() == ref_tree && repo.status() == "";
      EXPECT_TRUE(ok) << "faulted: exit " << faulted.exit_code << "\n"
                      << faulted.err << "next: exit " << r.exit_code << "\n"
                      << r.out << r.err << repo.status();
      held += ok;
    }
  }
  return {cases, held};
}

TEST(Faults, DiskFullOnceAtEveryWriteThenTheNextRunEndsAsAnUninterruptedOne) {
  auto [cases, held] = disk_full_at_every_write("");
  std::cout << "[ reliability ] ENOSPC once, at every write: " << cases << " cases, " << held << " held\n";
  EXPECT_GE(cases * static_cast<size_t>(fault_stride()), 20u);
}

TEST(Faults, DiskFullFromEveryWriteOnThenTheNextRunEndsAsAnUninterruptedOne) {
  auto [cases, held] = disk_full_at_every_write("-");
  std::cout << "[ reliability ] ENOSPC from every write on: " << cases << " cases, " << held << " held\n";
  EXPECT_GE(cases * static_cast<size_t>(fault_stride()), 20u);
}

// Every write a run of `files` makes, in order, as KCAT_FAULT_INJECT=list names them: {N, what}.
std::vector<std::pair<int, std::string>> write_points(const Files& files) {
  Repo repo(files);
  auto r = repo.migrate({}, {{"KCAT_FAULT_INJECT", "list"}});
  std::vector<std::pair<int, std::string>> points;
  const std::string mark = "kcat: fault point: write ";
  for (size_t at = r.err.find(mark); at != std::string::npos; at = r.err.find(mark, at + 1)) {
    auto line = r.err.substr(at + mark.size(), r.err.find('\n', at) - at - mark.size());
    auto paren = line.find(" (");
    points.emplace_back(std::atoi(line.c_str()), line.substr(paren + 2, line.size() - paren - 3));
  }
  return points;
}

// libgit2's own writes (blobs as files are staged, the index, trees, commits, the branch) fail
// as on a full disk, each of them, once and from there on; the next run ends as an
// uninterrupted one. KCAT_FAULT_STRIDE=1 for every point in both modes (docs/reliability.md).
TEST(Faults, DiskFullInsideGitAtEveryGitWriteThenTheNextRunEndsAsAnUninterruptedOne) {
  size_t cases = 0, held = 0;
  for (const Files& files : {Files{}, kFlashAttn}) {
    auto [ref_tree, ref_exit] = reference(files);
    std::set<std::string> names;
    int i = 0;
    for (auto& [n, what] : write_points(files)) {
      if (what.rfind("git_", 0) != 0) continue;
      names.insert(what);
      for (std::string mode : {"", "-"}) {
        // CI: every third point per mode, offset by one between the modes, as the sweep above.
        if ((i++ / 2 + (mode.empty() ? 0 : 1)) % fault_stride() != 0) continue;
        auto spec = "write:" + std::to_string(n) + mode;
        SCOPED_TRACE(spec + " " + what);
        Repo repo(files);
        auto faulted = repo.migrate({}, {{"KCAT_FAULT_INJECT", spec}});
        ASSERT_NE(faulted.err.find("fault injected: write " + std::to_string(n) + " (" + what + ")"),
                  std::string::npos)
            << faulted.err;
        ++cases;
        EXPECT_EQ(faulted.exit_code, 3) << faulted.out << faulted.err;
        EXPECT_NE(faulted.err.find(what + ": No space left on device"), std::string::npos) << faulted.err;
        EXPECT_NE(faulted.err.find("--resume"), std::string::npos) << faulted.err;
        auto r = continue_after_fault(repo);
        bool ok = r.exit_code == ref_exit && repo.tree() == ref_tree && repo.status() == "";
        EXPECT_TRUE(ok) << "next: exit " << r.exit_code << "\n" << r.out << r.err << repo.status();
        held += ok;
      }
    }
    for (auto want : {"git_branch_create", "git_index_add_bypath", "git_index_write", "git_index_write_tree",
                      "git_commit_create"}) {
      EXPECT_TRUE(names.count(want)) << want << " is not a write the injection reaches";
    }
  }
  std::cout << "[ reliability ] ENOSPC inside libgit2, at every git write: " << cases << " cases, " << held
            << " held\n";
}

// ---- disk full during --update ----

// A ported repository whose upstream (main) then moved on by one commit, on kcat/ascend-a2.
void port_then_move_upstream(Repo& repo) {
  ASSERT_EQ(repo.migrate().exit_code, 1);
  test::sh(std::string(kGit) + "checkout -q main && echo '# upstream' > NEWS && " + kGit + "add NEWS && " +
               kGit + "commit -qm upstream && " + kGit + "checkout -q kcat/ascend-a2",
           repo.dir.path());
}

// Every write of `kcat migrate --update` (the rebase of the port onto the moved upstream: libgit2's
// rebase, checkout and ref writes, and kcat's own files) fails once, and from there on; the run
// stops with exit 3 naming the disk or does without the write, never leaves a rebase behind, and
// the next `--update` ends as an uninterrupted update does. CI takes every third point per mode.
TEST(Faults, DiskFullDuringUpdateThenTheNextUpdateEndsAsAnUninterruptedOne) {
  Repo ref;
  port_then_move_upstream(ref);
  auto ref_run = ref.migrate({"--update"});
  auto ref_tree = ref.tree();
  ASSERT_EQ(ref.git("merge-base --is-ancestor main kcat/ascend-a2 && echo yes"), "yes\n") << ref_run.err;
  // The state every case starts from: ported, then upstream moved on (copied per case).
  Repo prepared;
  port_then_move_upstream(prepared);
  // The writes an --update makes, named.
  Repo probe(Repo::CopyOf{}, prepared);
  auto listed = probe.migrate({"--update"}, {{"KCAT_FAULT_INJECT", "list"}}).err;
  int points = 0;
  std::set<std::string> names;
  const std::string mark = "kcat: fault point: write ";
  for (size_t at = listed.find(mark); at != std::string::npos; at = listed.find(mark, at + 1)) {
    ++points;
    auto line = listed.substr(at, listed.find('\n', at) - at);
    names.insert(line.substr(line.find(" (") + 2));
  }
  ASSERT_GT(points, 0) << listed;
  EXPECT_TRUE(names.count("git_rebase_commit)")) << listed;
  size_t cases = 0, held = 0;
  for (std::string mode : {"", "-"}) {
    for (int n = 1 + (mode.empty() ? 0 : 1) % fault_stride(); n <= points; n += fault_stride()) {
      auto spec = "write:" + std::to_string(n) + mode;
      SCOPED_TRACE(spec);
      Repo repo(Repo::CopyOf{}, prepared);
      auto branch_before = repo.git("rev-parse kcat/ascend-a2");
      auto faulted = repo.migrate({"--update"}, {{"KCAT_FAULT_INJECT", spec}});
      ASSERT_NE(faulted.err.find("kcat: fault injected"), std::string::npos) << faulted.err;
      ++cases;
      EXPECT_TRUE(faulted.exit_code == 3 || faulted.exit_code == ref_run.exit_code)
          << faulted.exit_code << faulted.err;
      if (faulted.exit_code == 3) {
        EXPECT_NE(faulted.err.find("No space left on device"), std::string::npos) << faulted.err;
        // Never half an update: the branch is where it was, or the update is whole.
        auto now = repo.git("rev-parse kcat/ascend-a2");
        EXPECT_TRUE(now == branch_before || repo.tree() == ref_tree) << faulted.err;
      }
      auto r = repo.migrate({"--update"});
      bool ok = r.exit_code == ref_run.exit_code && repo.tree() == ref_tree && repo.status() == "" &&
                !fs::exists(repo.dir / ".git" / "rebase-merge") &&
                repo.git("merge-base --is-ancestor main kcat/ascend-a2 && echo yes") == "yes\n";
      EXPECT_TRUE(ok) << "faulted: exit " << faulted.exit_code << "\n"
                      << faulted.err << "next: exit " << r.exit_code << "\n"
                      << r.out << r.err << repo.status();
      held += ok;
    }
  }
  std::cout << "[ reliability ] ENOSPC during --update: " << points << " writes, " << cases << " cases, "
            << held << " held\n";
}

// ---- the ledger ----

TEST(Faults, AMalformedLedgerLineIsSkippedWithAWarningNamingFileAndLine) {
  Repo repo;
  auto killed = repo.migrate({}, {{"KCAT_TEST_KILL_AT", "before-commit:2"}});
  ASSERT_EQ(killed.exit_code, 128 + 9);
  auto runs = report::list_runs(repo.dir.path());
  ASSERT_EQ(runs.size(), 1u);
  auto ledger = repo.dir / ".kcat" / "runs" / runs[0] / "ledger.jsonl";
  auto lines = test::read(ledger);
  auto count = std::count(lines.begin(), lines.end(), '\n');
  // A value that is not an event, an event with a field of the wrong type, and a cut last line.
  std::ofstream(ledger, std::ios::app) << "42\n{\"type\": 5}\n{\"type\": \"step-committed\", \"key\": [1]}\n"
                                       << "{\"ts\":\"2026-12-07T\",\"type\":\"step-comm";
  auto st = test::kcat({"status", repo.dir.path().string()});
  EXPECT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("step(s) committed"), std::string::npos) << st.out;
  EXPECT_NE(st.err.find("ledger.jsonl:" + std::to_string(count + 1)), std::string::npos) << st.err;
  EXPECT_NE(st.err.find("ledger.jsonl:" + std::to_string(count + 4)), std::string::npos) << st.err;
  auto r = repo.migrate({"--resume"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(repo.tree(), reference({}).first);
}

// ---- bytes that are not UTF-8 ----

TEST(Faults, ASourceFileThatIsNotUtf8NeverStopsTheReports) {
  Repo repo(Files{{"a.py", "import torch\n# caf\xe9 \xff\xfe\nx = torch.ones(1).cuda()  # \xc3\n"},
                  {"b\xff.py", "import torch\ny = torch.ones(1).cuda()\n"}});
  auto r = repo.migrate();
  EXPECT_LT(r.exit_code, 2) << r.out << r.err;
  auto runs = report::list_runs(repo.dir.path());
  ASSERT_EQ(runs.size(), 1u);
  auto report = test::read(repo.dir / ".kcat" / "runs" / runs[0] / "report.json");
  EXPECT_TRUE(nlohmann::json::accept(report)) << report.substr(0, 400);
  EXPECT_EQ(report::Ledger::read(repo.dir / ".kcat" / "runs" / runs[0] / "ledger.jsonl").back()["type"],
            "run-finished");
  for (std::string format : {"json", "sarif"}) {
    auto s = test::kcat({"scan", repo.dir.path().string(), "--format", format});
    EXPECT_LT(s.exit_code, 2) << s.err;
    EXPECT_TRUE(nlohmann::json::accept(s.out)) << format << ": " << s.out.substr(0, 300);
  }
}

}  // namespace kcat
