// codemods: the plan's next codemod step and its patch; and the loop that ports with rules
// (codemods first, then port recipes), re-scanning and re-planning after every step.
#include <fmt/format.h>

#include "kcat/migrate/phases.h"
#include "kcat/patch/codemod.h"

namespace kcat::migrate {

namespace {

std::string step_message(const plan::Step& s, const std::vector<Finding>& applied,
                         const std::string& target) {
  std::map<std::string, size_t> by_rule;
  for (auto& f : applied)
    ++by_rule[f.rule_id + ": " + f.message + (f.replacement.empty() ? "" : " -> " + f.replacement)];
  std::string msg = fmt::format("kcat: {} for {}\n\n", s.title, target);
  msg += "What changed, and why (each change is a rule's codemod; see `kcat rules show ID`):\n";
  for (auto& [what, n] : by_rule) msg += fmt::format("- {} ({}x)\n", what, n);
  return msg;
}

}  // namespace

std::string step_key(const plan::Step& s) {
  return std::string(plan::to_string(s.phase)) + "/" + plan::to_string(s.action) + "/" + s.recipe;
}

void name_steps(plan::Plan& plan, StepBook& book) {
  for (auto& [key, rec] : book.records) book.ids.emplace(key, rec.id);  // a resumed run's records
  std::set<std::string> taken;
  for (auto& [key, id] : book.ids) taken.insert(id);
  std::set<std::string> keys;  // this plan's: a key twice would give two steps one id
  for (auto& s : plan.steps) {
    // One item per extension, and per build file: two setup.py files may build modules of one name.
    auto key = step_key(s) + (s.extension ? "/" + s.extension->name + "@" + s.extension->build_file : "");
    while (!keys.insert(key).second) key += "+";
    if (auto known = book.ids.find(key); known != book.ids.end()) {
      s.id = known->second;
      continue;
    }
    if (taken.count(s.id)) {
      int n = 1;
      while (taken.count(fmt::format("{}-{}", plan::to_string(s.phase), n))) ++n;
      s.id = fmt::format("{}-{}", plan::to_string(s.phase), n);
    }
    book.ids[key] = s.id;
    taken.insert(s.id);
  }
}

plan::Plan run_plan(Run& r, const std::vector<Finding>& findings) {
  auto pl = plan::make_plan(findings, r.out.report.repo, r.o.target, r.p.root);
  name_steps(pl, r.book);
  return pl;
}

const plan::Step* next_codemod(const plan::Plan& plan, const std::set<std::string>& attempted) {
  for (auto& s : plan.steps) {
    if (s.action == plan::Action::Codemod && !attempted.count(step_key(s))) return &s;
  }
  return nullptr;
}

StepWork codemod_work(const plan::Step& step, const std::filesystem::path& root, const std::string& target) {
  StepWork w{step_key(step), step.id, step.title, {}, {}, {}, {}};
  w.patch = patch::codemod_patch(root, step.findings, &w.applied, &w.unported);
  w.patch.message = step_message(step, w.applied, target);
  return w;
}

void port_with_rules(Run& r) {
  // Re-scan and re-plan after every step: earlier edits move the byte offsets of later ones.
  for (int guard = 0; guard < 32; ++guard) {
    if (r.over_budget()) {
      r.out.budget_exhausted = true;
      r.ledger->append("budget-exhausted", {{"max_minutes", r.o.max_minutes}});
      break;
    }
    auto scanned = r.scan();
    auto pl = run_plan(r, scanned.findings);
    if (const auto* next = next_codemod(pl, r.book.attempted)) {
      r.book.attempted.insert(step_key(*next));
      run_step(r, codemod_work(*next, r.p.root, r.o.target));
      continue;
    }
    // Then the port recipes (kind = "port") the plan names, once the codemods are done.
    auto choice = next_port_recipe(pl, r.book.attempted, r.env.recipes, r.p.root, scanned.findings);
    if (!choice) break;
    r.book.attempted.insert(step_key(*choice->step));
    auto w = recipe_work(*choice, r.p.root, scanned.findings, r.o.target);
    r.ledger->append("recipe-applying", {{"recipe", w.recipe_id}, {"edits", w.patch.edits.size()}});
    run_step(r, w);
  }
}

}  // namespace kcat::migrate
