// The migration: its phases in order, each in its own file (phases.h).
#include <algorithm>

#include <fmt/format.h>

#include "kcat/core/cancel.h"
#include "kcat/core/events.h"
#include "kcat/core/fs.h"
#include "kcat/migrate/optimize_phase.h"
#include "kcat/migrate/phases.h"
#include "kcat/report/runs.h"

namespace kcat::migrate {

void optimize_after_port(Run& r, const std::vector<Finding>& findings) {
  // The last phase: with a benchmark configured ([bench] in kcat.toml), optimize until the target.
  if (!r.o.optimize || r.out.budget_exhausted || !optimize_configured(r.env.config, {})) return;
  OptimizeOverrides ov;
  ov.use_llm = r.o.use_llm;
  if (r.p.from_branch != r.p.branch) ov.upstream = r.p.from_branch;
  ov.progress = r.o.progress;
  if (r.o.max_minutes > 0) ov.max_minutes = std::max(0.1, r.o.max_minutes - r.minutes_used());
  auto opt = optimize_phase(r.p.repo, r.env.config, ov, findings, r.run_id, *r.ledger, r.out.report);
  r.out.optimized = true;
  r.out.target_missed = opt.target && !opt.target_met;
  r.out.changed_anything =
      r.out.changed_anything || std::any_of(opt.iterations.begin(), opt.iterations.end(),
                                            [](auto& it) { return it.outcome == "kept"; });
}

void finish(Run& r) {
  auto& rep = r.out.report;
  auto totals = rep.totals();
  rep.outcome = r.out.budget_exhausted                 ? "budget-exhausted"
                : totals.blocking_left                 ? "findings-left"
                : r.out.target_missed                  ? "target-missed"
                : r.out.optimized && rep.target_metric ? "target-met"
                                                       : "done";
  report::write_run_report(r.p.root, r.run_dir, rep);
  // A budget stop is a pause: no run-finished, so `--resume` picks this run up again.
  r.ledger->append(r.out.budget_exhausted ? "run-paused" : "run-finished",
                   {{"outcome", rep.outcome},
                    {"fixed", totals.fixed_by_codemod},
                    {"left", totals.found - totals.fixed_by_codemod},
                    {"blocking_left", totals.blocking_left}});
  events::emit("migrate-finished",
               {{"run", r.run_id}, {"outcome", rep.outcome}, {"blocking_left", totals.blocking_left}});
}

Outcome run(const Options& o) {
  auto started = std::chrono::steady_clock::now();
  auto prepared = prepare(o);
  if (prepared.worktree) {
    Options inner = o;
    inner.path = *prepared.worktree / prepared.within;
    inner.allow_dirty = false;
    inner.init = false;
    return run(inner);
  }
  Run r(o, std::move(prepared), started);
  open_run(r);
  try {
    if (framework_phase(r)) {
      // configured, not patched: no port and no agent
    } else {
      if (o.mode == "shim") {
        port_with_shim(r);
      } else {
        port_with_rules(r);
        cancel::throw_if_requested();
        fallback_phase(r);
      }
      cancel::throw_if_requested();
      agent_phase(r);
    }
    cancel::throw_if_requested();
    requirements_phase(r);
    cancel::throw_if_requested();
    auto findings = report_phase(r);
    cancel::throw_if_requested();
    optimize_after_port(r, findings);
  } catch (const cancel::Interrupted& e) {
    // No run-finished: the run stays the one `--resume` continues.
    size_t committed = 0;
    for (auto& [key, rec] : r.book.records) committed += !rec.commit.empty();
    r.ledger->append("run-interrupted", {{"signal", e.signal()}, {"step", r.current_step}});
    throw cancel::Interrupted(
        e.detail().empty()
            ? fmt::format("between steps; the {} step(s) committed stay on {}", committed, r.p.branch)
            : fmt::format("{}; the {} step(s) committed stay on {}", e.what(), committed, r.p.branch));
  }
  finish(r);
  return std::move(r.out);
}

}  // namespace kcat::migrate
