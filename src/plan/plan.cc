#include "kcat/plan/plan.h"

#include <fmt/format.h>

#include <cstring>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

#include "kcat/core/cuda_files.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/phases.h"
#include "kcat/scan/scanner.h"

namespace kcat::plan {

const char* to_string(Phase p) noexcept {
  switch (p) {
    case Phase::Environment:
      return "environment";
    case Phase::DeviceApi:
      return "device-api";
    case Phase::Distributed:
      return "distributed";
    case Phase::AttentionFusedOps:
      return "attention";
    case Phase::CustomKernelsBuild:
      return "kernels-build";
    case Phase::Performance:
      return "performance";
  }
  return "device-api";
}

const char* to_string(Action a) noexcept {
  switch (a) {
    case Action::Codemod:
      return "codemod";
    case Action::Recipe:
      return "recipe";
    case Action::Llm:
      return "llm";
    case Action::Manual:
      return "manual";
  }
  return "manual";
}

const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::Pending:
      return "pending";
    case Status::Done:
      return "done";
    case Status::Failed:
      return "failed";
    case Status::Skipped:
      return "skipped";
    case Status::NeedsPerson:
      return "needs-person";
  }
  return "pending";
}

namespace {

constexpr Phase kPhases[] = {Phase::Environment,       Phase::DeviceApi,          Phase::Distributed,
                             Phase::AttentionFusedOps, Phase::CustomKernelsBuild, Phase::Performance};

// patches/phases.toml, loaded once; its ids checked against the plan's phases.
const kb::PhaseMap& shipped_phases() {
  static const kb::PhaseMap m = [] {
    std::vector<std::string> ids;
    for (Phase p : kPhases) ids.push_back(to_string(p));
    return kb::load_phase_map(kb::default_data_dir(), ids);
  }();
  return m;
}

Phase phase_named(std::string_view id) {
  for (Phase p : kPhases) {
    if (id == to_string(p)) return p;
  }
  return Phase::DeviceApi;  // unreachable: load_phase_map refused any other id
}

Phase phase_of(const Finding& f) { return phase_named(shipped_phases().phase_of(f.category, f.recipe)); }

}  // namespace

Phase phase_for_category(std::string_view c) { return phase_named(shipped_phases().phase_of_category(c)); }

namespace {

// Source code (the scan's one extension table): Python, notebooks, CUDA and C++.
bool is_code(const std::string& file) {
  auto lang = scan::language_of(file);
  return lang == "python" || lang == "notebook" || lang == "cuda" || lang == "cpp";
}

std::string title_for(Phase p, Action a, const std::string& recipe) {
  static const std::map<Phase, std::string> names = {
      {Phase::Environment, "environment (requirements, packages, images)"},
      {Phase::DeviceApi, "device API (torch.cuda, device strings, environment variables)"},
      {Phase::Distributed, "distributed backend (NCCL -> HCCL)"},
      {Phase::AttentionFusedOps, "attention and fused operators"},
      {Phase::CustomKernelsBuild, "custom kernels and build"},
      {Phase::Performance, "performance"}};
  switch (a) {
    case Action::Codemod:
      return "Port " + names.at(p) + " by codemod";
    case Action::Recipe:
      return "Apply recipe " + recipe + " (" + names.at(p) + ")";
    case Action::Llm:
      return "Port by reading the code (LLM agent): " + names.at(p);
    case Action::Manual:
      return "For a person: " + names.at(p);
  }
  return names.at(p);
}

std::string verification_for(Action a) {
  switch (a) {
    case Action::Codemod:
      return "re-parse every changed file (no new syntax errors), python3 compile, re-scan";
    case Action::Recipe:
      return "re-parse, python3 compile, re-scan; numerically compare outputs on the NPU";
    case Action::Llm:
      return "each edit through the same gate; the step ends when its findings are gone";
    case Action::Manual:
      return "a person checks it; re-scan shows what is left";
  }
  return "";
}

}  // namespace

const kb::AdviceSet& shipped_advice() { return kb::shipped_advice(); }

namespace {

std::string top_name(const std::string& dotted) {
  auto dot = dotted.find('.');
  return dot == std::string::npos ? dotted : dotted.substr(0, dot);
}

// The repository's own top-level packages, as its findings' files show them: "pkg/..." or
// "src/pkg/...".
std::set<std::string> own_packages_of(const std::vector<Finding>& findings) {
  std::set<std::string> out;
  for (const auto& f : findings) {
    auto rel = f.file.starts_with("src/") ? f.file.substr(4) : f.file;
    auto slash = rel.find('/');
    if (slash != std::string::npos && slash > 0) out.insert(rel.substr(0, slash));
  }
  return out;
}

}  // namespace

