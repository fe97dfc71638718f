// recover: the repository lock, and the whole-step state an interrupted kcat is put back to.
#include "kcat/migrate/recover.h"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include "kcat/agent/agent.h"
#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/migrate/phases.h"
#include "kcat/patch/worktree_safety.h"
#include "kcat/report/ledger.h"
#include "kcat/report/runs.h"

namespace kcat::migrate {

namespace fs = std::filesystem;

namespace {

std::string list(const std::vector<std::string>& files) {
  std::string out;
  for (size_t i = 0; i < files.size() && i < 5; ++i) out += (i ? ", " : "") + files[i];
  if (files.size() > 5) out += fmt::format(" and {} more", files.size() - 5);
  return out;
}

// Every branch a kcat run worked on in this repository.
std::set<std::string> kcat_branches(const fs::path& root) {
  std::set<std::string> out;
  for (auto& run : report::list_runs(root)) {
    for (auto& e : report::Ledger::read(root / ".kcat" / "runs" / run / "ledger.jsonl")) {
      if (e.value("type", "") == "run-started") out.insert(e.value("branch", ""));
    }
  }
  return out;
}

// The branch a rebase in progress is replaying (.git/rebase-merge/head-name), "" when unknown.
std::string rebasing_branch(const patch::GitRepo& repo) {
  for (const char* dir : {"rebase-merge", "rebase-apply"}) {
    std::error_code ec;
    auto f = repo.git_dir() / dir / "head-name";
    if (!fs::exists(f, ec)) continue;
    auto name = read_file(f);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
    if (name.rfind("refs/heads/", 0) == 0) return name.substr(11);
  }
  return {};
}

void abort_kcat_rebase(patch::GitRepo& repo, const fs::path& root, std::vector<std::string>& done) {
  if (!repo.rebase_in_progress()) return;
  auto branch = rebasing_branch(repo);
  if (branch.empty() || !kcat_branches(root).count(branch)) return;  // the user's own rebase
  repo.abort_rebase();
  done.push_back(fmt::format(
      "aborted the rebase of {} an interrupted `kcat migrate --update` left in progress: {} is back at {} "
      "(run `kcat migrate --update` again)",
      branch, branch, repo.head_id().substr(0, 10)));
}

void put_back_interrupted_step(patch::GitRepo& repo, const fs::path& root, std::vector<std::string>& done) {
  auto run = unfinished_run(root);
  if (run.empty()) return;
  auto events = report::Ledger::read(root / ".kcat" / "runs" / run / "ledger.jsonl");
  std::string branch;
  for (auto& e : events) {
    if (e.value("type", "") == "run-started" || e.value("type", "") == "run-resumed")
      branch = e.value("branch", branch);
  }
  if (branch.empty() || repo.current_branch() != branch) return;
  auto journal = patch::journal_of_ledger(events);
  if (journal.empty()) return;
  // Tracked files (changed in the work tree or staged) whose content a step had or wrote.
  auto split = patch::split_dirty(repo, repo.dirty_files(), journal);
  std::vector<std::string> created_gone, restored;
  std::set<std::string> created;
  for (auto& j : journal) {
    if (j.before.empty()) created.insert(j.file);
  }
  for (auto& f : split.user) {
    // A new file a step staged and then removed again (a commit that failed half way): kcat's.
    std::error_code ec;
    if (created.count(f) && !fs::exists(root / f, ec)) created_gone.push_back(f);
  }
  std::vector<std::string> in_head;
  for (auto& f : split.kcat) (created.count(f) ? created_gone : in_head).push_back(f);
  if (!split.kcat.empty() || !created_gone.empty()) {
    auto all = split.kcat;
    all.insert(all.end(), created_gone.begin(), created_gone.end());
    repo.unstage(all);
    repo.restore_from_head(in_head);
    restored = all;
  }
  // New files a step created and did not commit: untracked now, and the step's own bytes.
  std::vector<std::string> removed;
  std::map<std::string, std::set<std::string>> wrote;
  for (auto& j : journal) {
    if (j.before.empty() && !j.after.empty()) wrote[j.file].insert(j.after);
  }
  for (auto& [f, ids] : wrote) {
    std::error_code ec;
    if (!fs::is_regular_file(root / f, ec) || repo.is_tracked(f)) continue;
    if (!ids.count(patch::blob_id(read_file(root / f)))) continue;  // changed since: the user's
    fs::remove(root / f, ec);
    if (!ec) removed.push_back(f);
  }
  for (auto& f : removed) {
    if (std::find(restored.begin(), restored.end(), f) == restored.end()) restored.push_back(f);
  }
  if (restored.empty()) return;
  done.push_back(fmt::format(
      "put back {} file(s) a step of the interrupted run {} had changed and not committed ({}): {} is at its "
      "last whole step; `kcat migrate --resume` redoes the step",
      restored.size(), run, list(restored), branch));
}

// An agent step cut off by a kill leaves its edits as separate commits on the branch (they become
// one only when the step ends). They go where a step not done keeps its edits, the attempts ref,
// and the branch back to the step's start: a whole-step state, the edits kept for review.
void keep_unfinished_agent_step(patch::GitRepo& repo, const fs::path& root, std::vector<std::string>& done) {
  auto run = unfinished_run(root);
  if (run.empty()) return;
  std::string branch, step, base;
  for (auto& e : report::Ledger::read(root / ".kcat" / "runs" / run / "ledger.jsonl")) {
    auto type = e.value("type", "");
    if (type == "run-started" || type == "run-resumed") branch = e.value("branch", branch);
    if (type == "agent-step-started") {
      step = e.value("step", "");
      base = e.value("base", "");
    } else if (type == "agent-step" && e.value("step", "") == step) {
      step.clear();  // the step ended: its commits were squashed or kept already
    }
  }
  if (step.empty() || base.empty() || branch.empty() || repo.current_branch() != branch) return;
  auto head = repo.head_id();
  if (head == base || repo.merge_base(base, head) != base) return;
  // Only the step's own edit commits: anything else on the branch (the user's) is left alone.
  auto commits = repo.log(head, base);
  for (auto& c : commits) {
    if (c.trailers["Kcat-Run"] != run || c.trailers["Kcat-Step"] != step || c.trailers["Kcat-Agent"] != "llm")
      return;
  }
  if (!repo.dirty_files().empty()) return;  // never reset over the user's uncommitted edits
  auto ref = repo.set_ref(agent::attempt_ref(run, step), head,
                          "kcat: the edits of step " + step + " (interrupted before it ended)");
  repo.reset_hard(base);
  done.push_back(fmt::format(
      "the agent step {} of the interrupted run {} had {} edit commit(s) and had not ended: they are kept on "
      "{}, and {} is back at the step's start ({}); `kcat migrate --resume` redoes the step",
      step, run, commits.size(), ref, branch, base.substr(0, 10)));
}

}  // namespace

RepoLock lock_repository(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return {};
  auto dir = fs::canonical(path);
  fs::path file = dir / ".kcat" / "lock";
  try {
    file = patch::GitRepo::open(dir).common_dir() / "kcat.lock";
  } catch (const Error&) {
    // not a repository yet (migrate --init makes one)
  }
  return RepoLock::acquire(file);
}

std::vector<std::string> recover(patch::GitRepo& repo) {
  std::vector<std::string> done;
  auto root = fs::canonical(repo.workdir());
  abort_kcat_rebase(repo, root, done);
  put_back_interrupted_step(repo, root, done);
  keep_unfinished_agent_step(repo, root, done);
  return done;
}

RepoLock lock_and_recover(const fs::path& path) {
  auto lock = lock_repository(path);
  std::error_code ec;
  if (!lock.held() || !fs::is_directory(path, ec)) return lock;
  std::optional<patch::GitRepo> repo;
  try {
    repo.emplace(patch::GitRepo::open(fs::canonical(path)));
  } catch (const Error&) {
    return lock;  // not a repository: nothing kcat left in it
  }
  if (repo->workdir().empty()) return lock;
  for (auto& line : recover(*repo)) std::cerr << "kcat: recovered: " << line << "\n";
  return lock;
}

}  // namespace kcat::migrate
