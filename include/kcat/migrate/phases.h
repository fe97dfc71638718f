#pragma once
// The phases of a migration, each one job behind one interface, so each can be run and tested on
// its own. Migration (migrate::run) calls them in this order; they share the Run below.
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kcat/agent/agent.h"
#include "kcat/config/config.h"
#include "kcat/core/finding.h"
#include "kcat/kb/knowledge.h"
#include "kcat/kb/recipe.h"
#include "kcat/kb/rule.h"
#include "kcat/migrate/migration.h"
#include "kcat/patch/edit.h"
#include "kcat/patch/git.h"
#include "kcat/patch/worktree_safety.h"
#include "kcat/plan/plan.h"
#include "kcat/report/ledger.h"
#include "kcat/report/run_report.h"
#include "kcat/scan/scanner.h"

namespace kcat::migrate {

// ---- prepare (prepare.cc, resume.cc, update.cc) ----

// The repository on the migration branch, ready for a run.
struct Prepared {
  explicit Prepared(patch::GitRepo r) : repo(std::move(r)) {}
  patch::GitRepo repo;
  std::filesystem::path root;
  std::string author_name, author_email;
  std::string branch;
  std::string within;       // the path given, repository-relative ("" = all): only files under it change
  std::string resumed_run;  // --resume: the interrupted run; empty for a fresh run
  std::vector<nlohmann::json> previous;  // its ledger
  std::string from_branch;  // where the port started from: the upstream branch (Kcat-Upstream trailer)
  std::string base;         // the commit the migration branch started from
  std::string update_onto;  // --update: the new upstream
  size_t replayed = 0;      // --update: kcat's commits replayed onto it
  // --allow-dirty with uncommitted changes: nothing was prepared; migrate this linked work tree
  // of HEAD instead.
  std::optional<std::filesystem::path> worktree;
};

// Checks the options, opens (or with --init makes) the repository, refuses uncommitted work (or
// rolls back an interrupted step's files on --resume), and checks out the migration branch.
Prepared prepare(const Options& o);

// The latest run in `root` whose ledger has no run-finished event; empty when none.
std::string unfinished_run(const std::filesystem::path& root);
// --resume on the branch: the dirty files whose content is what a journaled step had or wrote go
// back to HEAD; the rest are the user's and are returned (never touched).
std::vector<std::string> roll_back_interrupted_step(patch::GitRepo& repo,
                                                    const std::vector<nlohmann::json>& previous,
                                                    std::vector<std::string> dirty);
// The base an earlier run on `branch` recorded (the events given, else the latest run's); `base`
// when none did.
std::string earlier_base(const std::filesystem::path& root, const std::string& branch,
                         const std::vector<nlohmann::json>& previous, std::string base);
// --update: replays kcat's commits on `branch` onto the new upstream (`onto`, default the branch
// the last migration started from), leaving the branch checked out. Fills update_onto, replayed,
// base, from_branch. Throws Error(Usage) when there is nothing to carry forward.
void carry_forward(Prepared& p, const std::string& onto);
// The branch the migration on `branch` was ported from: the newest run record (.kcat/runs) that
// started it from another branch, else the newest Kcat-Upstream trailer on the branch's commits
// (all a fresh clone has); "" when neither says.
std::string upstream_of(const patch::GitRepo& repo, const std::filesystem::path& root,
                        const std::string& branch);

// ---- environment (environment.cc) ----

// What a run works with: kcat.toml, the rule catalog (with the shim's rules in shim mode), the
// knowledge base and the recipes.
struct Environment {
  cli::Config config;
  kb::RuleSet rules;
  kb::KnowledgeBase kb;
  kb::RecipeSet recipes;
};
Environment load_environment(const std::filesystem::path& root, const Options& o);

// ---- the run every later phase shares ----

// What the steps did: for resume (attempted keys) and for the report.
struct StepBook {
  std::set<std::string> attempted;                    // step keys tried by this run or the resumed one
  std::map<std::string, report::StepRecord> records;  // by step key
  std::vector<std::string> order;                     // keys in the order this process ran them
  std::vector<report::Site> fixed;                    // sites fixed by codemods and recipes
  std::map<std::string, std::pair<std::vector<Finding>, std::string>> llm_fixed;  // step -> findings, commit
  std::vector<report::StepRecord> agent_records;
  std::vector<std::pair<std::string, std::vector<Finding>>> agent_tasks;  // task id -> the findings given
  std::map<std::string, std::string> ids;  // step key -> the step's id in this run (name_steps)
};
// The steps a resumed run already committed or failed (step-committed / step-failed events).
StepBook restore_steps(const std::vector<nlohmann::json>& previous);

struct Run {
  Run(const Options& options, Prepared prepared, std::chrono::steady_clock::time_point started);
  const Options& o;
  Prepared p;
  std::string run_id;
  std::filesystem::path run_dir;
  std::unique_ptr<report::Ledger> ledger;
  Environment env;
  StepBook book;
  Outcome out;
  std::chrono::steady_clock::time_point started;
  std::string current_step;    // for the hooks' KCAT_STEP
  std::string current_why;     // -i: what "show more" shows at the question (the commit message)
  std::string framework_note;  // set when the repository is a framework ported by configuration
  // From the latest scan: findings kcat leaves to the user (untracked, in a submodule), with why.
  mutable std::vector<std::pair<Finding, std::string>> not_editable;
  // Sites committed steps reported instead of editing (StepWork::unported), once each: left for a person.
  std::vector<Finding> unported;
  bool approve_all = false;    // -i: the person answered "all"
  bool step_declined = false;  // -i: the person answered "no" for the step in progress