const kb::RecipeSet& shipped_recipes() {
  static const kb::RecipeSet set = kb::load_recipes(kb::default_data_dir() / "recipes");
  return set;
}

namespace {

const kb::Recipe* outcome_recipe(const Finding& f) {
  if (f.recipe.empty()) return nullptr;
  const auto* r = shipped_recipes().find(f.recipe);
  return r && !r->outcome.empty() ? r : nullptr;
}

// A recipe that changes no code says what its sites are: kept (a note) or left (for a person).
Finding with_outcome(Finding f) {
  if (const auto* r = outcome_recipe(f)) {
    if (r->outcome == "kept") f.severity = Severity::Info;
    f.action = r->site_action;
  }
  return f;
}

}  // namespace

const kb::Recipe* keeping_recipe(const Finding& f) {
  const auto* r = outcome_recipe(f);
  return r && r->outcome == "kept" ? r : nullptr;
}

Finding routed(Finding f, const kb::AdviceSet& advice, const std::set<std::string>& own_packages) {
  if (f.rule_id == "py.sdpa-float-mask") {
    f.severity = Severity::Info;
    f.recipe.clear();  // a performance recipe (kcat optimize), not a port
    f.action =
        "no change needed to run: SDPA takes a float mask of the query's dtype on the NPU (slower path); "
        "kcat optimize may try npu_prompt_flash_attention where it is inference-only (recipe "
        "sdpa-float-mask-to-pfa)";
    return f;
  }
  if (f.rule_id != "py.cuda-only-import" && f.rule_id != "py.cuda-only-use")
    return with_outcome(std::move(f));
  auto pkg = kb::cuda_only_package(f.matched);
  if (own_packages.count(pkg)) {
    f.severity = Severity::Info;
    f.recipe.clear();
    f.action = "the repository's own package " + pkg + ", not a CUDA-only import";
    return f;
  }
  const auto* a = advice.find(pkg);
  if (!a) {
    if (pkg != "flash_attn") f.recipe.clear();  // the flash-attn recipe ports flash_attn only
    return f;
  }
  f.recipe = a->recipe;
  bool guarded = f.severity != Severity::Blocking;
  if (guarded && a->guarded_no_change) {
    f.severity = Severity::Info;
    f.action = a->guarded + " (" + a->source + ")";
  } else {
    f.action = (guarded && !a->guarded.empty() ? a->guarded : a->advice) + " (" + a->source + ")";
  }
  return with_outcome(std::move(f));
}

std::vector<Finding> route_all(std::vector<Finding> findings, const std::filesystem::path& root) {
  auto own = own_packages_of(findings);
  std::error_code ec;
  for (const auto& top : {root, root / "src"}) {
    if (root.empty() || !std::filesystem::is_directory(top, ec)) continue;
    for (const auto& e : std::filesystem::directory_iterator(top, ec)) {
      if (e.is_directory(ec) && std::filesystem::exists(e.path() / "__init__.py", ec))
        own.insert(e.path().filename().string());
    }
  }
  for (auto& f : findings) f = routed(std::move(f), shipped_advice(), own);
  return findings;
}

Standing standing_of(const Finding& f) {
  if (f.severity != Severity::Info) return Standing::Left;
  return keeping_recipe(f) ? Standing::Kept : Standing::Note;
}

Account account(const std::vector<Finding>& routed_findings) {
  Account a;
  for (auto& f : routed_findings) {
    ++a.found;
    switch (standing_of(f)) {
      case Standing::Left:
        ++a.left;
        a.blocking += f.severity == Severity::Blocking;
        break;
      case Standing::Note:
        ++a.notes;
        break;
      case Standing::Kept:
        ++a.kept;
        break;
    }
  }
  return a;
}

std::string account_line(const Account& a) {
  auto line =
      fmt::format("{} left ({} blocking), {} note{}", a.left, a.blocking, a.notes, a.notes == 1 ? "" : "s");
  if (a.kept) line += fmt::format(", {} kept by a recipe", a.kept);
  return line;
}

Action action_for(const Finding& raw) {
  auto f = routed(raw, shipped_advice());
  if (!f.codemod.empty() && !f.replacement.empty()) return Action::Codemod;
  // A codemod kcat withheld because it could not prove the edit keeps the meaning (issue 12): a
  // person decides, not a recipe or an LLM making the same guess.
  if (f.action.rfind("not rewritten: ", 0) == 0) return Action::Manual;
  if (const auto* r = outcome_recipe(f); r && r->outcome == "left") return Action::Manual;
  if (!f.recipe.empty()) return Action::Recipe;
  if (is_code(f.file) && f.severity == Severity::Blocking) return Action::Llm;
  return Action::Manual;
}

