// resume: what an interrupted run left (its ledger), and putting back the files of a step that
// was cut off before its commit. The kill-point hook tests use to interrupt a run on purpose.
#include <algorithm>

#include "kcat/migrate/phases.h"
#include "kcat/report/runs.h"

namespace kcat::migrate {

namespace fs = std::filesystem;

namespace {

std::vector<nlohmann::json> ledger_of(const fs::path& root, const std::string& run) {
  return report::Ledger::read(root / ".kcat" / "runs" / run / "ledger.jsonl");
}

}  // namespace

std::string unfinished_run(const fs::path& root) {
  auto runs = report::list_runs(root);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    auto events = ledger_of(root, *it);
    bool finished = std::any_of(events.begin(), events.end(),
                                [](auto& e) { return e.value("type", "") == "run-finished"; });
    if (!finished) return *it;
  }
  return {};
}

std::vector<std::string> roll_back_interrupted_step(patch::GitRepo& repo,
                                                    const std::vector<nlohmann::json>& previous,
                                                    std::vector<std::string> dirty) {
  auto split = patch::split_dirty(repo, dirty, patch::journal_of_ledger(previous));
  repo.restore_from_head(split.kcat);
  return split.user;
}

std::string earlier_base(const fs::path& root, const std::string& branch,
                         const std::vector<nlohmann::json>& previous, std::string base) {
  auto earlier = previous;
  if (earlier.empty()) {
    auto runs = report::list_runs(root);
    for (auto it = runs.rbegin(); it != runs.rend() && earlier.empty(); ++it) {
      for (auto& e : ledger_of(root, *it)) {
        if (e.value("type", "") == "run-started" && e.value("branch", "") == branch) earlier.push_back(e);
      }
    }
  }
  for (auto& e : earlier) {
    if (e.value("type", "") == "run-started") base = e.value("base", base);
  }
  return base;
}

StepBook restore_steps(const std::vector<nlohmann::json>& previous) {
  StepBook book;
  for (auto& e : previous) {
    auto type = e.value("type", "");
    if (type != "step-committed" && type != "step-failed" && type != "step-declined") continue;
    book.attempted.insert(e.value("key", ""));
    report::StepRecord r;
    r.id = e.value("step", "");
    r.title = e.value("title", "");
    r.action = "codemod";
    r.status = type == "step-committed" ? "done" : type == "step-declined" ? "declined" : "failed";
    r.commit = e.value("commit", "");
    r.reason = e.value("reason", "");
    book.records[e.value("key", "")] = r;
  }
  return book;
}

}  // namespace kcat::migrate
