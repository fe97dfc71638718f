// update: the nightly case. Upstream moved on: replay kcat's commits onto it, then the port phases
// port what is new.
#include "kcat/core/error.h"
#include "kcat/migrate/phases.h"
#include "kcat/report/runs.h"

namespace kcat::migrate {

namespace {

// The branch the latest migration on `branch` started from (its run-started event).
std::string started_from(const std::filesystem::path& root, const std::string& branch) {
  std::string from_branch;
  auto runs = report::list_runs(root);
  for (auto it = runs.rbegin(); it != runs.rend() && from_branch.empty(); ++it) {
    for (auto& e : report::Ledger::read(root / ".kcat" / "runs" / *it / "ledger.jsonl")) {
      if (e.value("type", "") == "run-started" && e.value("branch", "") == branch) {
        from_branch = e.value("from_branch", "");
      }
    }
  }
  return from_branch;
}

}  // namespace

void carry_forward(Prepared& p, const std::string& onto) {
  p.update_onto = onto.empty() ? started_from(p.root, p.branch) : onto;
  if (!p.repo.branch_exists(p.branch) || p.update_onto.empty() || p.update_onto == p.branch) {
    throw Error(ErrorKind::Usage,
                "nothing to update: no earlier migration on " + p.branch + " to carry forward",
                p.root.string(), "run `kcat migrate` first, or name the upstream with --onto REV");
  }
  if (p.repo.current_branch() != p.branch) p.repo.checkout(p.branch);
  p.replayed = p.repo.rebase_onto(p.branch, p.update_onto, [] { kill_point("rebase-commit"); });
  p.base = p.repo.log(p.update_onto, "", 1).at(0).id;
}

}  // namespace kcat::migrate
