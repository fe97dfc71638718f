#include "kcat/cli/migrate.h"
#include <iostream>
#include "kcat/agent/agent.h"
#include "kcat/cli/hooks.h"
#include "kcat/cli/optimize.h"
#include "kcat/core/cancel.h"
#include "kcat/llm/config.h"
#include "kcat/session/approver.h"
#include "kcat/session/line_reader.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "kcat/cli/common.h"
#include "kcat/cli/config.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"
#include "kcat/core/fs.h"
#include "kcat/exec/process.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/recipe.h"
#include "kcat/kb/route.h"
#include "kcat/kb/target.h"
#include "kcat/optimize/optimize.h"
#include "kcat/patch/codemod.h"
#include "kcat/patch/gate.h"
#include "kcat/patch/git.h"
#include "kcat/patch/worktree_safety.h"
#include "kcat/plan/plan.h"
#include "kcat/report/ledger.h"
#include "kcat/report/runs.h"
#include "kcat/scan/scanner.h"

namespace kcat::cli {

const std::vector<std::string>& known_targets() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> out;
    for (auto& t : kb::load_targets(kb::default_data_dir())) out.push_back(t.id);
    return out;
  }();
  return ids;
}

namespace {

namespace fs = std::filesystem;

// Tests kill the process at a named point to prove that an interruption loses nothing:
// KCAT_TEST_KILL_AT=<point>:<n> raises SIGKILL at the n-th time the point is reached.
void kill_point(const char* point) {
  static std::map<std::string, int> seen;
  const char* spec = std::getenv("KCAT_TEST_KILL_AT");
  if (!spec) return;
  std::string s(spec);
  auto colon = s.find(':');
  if (s.substr(0, colon) != point) return;
  int n = colon == std::string::npos ? 1 : std::atoi(s.c_str() + colon + 1);
  if (++seen[point] == n) std::raise(SIGKILL);
}

std::pair<std::string, std::string> parse_author(const std::string& a, const patch::GitRepo& repo) {
  if (!a.empty()) {
    auto lt = a.find('<');
    auto gt = a.find('>');
    if (lt == std::string::npos || gt == std::string::npos || gt < lt) {
      throw Error(ErrorKind::Usage, "--author must look like \"Name <email>\"", a);
    }
    auto name = a.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    return {name, a.substr(lt + 1, gt - lt - 1)};
  }
  auto id = repo.configured_identity();
  if (id.first.empty() || id.second.empty()) return {"kcat", "kcat@localhost"};
  return id;
}

// The key of a plan step that survives re-planning: phase, action and recipe.
std::string step_key(const plan::Step& s) {
  return std::string(plan::to_string(s.phase)) + "/" + plan::to_string(s.action) + "/" + s.recipe;
}

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

// An unfinished run: its ledger has no run-finished event.
std::string unfinished_run(const fs::path& root) {
  auto runs = report::list_runs(root);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    auto events = report::Ledger::read(root / ".kcat" / "runs" / *it / "ledger.jsonl");
    bool finished = std::any_of(events.begin(), events.end(),
                                [](auto& e) { return e.value("type", "") == "run-finished"; });
    if (!finished) return *it;
  }
  return {};
}

// What torch_npu.contrib.transfer_to_npu maps at run time (Ascend/pytorch:
// torch_npu/contrib/transfer_to_npu.py, facts sheet §1): device strings and .cuda() / .is_cuda,
// torch.cuda names torch_npu provides, torch.cuda.amp, and the backend argument of
// init_process_group. A comparison with 'nccl' is one of its documented gaps.
bool covered_by_shim(const Finding& f) {
  static const std::set<std::string> rules = {"py.cuda-method",           "py.is-cuda",
                                              "py.device-string",         "py.torch-cuda-amp",
                                              "py.torch-cuda-amp-import", "py.torch-cuda-module-import",
                                              "py.nccl-backend"};
  if (f.rule_id == "py.torch-cuda-api") return f.verdict == Verdict::Supported;
  if (f.rule_id == "py.nccl-backend" || f.rule_id == "py.device-string")
    return f.severity == Severity::Blocking;
  return rules.count(f.rule_id) > 0;
}

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

}  // namespace

