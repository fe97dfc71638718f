// update: the nightly case. Upstream moved on: replay kcat's commits onto it, then the port phases
// port what is new.
#include "kcat/core/error.h"
#include "kcat/migrate/phases.h"
#include "kcat/report/runs.h"

namespace kcat::migrate {

std::string upstream_of(const patch::GitRepo& repo, const std::filesystem::path& root,
                        const std::string& branch) {
  // The run records (git-ignored, so only in the checkout that ran kcat): the newest run on the
  // branch that started from another branch. A rerun on the branch itself records the branch as
  // where it started, and is passed over.
  auto runs = report::list_runs(root);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    std::string from;
    for (auto& e : report::Ledger::read(root / ".kcat" / "runs" / *it / "ledger.jsonl")) {
      if (e.value("type", "") == "run-started" && e.value("branch", "") == branch) {
        auto f = e.value("from_branch", "");
        if (!f.empty() && f != branch) from = f;
      }
    }
    if (!from.empty()) return from;
  }
  // The branch itself (a fresh clone): the newest of kcat's commits that names its upstream.
  if (!repo.branch_exists(branch)) return {};
  for (auto& c : repo.log(branch)) {
    auto t = c.trailers.find("Kcat-Upstream");
    if (t != c.trailers.end() && !t->second.empty() && t->second != branch) return t->second;
  }
  return {};
}

void carry_forward(Prepared& p, const std::string& onto) {
  if (!p.repo.branch_exists(p.branch)) {
    throw Error(ErrorKind::Usage, "nothing to update: there is no branch " + p.branch, p.root.string(),
                "run `kcat migrate` first; in a fresh clone, make the local branch from the pushed one: `git "
                "fetch origin " +
                    p.branch + ":" + p.branch + "`");
  }
  p.update_onto = onto.empty() ? upstream_of(p.repo, p.root, p.branch) : onto;
  if (p.update_onto.empty() || p.update_onto == p.branch) {
    throw Error(ErrorKind::Usage,
                "nothing to update: neither the run records (.kcat/runs) nor the Kcat-Upstream trailers of " +
                    p.branch + "'s commits say which branch it was ported from",
                p.root.string(), "name the upstream with --onto REV (e.g. --onto main)");
  }
  if (p.repo.current_branch() != p.branch) p.repo.checkout(p.branch);
  p.replayed = p.repo.rebase_onto(p.branch, p.update_onto, [] { kill_point("rebase-commit"); });
  p.base = p.repo.log(p.update_onto, "", 1).at(0).id;
}

}  // namespace kcat::migrate
