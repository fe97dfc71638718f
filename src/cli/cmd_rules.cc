// kcat rules list | show ID: the rule catalog, each rule documented on its own.
#include <fmt/format.h>

#include <iostream>

#include "kcat/cli/command.h"
#include "kcat/config/common.h"
#include "kcat/core/json.h"

namespace kcat::cli {
namespace {

struct RulesCmd {
  std::string id;
  std::string language;
  std::vector<std::string> rules;
};

void list(const RulesCmd& o) {
  auto set = load_rule_catalog(o.rules);
  std::cout << fmt::format("{:<28} {:<9} {:<14} {:<24} {}\n", "ID", "SEVERITY", "CATEGORY", "LANGUAGES",
                           "FIX");
  for (auto& r : set.rules) {
    if (!o.language.empty() && !r.applies_to(o.language)) continue;
    std::string langs;
    for (auto& l : r.languages) langs += (langs.empty() ? "" : ",") + l;
    std::string fix = !r.codemod.empty() ? "codemod" : !r.recipe.empty() ? "recipe " + r.recipe : "-";
    std::cout << fmt::format("{:<28} {:<9} {:<14} {:<24} {}\n", r.id, to_string(r.severity), r.category,
                             langs, fix);
  }
  std::cout << fmt::format("\n{} rules from {}; `kcat rules show ID` for one\n", set.rules.size(),
                           "patches/rules/");
}

void show(const RulesCmd& o) {
  auto set = load_rule_catalog(o.rules);
  auto* r = set.find(o.id);
  if (!r) {
    throw Error(ErrorKind::Usage, "no rule '" + o.id + "'", "", "`kcat rules list` shows every rule id");
  }
  std::string langs;
  for (auto& l : r->languages) langs += (langs.empty() ? "" : ", ") + l;
  std::cout << fmt::format("{}\n  {}\n\n", r->id, r->message);
  std::cout << fmt::format("  severity   {}\n  category   {}\n  languages  {}\n  matcher    {}\n",
                           to_string(r->severity), r->category, langs, r->matcher);
  if (!r->match.is_null()) std::cout << fmt::format("  match      {}\n", json_text(r->match));
  if (!r->pattern.empty()) std::cout << fmt::format("  pattern    {}\n", r->pattern);
  if (!r->query.empty()) std::cout << fmt::format("  query      {}\n", r->query);
  if (!r->action.empty()) std::cout << fmt::format("  action     {}\n", r->action);
  if (!r->codemod.empty()) {
    std::cout << fmt::format("  codemod    {}{}\n", r->codemod,
                             r->replacement.empty() ? "" : " -> " + r->replacement);
  }
  if (!r->recipe.empty()) std::cout << fmt::format("  recipe     {}\n", r->recipe);
  std::cout << fmt::format("  source     {}\n  defined in {}\n", r->source, r->origin);
  for (auto& e : r->examples) std::cout << "  matches:\n    " << e << "\n";
  for (auto& e : r->counter_examples) std::cout << "  does not match:\n    " << e << "\n";
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<RulesCmd>();
  auto* cmd = root.add_subcommand(
      "rules", "The rule catalog (data in patches/rules/; add your own with --rules FILE)");
  cmd->require_subcommand(1);
  cmd->add_option("--rules", o->rules, "Extra rule file (TOML, repeatable)");
  auto* ls = cmd->add_subcommand("list", "Every rule: id, severity, category, languages, fix");
  ls->add_option("--language", o->language, "Only rules for this language");
  ls->callback([o, &g] {
    list(*o);
    g.exit_code = 0;
  });
  auto* sh = cmd->add_subcommand("show", "One rule in full: what it matches, why, what to do, its source");
  sh->add_option("id", o->id, "Rule id")->required();
  sh->callback([o, &g] {
    show(*o);
    g.exit_code = 0;
  });
}

}  // namespace

KCAT_COMMAND(setup, 15);

}  // namespace kcat::cli