MigrateOutcome run_migrate(const MigrateOptions& o) {
  auto started = std::chrono::steady_clock::now();
  auto over_budget = [&] {
    if (o.max_minutes <= 0) return false;
    return std::chrono::duration<double, std::ratio<60>>(std::chrono::steady_clock::now() - started)
               .count() >= o.max_minutes;
  };
  if (std::find(known_targets().begin(), known_targets().end(), o.target) == known_targets().end()) {
    throw Error(ErrorKind::Usage, "unknown target '" + o.target + "'", "",
                "known targets: ascend-a2 (Atlas A2 / 910B), ascend-a3, ascend-310p");
  }
  if (o.mode != "source" && o.mode != "shim") throw Error(ErrorKind::Usage, "--mode must be source or shim");
  std::error_code ec;
  if (!fs::is_directory(o.path, ec)) {
    throw Error(ErrorKind::Usage, "not a directory", o.path.string(),
                "give the path of the repository to migrate");
  }
  auto path = fs::canonical(o.path);
  if (!patch::GitRepo::is_repository(path) && !fs::exists(path / ".git")) {
    bool inside_repo = true;
    try {
      patch::GitRepo::open(path);
    } catch (const Error&) {
      inside_repo = false;
    }
    if (!inside_repo) {
      if (!o.init) {
        throw Error(
            ErrorKind::Environment, "not a git repository", path.string(),
            "kcat works on a git branch so every change can be reviewed and undone: commit your code to git "
            "first, or run again with --init to let kcat make an initial commit");
      }
      write_file_atomic(path / ".kcat" / ".gitignore", "*\n");
      patch::GitRepo::init_with_initial_commit(path, "kcat", "kcat@localhost");
    }
  }
  auto repo = patch::GitRepo::open(path);
  auto root = fs::canonical(repo.workdir());
  auto [author_name, author_email] = parse_author(o.author, repo);
  auto branch = o.branch.empty() ? "kcat/" + o.target : o.branch;
  // The user's work is never lost: a branch kcat did not make, or one another work tree has, is
  // refused before anything changes; only tracked files under PATH, outside submodules, are edited.
  patch::check_branch_owned(repo, branch);
  if (!o.allow_dirty) patch::check_not_checked_out_elsewhere(repo, branch);  // else: its own work tree
  patch::EditScope scope(repo, fs::relative(path, root).generic_string());

  // Resume: the latest unfinished run, and roll back a step that was cut off before its commit.
  std::string run_id;
  std::vector<nlohmann::json> previous;
  if (o.resume) {
    run_id = unfinished_run(root);
    if (run_id.empty()) {
      throw Error(ErrorKind::Usage, "no interrupted run to resume", (root / ".kcat" / "runs").string(),
                  "run `kcat migrate` without --resume");
    }
    previous = report::Ledger::read(root / ".kcat" / "runs" / run_id / "ledger.jsonl");
  }
  auto dirty = repo.dirty_files();
  if (!dirty.empty() && o.resume && repo.current_branch() == branch) {
    // Only what the interrupted step wrote goes back to HEAD; any other change is the user's.
    auto split = patch::split_dirty(repo, dirty, patch::journal_of_ledger(previous));
    repo.restore_from_head(split.kcat);
    dirty = split.user;
  }
  if (!dirty.empty() && o.allow_dirty) {
    // The user's work stays where it is; the migration happens in a linked work tree of HEAD.
    auto wt_path = root / ".kcat" / "worktrees" / o.target;
    write_file_atomic(root / ".kcat" / ".gitignore", "*\n");
    auto wt = repo.add_worktree("kcat-" + o.target, wt_path, branch);
    MigrateOptions inner = o;
    inner.path = wt_path / fs::relative(path, root);
    inner.allow_dirty = false;
    inner.init = false;
    return run_migrate(inner);
  }
  if (!dirty.empty()) {
    std::string list;
    for (size_t i = 0; i < dirty.size() && i < 5; ++i) list += (i ? ", " : "") + dirty[i];
    if (dirty.size() > 5) list += fmt::format(" and {} more", dirty.size() - 5);
    throw Error(ErrorKind::Environment, "uncommitted changes in tracked files: " + list, root.string(),
                "kcat never touches uncommitted work: commit or stash it (`git stash`) and run again, or "
                "pass --allow-dirty to migrate HEAD in a separate work tree (.kcat/worktrees/<target>)");
  }

  auto original_branch = repo.current_branch();
  std::string base;
  size_t replayed = 0;
  std::string update_onto;
  if (o.update) {
    // The nightly case: upstream moved on. Replay kcat's commits onto it, then port what is new.
    std::string from_branch;
    auto runs = report::list_runs(root);
    for (auto it = runs.rbegin(); it != runs.rend() && from_branch.empty(); ++it) {
      for (auto& e : report::Ledger::read(root / ".kcat" / "runs" / *it / "ledger.jsonl")) {
        if (e.value("type", "") == "run-started" && e.value("branch", "") == branch) {
          from_branch = e.value("from_branch", "");
        }
      }
    }
    update_onto = o.onto.empty() ? from_branch : o.onto;
    if (!repo.branch_exists(branch) || update_onto.empty() || update_onto == branch) {
      throw Error(ErrorKind::Usage,
                  "nothing to update: no earlier migration on " + branch + " to carry forward", root.string(),
                  "run `kcat migrate` first, or name the upstream with --onto REV");
    }
    if (original_branch != branch) repo.checkout(branch);
    replayed = repo.rebase_onto(branch, update_onto);
    base = repo.log(update_onto, "", 1).at(0).id;
    original_branch = branch;
  }
  if (original_branch != branch) {
    base = repo.head_id();
    repo.checkout_new_or_existing(branch);
  }
  if ((base.empty() || o.resume) && !o.update) {
    // Already on the branch: the base is where an earlier run started it.
    auto earlier = previous;
    if (earlier.empty()) {
      auto runs = report::list_runs(root);
      for (auto it = runs.rbegin(); it != runs.rend() && earlier.empty(); ++it) {
        for (auto& e : report::Ledger::read(root / ".kcat" / "runs" / *it / "ledger.jsonl")) {
          if (e.value("type", "") == "run-started" && e.value("branch", "") == branch) earlier.push_back(e);
        }
      }
    }
    for (auto& e : earlier) {
      if (e.value("type", "") == "run-started") base = e.value("base", base);
    }
  }
  if (base.empty()) base = repo.head_id();
  repo.pin_branch(branch);  // every commit from here on lands on the branch, or none does
  write_file_atomic(root / ".kcat" / ".gitignore", "*\n");

  bool fresh_run = run_id.empty();
  if (fresh_run) run_id = report::make_run_id();
  auto run_dir = root / ".kcat" / "runs" / run_id;
  report::Ledger ledger(run_dir / "ledger.jsonl");
  ledger.append(fresh_run ? "run-started" : "run-resumed",
                {{"repo", root.string()},
                 {"target", o.target},
                 {"branch", branch},
                 {"base", base},
                 {"mode", o.mode},
                 {"from_branch", o.update ? update_onto : original_branch}});
  if (o.update) ledger.append("rebased", {{"onto", update_onto}, {"base", base}, {"replayed", replayed}});
  events::emit("migrate-started", {{"run", run_id}, {"branch", branch}, {"target", o.target}});

  auto rules = load_rule_catalog(o.rules);
  if (o.mode == "shim") kb::merge_rules(rules, kb::load_rules(kb::default_data_dir() / "shim").rules);
  auto kb = load_knowledge_base();
  auto recipes = kb::load_recipes(kb::default_data_dir() / "recipes");
  std::vector<std::pair<Finding, std::string>> not_editable;  // untracked, in a submodule: reported
  auto scan_all = [&] {
    scan::ScanOptions so;
    so.root = root;
    so.use_cache = o.use_cache;
    auto r = scan::scan(so, rules);
    kb.annotate(r.findings);
    not_editable = scope.take_not_editable(r.findings);
    return r;
  };

  MigrateOutcome out;
  out.run_dir = run_dir;
  auto& rep = out.report;
  rep.run_id = run_id;
  rep.repo = root.filename().string();
  rep.target = o.target;
  rep.branch = branch;
  rep.base_commit = base;

  // Steps already committed by this run (resume) or by earlier runs on the branch.
  std::set<std::string> attempted;
  std::map<std::string, report::StepRecord> records;
  for (auto& e : previous) {
    if (e.value("type", "") == "step-committed" || e.value("type", "") == "step-failed") {
      attempted.insert(e.value("key", ""));
      report::StepRecord r;
      r.id = e.value("step", "");
      r.title = e.value("title", "");
      r.action = "codemod";
      r.status = e.value("type", "") == "step-committed" ? "done" : "failed";
      r.commit = e.value("commit", "");
      r.reason = e.value("reason", "");
      records[e.value("key", "")] = r;
    }
  }
  std::vector<report::Site> fixed;
  std::vector<std::string> order;
  std::map<std::string, std::pair<std::vector<Finding>, std::string>> llm_fixed;  // step -> findings, commit

  auto config = load_config(root, o.config);
  std::string current_step;
  // [hooks]: the team's own gates. Exit 2 vetoes the step; other failures are shown, not fatal.
  // -i: before each step's commit, the person sees the diff and answers yes / no / all / show more.
  std::unique_ptr<session::LineReader> reader;
  std::unique_ptr<session::Approver> approver;
  bool approve_all = false;
  if (o.interactive) {
    reader = session::stream_reader(std::cin);
    approver = session::prompt_approver(*reader, std::cout);
  }
  auto run_hook = [&](const std::string& stage,
                      const std::vector<std::string>& files) -> std::optional<std::string> {
    std::string list;
    for (auto& f : files) list += (list.empty() ? "" : " ") + f;
    if (auto veto = cli::run_hook(config, stage, root,
                                  {{"KCAT_STEP", current_step}, {"KCAT_FILES", list}, {"KCAT_RUN", run_id}},
                                  &ledger)) {
      return veto;
    }
    if (stage == "before_commit" && approver && !approve_all) {
      auto diff = repo.diff(repo.head_id(), "");
      std::cout << "\n" << diff;
      auto a = approver->ask(fmt::format("Commit step {} ({} file(s))?", current_step, files.size()), diff);
      ledger.append("approval",
                    {{"step", current_step}, {"answer", a == session::Answer::No ? "no" : "yes"}});
      if (a == session::Answer::All) approve_all = true;
      if (a == session::Answer::No) return std::string("declined by the person at the terminal");
    }
    return std::nullopt;
  };

  auto gate_options = [&](const std::string& message, const std::string& step_id,
                          const std::string& rule_list) {
    patch::GateOptions g;
    g.message = message;
    g.author_name = author_name;
    g.author_email = author_email;
    g.trailers = {{"Kcat-Run", run_id}, {"Kcat-Step", step_id}, {"Kcat-Rules", rule_list}};
    g.before_commit = [] { kill_point("before-commit"); };
    g.hook = run_hook;
    g.within = scope.within();
    g.journal = [&ledger, step_id](const patch::StepJournal& j) {
      ledger.append("step-journal", {{"step", step_id}, {"files", patch::journal_json(j)}});
    };
    current_step = step_id;
    return g;
  };

  auto run_step = [&](const std::string& key, const std::string& step_id, const std::string& title,
                      const patch::Patch& p, const std::vector<Finding>& applied,
                      const std::string& recipe_id = "") {
    std::set<std::string> files, rule_ids;
    for (auto& e : p.edits) files.insert(e.file);
    for (auto& f : applied) rule_ids.insert(f.rule_id);
    std::string rule_list;
    for (auto& r : rule_ids) rule_list += (rule_list.empty() ? "" : ", ") + r;
    ledger.append("step-applying", {{"step", step_id},
                                    {"key", key},
                                    {"title", title},
                                    {"edits", p.edits.size()},
                                    {"files", std::vector<std::string>(files.begin(), files.end())}});
    events::emit("step-started", {{"step", step_id}, {"edits", p.edits.size()}, {"files", files.size()}});
    kill_point("before-apply");
    auto step_t0 = std::chrono::steady_clock::now();
    auto elapsed_ms = [&] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - step_t0)
          .count();
    };
    patch::GateOutcome g;
    report::StepRecord rec;
    rec.id = step_id;
    rec.title = title;
    rec.action = recipe_id.empty() ? "codemod" : "recipe";
    try {
      g = patch::apply_verify_commit(repo, p, gate_options(p.message, step_id, rule_list));
    } catch (const patch::BranchMoved&) {
      throw;  // HEAD is not the migration branch: stop, commit nothing anywhere
    } catch (const Error& e) {
      g.failed_checks.push_back("apply");
      g.reason = e.what() + (e.where().empty() ? std::string() : " (" + e.where() + ")");
    }
    rec.checks = g.checks;
    rec.failed_checks = g.failed_checks;
    rec.diff = g.diff;
    if (g.committed) {
      kill_point("after-commit");
      rec.status = "done";
      rec.commit = g.commit;
      for (auto& f : applied) {
        fixed.push_back(
            {f, "fixed", recipe_id.empty() ? f.codemod : "recipe:" + recipe_id, step_id, g.commit});
      }
      ledger.append("step-committed", {{"step", step_id},
                                       {"key", key},
                                       {"title", title},
                                       {"commit", g.commit},
                                       {"files", g.files},
                                       {"checks", g.checks},
                                       {"edits", p.edits.size()},
                                       {"ms", elapsed_ms()}});
      events::emit("step-committed", {{"step", step_id}, {"commit", g.commit}});
      out.changed_anything = true;
    } else if (!g.failed_checks.empty()) {
      rec.status = "failed";
      rec.reason = g.reason;
      ledger.append("step-failed", {{"step", step_id},
                                    {"key", key},
                                    {"title", title},
                                    {"reason", g.reason},
                                    {"failed_checks", g.failed_checks},
                                    {"ms", elapsed_ms()}});
      events::emit("step-failed", {{"step", step_id}, {"reason", g.reason}});
    } else {
      rec.status = "skipped";
      rec.reason = recipe_id.empty() ? "nothing to change"
                                     : "recipe " + recipe_id + " found nothing it can change in this code";
    }
    records[key] = rec;
    order.push_back(key);
  };

  if (o.mode == "shim") {
    std::string key = "shim";
    if (!attempted.count(key)) {
      auto r = scan_all();
      std::set<std::string> py;
      for (auto& f : r.findings) {
        if (patch::parse_language(f.file) == "python") py.insert(f.file);
      }
      auto p = patch::shim_patch(root, std::vector<std::string>(py.begin(), py.end()));
      p.message = fmt::format(
          "kcat: shim mode for {}: import torch_npu and transfer_to_npu at each entry point\n\n"
          "torch_npu.contrib.transfer_to_npu maps torch.cuda, device strings and NCCL to the NPU at run "
          "time\n"
          "(Ascend/pytorch:torch_npu/contrib/transfer_to_npu.py). Nothing else is changed; the report lists\n"
          "what the shim does not cover.\n",
          o.target);
      run_step(key, "shim-1", "Shim: torch_npu + transfer_to_npu at entry points", p, {});
    }
  } else {
    // Re-scan and re-plan after every step: earlier edits move the byte offsets of later ones.
    for (int guard = 0; guard < 32; ++guard) {
      if (over_budget()) {
        out.budget_exhausted = true;
        ledger.append("budget-exhausted", {{"max_minutes", o.max_minutes}});
        break;
      }
      auto r = scan_all();
      auto pl = plan::make_plan(r.findings, rep.repo, o.target);
      const plan::Step* next = nullptr;
      for (auto& s : pl.steps) {
        if (s.action == plan::Action::Codemod && !attempted.count(step_key(s))) {
          next = &s;
          break;
        }
      }
      // Then the port recipes (kind = "port") the plan names, once the codemods are done.
      const kb::Recipe* recipe = nullptr;
      for (size_t i = 0; !next && i < pl.steps.size(); ++i) {
        auto& s = pl.steps[i];
        if (s.action != plan::Action::Recipe || attempted.count(step_key(s))) continue;
        const auto* found = recipes.find(s.recipe);
        if (found && found->kind == "port" &&
            optimize::why_not_applicable(*found, root, r.findings).empty()) {
          next = &s;
          recipe = found;
        }
      }
      if (!next) break;
      auto key = step_key(*next);
      attempted.insert(key);
      if (recipe) {
        auto p = optimize::recipe_patch(*recipe, root, r.findings);
        p.message = fmt::format("kcat: {} for {}\n\n{}\n\nRecipe: {} (patches/recipes)\nSource: {}\n",
                                recipe->title, o.target, recipe->description, recipe->id, recipe->source);
        ledger.append("recipe-applying", {{"recipe", recipe->id}, {"edits", p.edits.size()}});
        run_step(key, next->id, recipe->title, p, next->findings, recipe->id);
        continue;
      }
      std::vector<Finding> applied;
      auto p = patch::codemod_patch(root, next->findings, &applied);
      p.message = step_message(*next, applied, o.target);
      run_step(key, next->id, next->title, p, applied);
    }
  }

  // The LLM phase: plan steps that no codemod or recipe covers, when an endpoint is configured.
  std::vector<report::StepRecord> agent_records;
  if (o.mode == "source" && o.use_llm && !out.budget_exhausted) {
    auto llm_config = llm::load_llm_config(root);
    auto r = scan_all();
    auto pl = plan::make_plan(r.findings, rep.repo, o.target);
    std::vector<agent::Task> tasks;
    for (auto& s : pl.steps) {
      bool recipe_missing =
          s.action == plan::Action::Recipe && (!recipes.find(s.recipe) || attempted.count(step_key(s)));
      if (s.action != plan::Action::Llm && !recipe_missing) continue;
      if (s.findings.empty()) continue;
      tasks.push_back({s.id, s.title, s.rationale, s.findings});
    }
    if (!tasks.empty() && llm_config.configured()) {
      if (!llm_config.api_key.empty()) ledger.add_secret(llm_config.api_key);
      llm::Client client(llm_config);
      agent::Options ao;
      ao.target = o.target;
      ao.author_name = author_name;
      ao.author_email = author_email;
      ao.run_id = run_id;
      ao.budgets.max_turns = o.max_turns;
      ao.budgets.max_tokens = o.max_tokens;
      ao.budgets.max_cost = o.max_cost;
      if (o.max_minutes > 0) {
        ao.budgets.max_minutes =
            std::max(0.05, o.max_minutes - std::chrono::duration<double, std::ratio<60>>(
                                               std::chrono::steady_clock::now() - started)
                                               .count());
      }
      ao.policy.allowed_commands = config.allowed_commands;
      if (!config.build_command.empty()) ao.policy.allowed_commands.push_back(config.build_command);
      ao.bench_command = config.bench.command;
      ao.hook = run_hook;
      ao.record = [&](const std::string& type, const nlohmann::json& j) { ledger.append(type, j); };
      ao.cancelled = [] { return cancel::requested(); };
      if (::isatty(1))
        ao.on_text = [](std::string_view t) { std::cout << t << std::flush; };  // shown as it streams
      ledger.append(
          "agent-started",
          {{"steps", tasks.size()}, {"model", llm_config.model}, {"endpoint", llm_config.base_url}});
      events::emit("agent-started", {{"steps", tasks.size()}, {"model", llm_config.model}});
      auto res = agent::run(client, repo, tasks, rules, kb, ao);
      out.llm_failed = res.llm_failed;
      out.loop_detected = res.loop_detected;
      out.budget_exhausted = out.budget_exhausted || res.budget_exhausted;
      out.llm_usage = {res.usage.prompt_tokens, res.usage.completion_tokens, res.usage.cost,
                       res.usage.requests};
      for (size_t i = 0; i < res.steps.size(); ++i) {
        auto& st = res.steps[i];
        report::StepRecord rec;
        rec.id = st.id;
        rec.title = tasks[i].title;
        rec.action = "llm";
        rec.status = st.status == "done" ? "done" : "needs-person";
        rec.reason = st.reason;
        rec.commit = st.commits.empty() ? "" : st.commits.back();
        if (!st.commits.empty()) {
          rec.diff = repo.diff(st.commits.front() + "~1", st.commits.back());
          out.changed_anything = true;
        }
        agent_records.push_back(rec);
        if (!st.commits.empty()) llm_fixed[st.id] = {tasks[i].findings, st.commits.back()};
      }
    }
  }

  // What is left, from a final scan of the migrated tree.
  auto final_scan = scan_all();
  auto final_plan = plan::make_plan(final_scan.findings, rep.repo, o.target);
  plan::add_routes(final_plan, root, kb::load_routes(kb::default_data_dir() / "routes"));
  nlohmann::json plan_json = final_plan;
  write_file_atomic(run_dir / "plan.json", plan_json.dump(2));
  write_file_atomic(root / ".kcat" / "plan.json", plan_json.dump(2));
  rep.sites = fixed;
  for (auto& [step, entry] : llm_fixed) {
    for (auto& f : entry.first) {
      bool still = std::any_of(final_scan.findings.begin(), final_scan.findings.end(), [&](const Finding& g) {
        return g.file == f.file && g.rule_id == f.rule_id && g.matched == f.matched;
      });
      if (!still) rep.sites.push_back({f, "fixed", "llm", step, entry.second});
    }
  }
  for (auto& [f, why] : not_editable) {
    if (f.severity != Severity::Info) rep.sites.push_back({f, "left", why, "", ""});
  }
  for (auto& f : final_scan.findings) {
    if (f.severity == Severity::Info) continue;
    // In shim mode, what transfer_to_npu maps at run time is covered; the rest (its gaps and
    // everything it never touches) stays a finding.
    if (o.mode == "shim" && covered_by_shim(f)) {
      rep.sites.push_back({f, "fixed", "shim:transfer_to_npu", "shim-1", ""});
      continue;
    }
    rep.sites.push_back({f, "left", how_left(f), "", ""});
  }
  for (auto& [key, rec] : records) {
    if (std::find(order.begin(), order.end(), key) == order.end()) rep.steps.push_back(rec);
  }
  for (auto& key : order) rep.steps.push_back(records[key]);
  for (auto& r : agent_records) rep.steps.push_back(r);
  for (auto& s : final_plan.steps) {
    if (s.action == plan::Action::Codemod) continue;
    if (std::any_of(agent_records.begin(), agent_records.end(), [&](auto& r) { return r.id == s.id; }))
      continue;
    report::StepRecord r;
    r.id = s.id;
    r.title = s.title;
    r.action = plan::to_string(s.action);
    r.status = s.action == plan::Action::Manual ? "needs-person" : "pending";
    const auto* rc = s.action == plan::Action::Recipe ? recipes.find(s.recipe) : nullptr;
    r.reason = s.action == plan::Action::Llm
                   ? "no LLM configured (set [llm] in kcat.toml or KCAT_LLM_BASE_URL)"
               : s.action != plan::Action::Recipe ? "needs a person: " + s.rationale
               : !rc ? "no recipe " + s.recipe + " in the knowledge base yet: needs an LLM or a person"
               : rc->kind == "performance"
                   ? "recipe " + s.recipe + " is tried by the optimize phase"
                   : "recipe " + s.recipe + " did not match this code: needs an LLM or a person";
    rep.steps.push_back(r);
  }
  // The last phase: with a benchmark configured ([bench] in kcat.toml), optimize until the target.
  if (o.optimize && !out.budget_exhausted && optimize_configured(config, {})) {
    OptimizeOverrides ov;
    ov.use_llm = o.use_llm;
    if (o.max_minutes > 0) {
      ov.max_minutes = std::max(0.1, o.max_minutes - std::chrono::duration<double, std::ratio<60>>(
                                                         std::chrono::steady_clock::now() - started)
                                                         .count());
    }
    auto opt = optimize_phase(repo, config, ov, final_scan.findings, run_id, ledger, rep);
    out.optimized = true;
    out.target_missed = opt.target && !opt.target_met;
    out.changed_anything = out.changed_anything || std::any_of(opt.iterations.begin(), opt.iterations.end(),
                                                               [](auto& it) { return it.outcome == "kept"; });
  }
  auto totals = rep.totals();
  rep.outcome = out.budget_exhausted                 ? "budget-exhausted"
                : totals.blocking_left               ? "findings-left"
                : out.target_missed                  ? "target-missed"
                : out.optimized && rep.target_metric ? "target-met"
                                                     : "done";
  write_file_atomic(run_dir / "report.json", report::render_json(rep));
  write_file_atomic(run_dir / "report.md", report::render_markdown(rep));
  write_file_atomic(root / ".kcat" / "report.json", report::render_json(rep));
  write_file_atomic(root / ".kcat" / "report.md", report::render_markdown(rep));
  // A budget stop is a pause: no run-finished, so `--resume` picks this run up again.
  ledger.append(out.budget_exhausted ? "run-paused" : "run-finished",
                {{"outcome", rep.outcome},
                 {"fixed", totals.fixed_by_codemod},
                 {"left", totals.found - totals.fixed_by_codemod},
                 {"blocking_left", totals.blocking_left}});
  events::emit("migrate-finished",
               {{"run", run_id}, {"outcome", rep.outcome}, {"blocking_left", totals.blocking_left}});
  return out;
}

}  // namespace kcat::cli