std::string effort_for(const std::vector<Finding>& fs) {
  size_t blocking_left = 0, recipes = 0, warnings = 0;
  bool kernels = false;
  for (auto& f : fs) {
    if (f.severity == Severity::Info) continue;
    auto a = action_for(f);
    if (a == Action::Codemod) continue;
    if (f.category == "kernel" || f.category == "build" || f.category == "triton-kernel" ||
        f.category == "kernel-dsl")
      kernels = true;
    if (a == Action::Recipe) ++recipes;
    if (f.severity == Severity::Blocking && a != Action::Recipe && f.category != "requirements")
      ++blocking_left;
    if (f.severity == Severity::Warning || f.category == "requirements") ++warnings;
  }
  if (kernels || blocking_left > 3) return "high";
  if (recipes || blocking_left) return "medium";
  if (warnings) return "low";
  return "none";
}

Plan make_plan(std::vector<Finding> findings, const std::string& repo, const std::string& target,
               const std::filesystem::path& root) {
  std::sort(findings.begin(), findings.end());
  Plan plan;
  {
    std::vector<bool> was_info;
    for (auto& f : findings) was_info.push_back(f.severity == Severity::Info);
    findings = route_all(std::move(findings), root);
    std::map<std::string, std::pair<size_t, std::string>> notes;  // what -> (sites, advice)
    for (size_t i = 0; i < findings.size(); ++i) {
      auto& f = findings[i];
      if (!was_info[i] && f.severity == Severity::Info) {
        auto& n = notes[f.rule_id == "py.sdpa-float-mask" ? f.rule_id
                        : keeping_recipe(f)               ? "recipe " + f.recipe
                                                          : top_name(f.matched)];
        ++n.first;
        n.second = f.action;
      }
    }
    for (auto& [what, n] : notes)
      plan.notes.push_back(fmt::format("{}: {} site(s), a note, not work: {}", what, n.first, n.second));
  }
  plan.sites = account(findings);
  {
    std::map<std::string, std::vector<Finding>> by_file;
    for (auto& f : findings) by_file[f.file].push_back(f);
    for (auto& [file, fs] : by_file) plan.effort[file] = effort_for(fs);
  }
  plan.repo = repo;
  plan.target = target;
  std::map<std::tuple<Phase, Action, std::string>, std::vector<Finding>> groups;
  for (auto& f : findings) {
    if (f.severity == Severity::Info) continue;
    auto a = action_for(f);
    groups[{phase_of(f), a, a == Action::Recipe ? f.recipe : std::string()}].push_back(f);
  }
  std::map<Phase, int> counter;
  for (auto& [key, fs] : groups) {
    auto [phase, action, recipe] = key;
    Step s;
    s.phase = phase;
    s.action = action;
    s.recipe = recipe;
    s.id = fmt::format("{}-{}", to_string(phase), ++counter[phase]);
    s.title = title_for(phase, action, recipe);
    s.rationale = verification_for(action);
    s.risk = action == Action::Codemod ? "low" : action == Action::Recipe ? "medium" : "high";
    s.findings = fs;
    plan.steps.push_back(std::move(s));
  }
  return plan;
}

void add_environment(Plan& plan, const std::vector<env::Check>& checks) {
  Step s;
  s.id = "environment-host";
  s.phase = Phase::Environment;
  s.action = Action::Manual;
  s.risk = "low";
  s.title = "Fix the host before porting: what kcat doctor found";
  size_t failing = 0;
  for (auto& c : checks) {
    if (c.status != "mismatch" && c.status != "missing") continue;
    ++failing;
    s.rationale += fmt::format("{} {} (found {}, expected {}): {}; ", c.what, c.status, c.found,
                               c.expected.empty() ? "-" : c.expected, c.fix);
  }
  if (failing == 0) {
    plan.notes.push_back(
        "kcat doctor: the host is ready (CANN, driver, torch / torch_npu match the version matrix)");
    return;
  }
  s.rationale += "verified by running kcat doctor again";
  s.status_reason = fmt::format("{} check(s) failed", failing);
  plan.steps.insert(plan.steps.begin(), std::move(s));
  plan.notes.push_back(fmt::format("kcat doctor: {} host check(s) fail; see step environment-host", failing));
}

