#pragma once
// The optimize loop: apply a performance recipe (one commit) -> build -> bench -> keep the commit
// when it is clearly faster than the best so far (decide.h: the best and the candidate measured
// interleaved, a confidence interval of their ratio) and its output still matches the reference
// in every run, else revert it and record the evidence. After a keep the recipes reverted so far
// get one more try; the target counts as met only when a final A/B against the baseline shows it;
// at the end each kept recipe gets a leave-one-out check. Stops when the target is met, the recipes
// are exhausted, or a limit (iterations, minutes) is hit. Kept commits carry Kcat-Metric.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kcat/bench/bench.h"
#include "kcat/bench/profile.h"
#include "kcat/core/finding.h"
#include "kcat/exec/process.h"
#include "kcat/kb/recipe.h"
#include "kcat/optimize/decide.h"
#include "kcat/patch/edit.h"
#include "kcat/patch/git.h"

namespace kcat::optimize {

// Environment recipes write `export NAME='value'` lines here (committed like any change, so a
// revert drops them too); build and bench commands run with these variables, and a launch script
// on the NPU host sources the file.
inline constexpr const char* kEnvFile = "kcat_ascend_env.sh";

// Why a recipe does not apply to the repository ("" when it does): its when_findings,
// when_files and when_text conditions.
std::string why_not_applicable(const kb::Recipe& recipe, const std::filesystem::path& root,
                               const std::vector<Finding>& findings);
// The edits a recipe makes in the repository: its search/replace edits in matching files, its
// env entries in kEnvFile, its files, and its imports in each edited Python file. Edits marked
// at_findings change only matches that overlap a finding of the recipe's when_findings. Empty when
// it is already applied or nothing matches.
// A site a recipe's edit matched but did not change, and why (a name its module does not provide,
// a condition it could not show, no importable home for its module).
struct RecipeSkip {
  std::string file;
  uint32_t begin = 0, end = 0;  // the match's bytes
  std::string reason;
};
patch::Patch recipe_patch(const kb::Recipe& recipe, const std::filesystem::path& root,
                          const std::vector<Finding>& findings = {},
                          std::vector<RecipeSkip>* skipped = nullptr);
// Of a recipe step's findings, the ones its patch changes: a finding counts as fixed only when an
// edit of the patch overlaps its bytes (same file). A recipe that matched nothing fixes nothing.
std::vector<Finding> fixed_by_patch(const patch::Patch& p, const std::vector<Finding>& findings);
// The variables of kEnvFile at root (absent file: none). Throws Error(Parse) naming file:line.
std::map<std::string, std::string> read_env_file(const std::filesystem::path& root);

struct Reference {
  std::filesystem::path output;     // the dump the bench command writes (relative to the repo)
  std::filesystem::path reference;  // expected dump; empty: the baseline's output becomes it
  double rtol = 1e-3, atol = 1e-5;
  // Per dtype of the reference tensor, the least tolerance (rtol, atol) a kernel change may need:
  // a bf16 or f16 output compared at f32 tolerances would reject a genuine fused-kernel speed-up.
  // The defaults are torch.testing.assert_close's for those dtypes; the larger of this and
  // rtol/atol applies. Integer outputs (token ids) are compared exactly as ever (atol < 1).
  std::map<std::string, std::pair<double, double>> dtype_floor = {{"bf16", {1.6e-2, 1e-5}},
                                                                  {"f16", {1e-3, 1e-5}}};
};

struct Iteration {
  int index = 0;       // 0 is the baseline
  std::string recipe;  // recipe id ("" for the baseline)
  std::string title;
  std::string outcome;  // baseline | kept | reverted | failed (could not be applied)
  std::string reason;   // why reverted / failed; what improved when kept
  std::string commit;   // the kept commit, or the reverted one (for the record)
  std::optional<bench::Stats> stats;
  double speedup = 0;  // estimated speed-up over the baseline (the product of the kept ratios)
  double expected_gain = 0;
  std::string diff;
  // The evidence for keep or revert (absent when it never got to a measurement): the ratio to the
  // best so far, its interval, the runs, and the verdict keep | revert | inconclusive | failed.
  std::optional<Decision> decision;
  bool retry = false;  // a second try of a recipe reverted earlier, after another was kept
};

// A check at the end: "leave-one-out" (the branch with and without one kept change) or "final"
// (the branch against the baseline, before the target is claimed).
struct Check {
  std::string kind;
  std::string recipe;  // the kept change left out ("" for the final A/B)
  std::string commit;
  Decision decision;
  std::string finding;  // what it says, one sentence
};

struct Proposal {
  std::string id;     // e.g. "llm-1"
  std::string title;  // what the change does, one line
};

struct Outcome;

struct Options {
  std::string build_command;  // run with /bin/sh -c in the repo; empty: nothing to build
  std::chrono::milliseconds build_timeout{0};
  bench::Spec bench;             // command, metric, runs; cwd defaults to the repo
  std::optional<double> target;  // absolute metric to reach
  double target_speedup = 0;     // or: this multiple of the baseline (0 = none)
  int max_iterations = 10;
  double max_minutes = 0;     // 0 = no limit
  double min_gain = 0.02;     // a kept change is clearly faster than the best by at least this fraction
  int min_pairs = 8;          // A/B pairs before any verdict (decide.h)
  int max_pairs = 20;         // A/B pairs at most per decision: then "inconclusive" (reverted)
  bool leave_one_out = true;  // the check of each kept change at the end (when two or more)
  std::optional<Reference> reference;
  std::vector<std::string> prefer;  // recipe ids tried first (e.g. from the profile's hints)
  std::vector<std::string> only;    // when set: just these recipes
  std::string author_name = "kcat";
  std::string author_email = "kcat@localhost";
  std::string run_id;
  std::string upstream;  // the branch the port started from: the Kcat-Upstream trailer of its commits
  // A team's gate at "after_build" and "after_bench": a returned reason vetoes (reverts) the change.
  std::function<std::optional<std::string>(const std::string& stage, const std::string& detail)> hook;
  // Remote runs (an Atlas host over ssh): called before every build, after each commit or revert,
  // to send the branch there; and to bring the output dump back for the reference check.
  std::function<void()> before_build;
  // Once the recipes are exhausted and the target is not met: make one more change as commits on
  // the branch (the LLM agent does, from the benchmark output and the profile) and say what it is;
  // nullopt when there is nothing more to propose. Kept or reverted like a recipe.
  std::function<std::optional<Proposal>(const Outcome& so_far)> propose;
  std::function<std::filesystem::path(const std::filesystem::path& output)> fetch_output;
  std::function<void(const Iteration&)> on_iteration;
  std::function<void(const std::string& type, const nlohmann::json& fields)> record;  // the ledger
  std::function<bool()> cancelled;
};

struct Outcome {
  std::vector<Iteration> iterations;
  std::optional<bench::Stats> baseline;
  std::optional<bench::Stats> best;
  std::optional<double> target;  // the absolute target, when there is one
  bool target_met = false;
  std::string stop_reason;        // target met | recipes exhausted | max iterations | time budget | cancelled
  std::vector<Check> checks;      // leave-one-out and final A/B checks, in order
  std::optional<double> speedup;  // of the branch over the baseline, by the last final A/B
  std::vector<std::string> not_applicable;  // "id: why"
  std::string unit;
};

// Runs the loop on the checked-out branch of `repo`. Throws Error(Environment) when the baseline
// does not build or the benchmark produces no number before any change.
Outcome run(patch::GitRepo& repo, const kb::RecipeSet& recipes, const std::vector<Finding>& findings,
            const Options& options, exec::Runner& runner);

// The profile's say on the order: performance recipes whose `addresses` name an operator type the
// profile's hints or top operators point at, by the share of device time behind them.
std::vector<std::string> prefer_from_profile(const bench::Summary& profile, const kb::RecipeSet& recipes);

std::string render_markdown(const Outcome& outcome);
nlohmann::json to_json(const Outcome& outcome);

}  // namespace kcat::optimize