  // A scan of the work tree with the run's rules, annotated from the knowledge base.
  scan::ScanResult scan() const;
  double minutes_used() const;
  bool over_budget() const;  // --max-minutes
};

// Records run-started (or run-resumed) and, after --update, rebased; then loads the environment.
void open_run(Run& r);

// A framework with its own Ascend backend (DeepSpeed, transformers, accelerate, vLLM) is ported by
// configuration, not edits (patches/frameworks.toml): records a skipped "framework" step with the
// setting to use and returns true; the port and agent phases then make no edits (framework.cc).
bool framework_phase(Run& r);

// ---- steps through the gate (steps.cc) ----

// One change for the gate: a codemod step, a port recipe or the shim.
struct StepWork {
  std::string key;  // survives re-planning (step_key)
  std::string id;
  std::string title;
  patch::Patch patch;
  std::vector<Finding> applied;  // the findings it fixes
  std::string recipe_id;         // a port recipe's id; empty for a codemod
  // Sites the step reports instead of editing (patch::codemod_patch's `unported`): left for a person
  // (the finding says why), once the step is committed.
  std::vector<Finding> unported;
};
// Applies, verifies and commits one step, recorded in the ledger and the step book. After Ctrl-C or
// SIGTERM (core/cancel) the step is rolled back unless it got to its commit, and
// cancel::Interrupted is thrown; a disk or git failure (Error Io / Git) stops the run the same way
// without recording the step as failed.
void run_step(Run& r, const StepWork& w);
// Tests kill the process at a named point to prove that an interruption loses nothing:
// KCAT_TEST_KILL_AT=<point>:<n> raises SIGKILL at the n-th time the point is reached. Points:
// before-apply, before-commit, after-commit (steps), rebase-commit (--update, after each replayed commit).
void kill_point(const char* point);
// [hooks] of kcat.toml at `stage`, then (-i) the person's approval before a commit. Returns the
// veto reason.
std::optional<std::string> run_hooks(Run& r, const std::string& stage, const std::vector<std::string>& files);

// ---- codemods (codemods.cc), port recipes (recipes.cc), shim (shim.cc) ----

// The key of a plan step that survives re-planning: phase, action and recipe.
std::string step_key(const plan::Step& s);
// Gives the plan's steps the ids this run knows them by: plan ids are positional (`device-api-1` is
// the phase's first step in *this* plan), so once a step is done a re-plan would give its id to
// another step. A step keeps the id it had when the run first saw it (or that its record has); a
// step new to the run keeps its plan id unless that is taken, then the phase's next free number.
// Ids are unique within a run's report, its commits' Kcat-Step trailers and its plan.json.
void name_steps(plan::Plan& plan, StepBook& book);
// plan::make_plan of the findings, named with name_steps.
plan::Plan run_plan(Run& r, const std::vector<Finding>& findings);
// The first codemod step of the plan not yet attempted.
const plan::Step* next_codemod(const plan::Plan& plan, const std::set<std::string>& attempted);
// Its patch, with the commit message naming each rule's change.
StepWork codemod_work(const plan::Step& step, const std::filesystem::path& root, const std::string& target);

// A port recipe (kind = "port") the plan names, not yet attempted, that applies to this code.
struct RecipeChoice {
  const plan::Step* step = nullptr;
  const kb::Recipe* recipe = nullptr;
};
std::optional<RecipeChoice> next_port_recipe(const plan::Plan& plan, const std::set<std::string>& attempted,
                                             const kb::RecipeSet& recipes, const std::filesystem::path& root,
                                             const std::vector<Finding>& findings);
StepWork recipe_work(const RecipeChoice& c, const std::filesystem::path& root,
                     const std::vector<Finding>& findings, const std::string& target);

// Source mode: re-scan and re-plan after every step (earlier edits move later offsets), codemods
// first, then port recipes, until none is left or the budget is spent.
void port_with_rules(Run& r);

// Shim mode: import torch_npu and transfer_to_npu at each Python entry point, one step.
StepWork shim_work(const std::filesystem::path& root, const std::vector<Finding>& findings,
                   const std::string& target);
void port_with_shim(Run& r);
// What torch_npu.contrib.transfer_to_npu maps at run time.
bool covered_by_shim(const Finding& f);

// ---- reference fallback (fallback.cc) ----

// The repository's Python files (repository-relative).
std::vector<std::string> python_files(const std::filesystem::path& root);
// Source mode, after the codemods: kernel entry points run the repository's pure-PyTorch reference
// when their CUDA extension is not importable (patch/ref_fallback.h), one step; every entry point
// found goes into the report (routed, or left with the reason).
void fallback_phase(Run& r);

// ---- requirements (requirements_phase.cc) ----

// requirements-ascend.txt for the plan's stack, committed as a step when it is new or changed.
void requirements_phase(Run& r);

// ---- agent (agent_phase.cc) ----

// Plan steps no codemod or recipe covers: LLM steps, and recipe steps whose recipe is missing or
// was already tried, but not one the person declined (their "no" is not handed to a model). One task
// per file: a step over several files becomes tasks "<step>/1", "/2", ...
std::vector<agent::Task> agent_tasks(const plan::Plan& plan, const kb::RecipeSet& recipes,
                                     const std::set<std::string>& attempted,
                                     const std::set<std::string>& declined = {});
// Runs the agent on them when an LLM endpoint is configured (source mode, LLM allowed, budget left).
void agent_phase(Run& r);

// ---- report (report.cc) ----

// From a final scan of the migrated tree: the plan (plan.json, with routes), every site fixed or
// left, every step. Returns the final scan's findings (the optimize phase's input).
std::vector<Finding> report_phase(Run& r);

// ---- optimize (optimize_phase.cc) and finish (migration.cc) ----

// With [bench] configured and budget left: the optimize loop on the migrated branch.
void optimize_after_port(Run& r, const std::vector<Finding>& findings);
// The outcome, report.json / report.md, run-finished (or run-paused after a budget stop).
void finish(Run& r);

}  // namespace kcat::migrate
