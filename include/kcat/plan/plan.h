#pragma once
#include <filesystem>
// Plan / Step: the ordered work of a migration, from findings + target (+ environment).
// `kcat plan` prints it; `kcat migrate` executes it step by step, one commit per step.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/env/doctor.h"
#include "kcat/kb/advice.h"
#include "kcat/kb/recipe.h"
#include "kcat/kb/route.h"
#include "kcat/plan/extensions.h"

namespace kcat::plan {

// Phases in execution order.
enum class Phase { Environment, DeviceApi, Distributed, AttentionFusedOps, CustomKernelsBuild, Performance };

enum class Action { Codemod, Recipe, Llm, Manual };

enum class Status { Pending, Done, Failed, Skipped, NeedsPerson };

struct Step {
  std::string id;  // stable: "<phase>-<n>", e.g. "device-api-1"
  Phase phase = Phase::DeviceApi;
  Action action = Action::Manual;
  std::string title;                  // one line: what this step changes
  std::string rationale;              // why, and what verifies it
  std::string risk;                   // low | medium | high
  std::string recipe;                 // recipe id when action == Recipe
  std::vector<Finding> findings;      // the findings this step covers
  std::vector<std::string> commands;  // for a person: what to run (install commands of a route)
  std::vector<std::string> tries;     // performance: what the optimize loop tries, in its order
  Status status = Status::Pending;
  std::string status_reason;
  std::optional<CudaExtension> extension;  // a CUDA extension's item (add_extensions)
};

// Where a routed finding stands: work left (for a codemod, recipe, the LLM or a person), a note (not
// work: Severity::Info) or kept as it is by a recipe (a note the report counts as fixed by the recipe).
enum class Standing { Left, Note, Kept };
Standing standing_of(const Finding& routed_finding);
// The counts of routed findings: found = left + notes + kept; blocking counts the left ones.
struct Account {
  size_t found = 0, left = 0, blocking = 0, notes = 0, kept = 0;
};

struct Plan {
  std::string repo;
  std::string target;  // e.g. "ascend-a2"
  std::vector<Step> steps;
  std::vector<std::string> notes;  // route choices and other explanations
  // Effort per file by what is left after codemods: none | low | medium | high.
  std::map<std::string, std::string> effort;
  Account sites;  // the findings as routed (route_all): left, notes, kept
};

// none: nothing left after codemods; low: only warnings or packaging; medium: recipes or up to
// three blocking sites to read; high: more, or custom kernels / build changes.
std::string effort_for(const std::vector<Finding>& file_findings);

const char* to_string(Phase p) noexcept;
const char* to_string(Action a) noexcept;
const char* to_string(Status s) noexcept;
// A finding as the plan routes it. py.cuda-only-import / py.cuda-only-use: by package (the first
// name of `matched`) with that package's advice and recipe (patches/advice), never the rule's one
// recipe for all; a guarded import whose advice needs no change, and the repository's own package
// (`own_packages`), become notes (Severity::Info). py.sdpa-float-mask is a performance note: SDPA
// with a float mask runs on the NPU (op-plugin ScaledDotProductAttentionKernelNpuOpApi.cpp).
// A finding whose recipe changes no code (kb::Recipe::outcome) gets the recipe's site_action:
// "kept" makes it a note (Severity::Info: handled by the recipe, e.g. a Triton kernel kept on
// triton-ascend), "left" leaves it for a person (a kernel DSL with no NPU backend).
Finding routed(Finding f, const kb::AdviceSet& advice, const std::set<std::string>& own_packages = {});
// The one routing of a scan's findings (issue 12, honest accounting): every finding routed with the
// shipped advice and the repository's own packages: as the findings' files show them, and, given its
// root, the repository's top-level folders (and src/'s) with an __init__.py (a package whose CUDA
// calls were all ported shows in no finding). scan's output, the plan, migrate's report and status
// all count from this.
std::vector<Finding> route_all(std::vector<Finding> findings, const std::filesystem::path& root = {});
Account account(const std::vector<Finding>& routed_findings);
// "3 left (1 blocking), 2 notes, 1 kept by a recipe": the one line scan, plan and status print.
std::string account_line(const Account& a);
// The shipped advice (patches/advice under kb::default_data_dir()), loaded once.
const kb::AdviceSet& shipped_advice();
// The shipped recipes (patches/recipes under kb::default_data_dir()), loaded once.
const kb::RecipeSet& shipped_recipes();
// The shipped recipe that keeps this finding's code as it is (outcome "kept"), or null.
const kb::Recipe* keeping_recipe(const Finding& f);
// What will handle a finding (as routed with the shipped advice): its codemod, its recipe, the LLM
// agent (blocking code without either) or a person.
Action action_for(const Finding& f);
// Which phase a finding category belongs to (patches/phases.toml).
Phase phase_for_category(std::string_view category);

// Deterministic: the same findings and target give the same plan (steps ordered by phase, then
// action, findings in stable order).
// `root`: the repository, for its own packages (route_all).
Plan make_plan(std::vector<Finding> findings, const std::string& repo, const std::string& target,
               const std::filesystem::path& root = {});

// The doctor's environment in the plan: its failing checks become the first environment step
// (for a person, each with its fix command), ahead of every code change.
void add_environment(Plan& plan, const std::vector<env::Check>& checks);

// Routes (patches/routes) that fit the repository: some file under root contains one of their
// detect texts. The one with the highest published throughput is the default, unless `chosen`
// names another. Adds a note per route (what it is, its stack, why it is or is not the default)
// and a first environment step with the chosen route's install commands and environment.
// When the chosen route replaces a folder of the repository (kb::Route::replaces: vLLM's own model
// class instead of the repository's out-of-tree one), the agent's sites in it move to a skipped
// step per phase, "<phase>-moot", that says why: no model is asked to port code the route does not
// run (issue 18 §8). Codemods and recipes still apply there (cheap, and right on either route).
// Returns the fitting routes, the chosen one first. Throws Error(Usage) for an unknown `chosen`.
std::vector<kb::Route> add_routes(Plan& plan, const std::filesystem::path& root,
                                  const std::vector<kb::Route>& routes, const std::string& chosen = "");
// The fitting routes in add_routes' order (the chosen or default one first), without touching a plan.
std::vector<kb::Route> fitting_routes(const std::filesystem::path& root, const std::vector<kb::Route>& routes,
                                      const std::string& chosen = "");
// The route whose stack the requirements follow: the first fitting route (in that order) with a
// vllm-ascend stack, on `cann_release` ("8.3") when one is given. With `chosen`: that route's
// stack or none. Throws Error(Usage) for an unknown `chosen`.
std::optional<kb::Route> stack_route(const std::filesystem::path& root, const std::vector<kb::Route>& routes,
                                     const std::string& chosen = "", const std::string& cann_release = "");

void to_json(nlohmann::json& j, const Step& s);
void to_json(nlohmann::json& j, const Plan& p);
std::string render_markdown(const Plan& p);

}  // namespace kcat::plan