void to_json(nlohmann::json& j, const Step& s) {
  j = {{"id", s.id},
       {"phase", to_string(s.phase)},
       {"action", to_string(s.action)},
       {"title", s.title},
       {"verify", s.rationale},
       {"risk", s.risk},
       {"recipe", s.recipe},
       {"status", to_string(s.status)},
       {"status_reason", s.status_reason},
       {"findings", s.findings},
       {"commands", s.commands}};
  if (s.phase == Phase::Performance) j["tries"] = s.tries;
  if (s.extension) j["extension"] = *s.extension;
}

void to_json(nlohmann::json& j, const Plan& p) {
  j = {{"schema", "kcat-plan/1"}, {"repo", p.repo},     {"target", p.target},
       {"notes", p.notes},        {"effort", p.effort}, {"steps", nlohmann::json::array()}};
  j["sites"] = {{"found", p.sites.found},
                {"left", p.sites.left},
                {"blocking", p.sites.blocking},
                {"notes", p.sites.notes},
                {"kept", p.sites.kept}};
  for (auto& s : p.steps) j["steps"].push_back(s);
}

std::string render_markdown(const Plan& p) {
  std::string md = fmt::format("# Migration plan: {} -> {}\n\n", p.repo, p.target);
  for (auto& n : p.notes) md += "- " + n + "\n";
  if (!p.notes.empty()) md += "\n";
  md += fmt::format("Sites: {} found: {}.\n\n", p.sites.found, account_line(p.sites));
  std::map<std::string, size_t> buckets;
  for (auto& [file, e] : p.effort) ++buckets[e];
  md += fmt::format("Effort by file after codemods: {} none, {} low, {} medium, {} high.\n\n",
                    buckets["none"], buckets["low"], buckets["medium"], buckets["high"]);
  for (auto& [file, e] : p.effort) {
    if (e == "high") md += fmt::format("- high: `{}`\n", file);
  }
  std::map<std::string, std::vector<std::string>> kernels_of;  // a CUDA file's kernels, over every step
  {
    std::vector<const Finding*> all;
    for (auto& st : p.steps) {
      for (auto& f : st.findings) all.push_back(&f);
    }
    auto groups = group_cuda_files(all);
    for (auto& g : groups) kernels_of[g.file] = g.kernels;
    if (!groups.empty())
      md += "\n" + cuda_files_summary(groups) + ": one line per file below, with its kernels.\n";
  }
  md += "\n| step | phase | action | risk | findings | title |\n|---|---|---|---|---:|---|\n";
  for (auto& s : p.steps) {
    md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", s.id, to_string(s.phase), to_string(s.action),
                      s.risk, s.findings.size(), s.title);
  }
  for (auto& s : p.steps) {
    if (s.status == Status::Skipped) {
      md += fmt::format("\n## {}: {}\n\nNot done: {}\n\n", s.id, s.title, s.status_reason);
    } else if (s.commands.empty()) {
      md += fmt::format("\n## {}: {}\n\nVerified by: {}.\n\n", s.id, s.title, s.rationale);
    } else {
      md += fmt::format("\n## {}: {}\n\n{}\n\n```sh\n", s.id, s.title, s.rationale);
      for (auto& c : s.commands) md += c + "\n";
      md += "```\n";
    }
    if (!s.tries.empty() && !s.commands.empty()) md += "\n";
    for (auto& t : s.tries) md += "- " + t + "\n";
    if (s.extension) {
      md += std::string("- .cu files: ") + (s.extension->cu_files.empty() ? "none found" : "") + "\n";
      for (auto& f : s.extension->cu_files) md += "  - `" + f + "`\n";
      for (auto& k : s.extension->kernels) md += "- kernel `" + k + "`\n";
    }
    auto what = [](const Finding& f) {
      return f.fixable() ? "→ " + f.replacement : (f.action.empty() ? f.message : f.action);
    };
    std::vector<const Finding*> all;
    for (auto& f : s.findings) all.push_back(&f);
    // A CUDA source file is one line naming its kernels (found in any step), however many sites it holds.
    for (auto& g : group_cuda_files(all)) {
      if (auto k = kernels_of.find(g.file); k != kernels_of.end()) g.kernels = k->second;
      md += fmt::format("- `{}` CUDA source file: {} site(s), {} blocking; {} — {}\n", g.file, g.sites,
                        g.blocking, describe_kernels(g), what(*all[g.members.front()]));
    }
    size_t shown = 0, others = 0;
    for (auto& f : s.findings) others += !is_cuda_source(f.file);
    for (auto& f : s.findings) {
      if (is_cuda_source(f.file)) continue;
      if (++shown > 20) {
        md += fmt::format("- … and {} more\n", others - 20);
        break;
      }
      md += fmt::format("- `{}:{}` {} — {}\n", f.file, f.span.start.line, f.rule_id, what(f));
    }
  }
  return md;
}

}  // namespace kcat::plan
