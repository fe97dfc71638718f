// environment: what a run works with (kcat.toml, rules, knowledge base, recipes), and the run
// itself: its id, its ledger, its clock.
#include "kcat/config/common.h"
#include "kcat/core/events.h"
#include "kcat/kb/data_dir.h"
#include "kcat/migrate/phases.h"
#include "kcat/report/runs.h"

namespace kcat::migrate {

Environment load_environment(const std::filesystem::path& root, const Options& o) {
  Environment env;
  env.rules = cli::load_rule_catalog(o.rules);
  if (o.mode == "shim") kb::merge_rules(env.rules, kb::load_rules(kb::default_data_dir() / "shim").rules);
  env.kb = cli::load_knowledge_base();
  env.recipes = kb::load_recipes(kb::default_data_dir() / "recipes");
  env.config = cli::load_config(root, o.config);
  return env;
}

Run::Run(const Options& options, Prepared prepared, std::chrono::steady_clock::time_point t0)
    : o(options), p(std::move(prepared)), started(t0) {}

scan::ScanResult Run::scan() const {
  scan::ScanOptions so;
  so.root = p.root;
  so.use_cache = o.use_cache;
  so.filter = o.filter;
  auto r = scan::scan(so, env.rules);
  env.kb.annotate(r.findings);
  not_editable = patch::EditScope(p.repo, p.within).take_not_editable(r.findings);
  return r;
}

double Run::minutes_used() const {
  return std::chrono::duration<double, std::ratio<60>>(std::chrono::steady_clock::now() - started).count();
}

bool Run::over_budget() const { return o.max_minutes > 0 && minutes_used() >= o.max_minutes; }

void open_run(Run& r) {
  bool fresh_run = r.p.resumed_run.empty();
  r.run_id = fresh_run ? report::make_run_id() : r.p.resumed_run;
  r.run_dir = r.p.root / ".kcat" / "runs" / r.run_id;
  r.ledger = std::make_unique<report::Ledger>(r.run_dir / "ledger.jsonl");
  r.ledger->append(fresh_run ? "run-started" : "run-resumed", {{"repo", r.p.root.string()},
                                                               {"target", r.o.target},
                                                               {"branch", r.p.branch},
                                                               {"base", r.p.base},
                                                               {"mode", r.o.mode},
                                                               {"from_branch", r.p.from_branch}});
  if (r.o.update) {
    r.ledger->append("rebased", {{"onto", r.p.update_onto}, {"base", r.p.base}, {"replayed", r.p.replayed}});
  }
  events::emit("migrate-started", {{"run", r.run_id}, {"branch", r.p.branch}, {"target", r.o.target}});
  r.env = load_environment(r.p.root, r.o);
  r.book = restore_steps(r.p.previous);
  r.out.run_dir = r.run_dir;
  auto& rep = r.out.report;
  rep.run_id = r.run_id;
  rep.repo = r.p.root.filename().string();
  rep.target = r.o.target;
  rep.branch = r.p.branch;
  rep.base_commit = r.p.base;
  rep.config = cli::describe_sources(r.env.config);
  r.ledger->append("config", {{"files", rep.config}});
}

}  // namespace kcat::migrate
