// report: from a final scan of the migrated tree, the plan of what is left (plan.json, with the
// environment routes), every site (fixed, and by what; or left, and for whom) and every step.
#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/json.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/route.h"
#include "kcat/migrate/agent_setup.h"
#include "kcat/migrate/optimize_phase.h"
#include "kcat/migrate/phases.h"
#include "kcat/patch/semantic_check.h"

namespace kcat::migrate {

namespace {

std::string how_left(const Finding& f) {
  switch (plan::action_for(f)) {
    case plan::Action::Recipe:
      return "recipe:" + f.recipe;
    case plan::Action::Llm:
      return "llm";
    default:
      return "manual";
  }
}

// The report's step a finding left belongs to ("" when none): the agent task it was given to (by file,
// rule and matched text: its line may have moved), else the final plan's step that covers it (named
// by name_steps: as its record is when the step ran).
std::string step_of(const StepBook& book, const plan::Plan& plan, const Finding& f) {
  for (auto& [task, findings] : book.agent_tasks) {
    for (auto& g : findings) {
      if (g.file == f.file && g.rule_id == f.rule_id && g.matched == f.matched) return task;
    }
  }
  for (auto& s : plan.steps) {
    for (auto& g : s.findings) {
      if (g.file == f.file && g.rule_id == f.rule_id && g.span.start.line == f.span.start.line &&
          g.span.start.column == f.span.start.column) {
        return s.id;
      }
    }
  }
  return "";
}

void add_sites(Run& r, const std::vector<Finding>& final_findings, const plan::Plan& final_plan) {
  auto& rep = r.out.report;
  rep.sites = r.book.fixed;
  for (auto& [step, entry] : r.book.llm_fixed) {
    for (auto& f : entry.first) {
      if (!still_found(f, final_findings)) rep.sites.push_back({f, "fixed", "llm", step, entry.second});
    }
  }
  for (auto& [f, why] : r.not_editable) {
    if (f.severity != Severity::Info) rep.sites.push_back({f, "left", why, "", ""});
  }
  for (auto& f : r.unported) rep.sites.push_back({f, "left", "manual", "", ""});
  // Routed once, as the plan, scan and status route them (plan::route_all): a note is found, not work.
  auto routed = plan::route_all(final_findings, r.p.root);
  for (size_t i = 0; i < final_findings.size(); ++i) {
    auto& f = final_findings[i];
    auto standing = plan::standing_of(routed[i]);
    if (standing == plan::Standing::Note) {
      rep.sites.push_back({routed[i], "note", "", "", ""});
      continue;
    }
    // In shim mode, what transfer_to_npu maps at run time is covered; the rest (its gaps and
    // everything it never touches) stays a finding.
    if (r.o.mode == "shim" && covered_by_shim(f)) {
      rep.sites.push_back({f, "fixed", "shim:transfer_to_npu", "shim-1", ""});
      continue;
    }
    // A site a recipe keeps as it is (a Triton kernel on triton-ascend): handled by the recipe,
    // with what it relies on as its action.
    if (const auto* keep = standing == plan::Standing::Kept ? plan::keeping_recipe(routed[i]) : nullptr) {
      Finding kept = f;
      kept.action = keep->site_action;
      rep.sites.push_back({kept, "fixed", "recipe:" + keep->id, "", ""});
      continue;
    }
    rep.sites.push_back({f, "left", how_left(f), step_of(r.book, final_plan, f), ""});
  }
}

// A plan step nothing ran: pending, or for a person, with the reason.
report::StepRecord left_step(const plan::Step& s, const kb::RecipeSet& recipes) {
  report::StepRecord r;
  r.id = s.id;
  r.title = s.title;
  r.action = plan::to_string(s.action);
  r.status = s.action == plan::Action::Manual ? "needs-person" : "pending";
  if (s.status == plan::Status::Skipped) {  // moot on the chosen route (plan::add_routes)
    r.status = "skipped";
    r.reason = s.status_reason;
    return r;
  }
  const auto* rc = s.action == plan::Action::Recipe ? recipes.find(s.recipe) : nullptr;
  r.reason = s.extension ? s.rationale
             : s.action == plan::Action::Llm
                 ? "no LLM configured (set [llm] in kcat.toml or KCAT_LLM_BASE_URL)"
             : s.action != plan::Action::Recipe ? "needs a person: " + s.rationale
             : !rc ? "no recipe " + s.recipe + " in the knowledge base yet: needs an LLM or a person"
             : rc->kind == "agent" ? "recipe " + s.recipe +
                                         " is a task for the LLM agent: no LLM configured (set [llm] in "
                                         "kcat.toml or KCAT_LLM_BASE_URL)"
             : rc->kind == "performance"
                 ? "recipe " + s.recipe + " is tried by the optimize phase"
                 : "recipe " + s.recipe + " did not match this code: needs an LLM or a person";
  return r;
}

void add_steps(Run& r, const plan::Plan& final_plan) {
  auto& rep = r.out.report;
  auto& book = r.book;
  for (auto& [key, rec] : book.records) {
    if (std::find(book.order.begin(), book.order.end(), key) == book.order.end()) rep.steps.push_back(rec);
  }
  for (auto& key : book.order) rep.steps.push_back(book.records[key]);
  for (auto& rec : book.agent_records) rep.steps.push_back(rec);
  for (auto& s : final_plan.steps) {
    if (s.action == plan::Action::Codemod) continue;
    if (std::any_of(book.agent_records.begin(), book.agent_records.end(),
                    [&](auto& a) { return a.id == s.id || a.id.starts_with(s.id + "/"); }))
      continue;
    rep.steps.push_back(left_step(s, r.env.recipes));
  }
}

// The line a names-check reason names: "file:12: ..." or "... `x` (line 12)"; 1 when neither.
uint32_t reason_line(const std::string& file, const std::string& why) {
  auto digits = [&](size_t at) {
    uint32_t line = 0;
    while (at < why.size() && why[at] >= '0' && why[at] <= '9') line = line * 10 + (why[at++] - '0');
    return line;
  };
  uint32_t line = why.rfind(file + ":", 0) == 0 ? digits(file.size() + 1) : 0;
  if (auto at = why.find("(line "); !line && at != std::string::npos) line = digits(at + 6);
  return line ? line : 1;
}

// What the run's commits broke (issue 12): each Python file changed since the run's base, through
// the gate's names check against its bytes at the base (an import that does not resolve, a kcat
// module the file cannot reach, a name left undefined). Only what the port added counts; the files
// the port created are its own modules. Each is a blocking site: the outcome is never `done` while
// one exists.
std::vector<Finding> introduced_breakage(Run& r) {
  std::vector<Finding> out;
  if (r.p.base.empty()) return out;
  std::vector<std::string> changed, placed;
  try {
    changed = r.p.repo.changed_files(r.p.base, "HEAD");
  } catch (const Error&) {
    return out;  // no base commit to compare with (a repository made by --init has one)
  }
  std::map<std::string, std::string> old;
  for (auto& f : changed) {
    auto was = r.p.repo.file_at(r.p.base, f);
    if (!was) placed.push_back(f);
    old[f] = was.value_or("");
  }
  for (auto& f : changed) {
    if (!f.ends_with(".py")) continue;
    auto now = r.p.repo.file_at("HEAD", f);
    if (!now) continue;
    auto why = patch::names_check(r.p.root, f, old[f], *now, placed);
    if (!why) continue;
    Finding b;
    b.rule_id = "kcat.introduced-breakage";
    b.category = "import";
    b.severity = Severity::Blocking;
    b.file = f;
    b.span.start.line = b.span.stop.line = reason_line(f, *why);
    b.span.start.column = b.span.stop.column = 1;
    b.matched = f;
    b.message = "kcat's port broke this file: " + *why;
    b.action = "fix the import or name, or revert the kcat commit that changed " + f + " (git log " +
               r.p.base.substr(0, 12) + "..HEAD -- " + f + ")";
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

std::vector<Finding> report_phase(Run& r) {
  auto final_scan = r.scan();
  auto final_plan = plan::make_plan(final_scan.findings, r.out.report.repo, r.o.target, r.p.root);
  plan::add_extensions(final_plan, plan::find_cuda_extensions(r.p.root),
                       r.o.use_llm && r.env.config.llm.configured(), !r.env.config.remote.host.empty());
  name_steps(final_plan, r.book);  // the extension items too; the route's step has its own name
  plan::add_routes(final_plan, r.p.root, kb::load_routes(kb::default_data_dir() / "routes"), r.o.route);
  if (!r.framework_note.empty()) {
    // first among the notes (push_back + rotate: GCC 12 reports a false null dereference in insert)
    final_plan.notes.push_back(r.framework_note);
    std::rotate(final_plan.notes.begin(), final_plan.notes.end() - 1, final_plan.notes.end());
  }
  nlohmann::json plan_json = final_plan;
  // The plan's performance phase, as `kcat plan` shows it (the optimize phase runs it; not a step here).
  plan_json["steps"].push_back(performance_step(r.p.root, r.env.config, final_scan.findings));
  write_file_atomic(r.run_dir / "plan.json", json_text(plan_json, 2));
  write_file_atomic(r.p.root / ".kcat" / "plan.json", json_text(plan_json, 2));
  add_sites(r, final_scan.findings, final_plan);
  for (auto& b : introduced_breakage(r)) {
    r.ledger->append("introduced-breakage", {{"file", b.file}, {"reason", b.message}});
    r.out.report.sites.push_back({b, "left", "manual", "", ""});
  }
  for (auto& s : final_scan.suppressed) {
    r.out.report.sites.push_back(
        {s.finding, "suppressed",
         s.by == "option"
             ? "--select/--exclude"
             : "kcat: ignore" + (s.reason.empty() ? std::string(" (no reason given)") : ": " + s.reason),
         "", ""});
  }
  add_steps(r, final_plan);
  return final_scan.findings;
}

}  // namespace kcat::migrate
