#pragma once
// The optimize phase as `kcat optimize` and the last phase of `kcat migrate` run it: settings from
// kcat.toml ([build], [bench], [optimize], [remote], [hooks]) with command-line overrides, recipes
// from the knowledge base and the repository, the loop (on an Atlas host over ssh when [remote]
// names one; with LLM proposals once recipes run out), and its record in the ledger and report.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kcat/config/config.h"
#include "kcat/core/finding.h"
#include "kcat/kb/recipe.h"
#include "kcat/optimize/optimize.h"
#include "kcat/patch/git.h"
#include "kcat/plan/plan.h"
#include "kcat/report/ledger.h"
#include "kcat/report/run_report.h"

namespace kcat::migrate {

struct OptimizeOverrides {
  std::string upstream;  // Kcat-Upstream of the commits it makes (migrate: the branch it ported from)
  std::string build_command;
  std::string bench_command;
  std::string metric;
  std::string metric_json;
  std::string unit;
  int runs = 0;
  std::optional<double> target;
  double target_speedup = 0;
  int max_iterations = 0;
  int max_pairs = 0;  // 0: [optimize] max_pairs, else optimize::Options' default (20)
  double max_minutes = 0;
  std::vector<std::string> recipes;
  std::vector<std::string> prefer;  // e.g. from a profile's hints
  std::string host;                 // run build and bench on this host over ssh ([remote] host)
  std::vector<std::string> ssh_args;
  std::string remote_dir;
  bool use_llm = true;  // with an LLM configured, it proposes changes once recipes run out
  int max_proposals = 3;
  std::string profile_text;  // the profile's summary, for the LLM's proposals
  // Progress lines (each iteration, the remote host); unset = not shown.
  std::function<void(const std::string& line)> progress;
};

// kcat's recipes (patches/recipes) with the repository's own ([optimize] recipe_dirs) merged in.
kb::RecipeSet load_recipe_set(const std::filesystem::path& root, const cli::Config& config);

// True when a benchmark command is known (kcat.toml [bench] command or an override).
bool optimize_configured(const cli::Config& config, const OptimizeOverrides& o);

// The loop's options: kcat.toml with the overrides on top, hooks and the ledger wired in. Throws
// Error(Usage) when nothing says how to benchmark.
optimize::Options optimize_options(const std::filesystem::path& root, const cli::Config& config,
                                   const OptimizeOverrides& ov, const std::string& run_id,
                                   report::Ledger& ledger);

// The plan's performance phase: what the optimize loop would try on the NPU for this repository
// (its applicable performance recipes in the loop's order, and those that do not apply, with why)
// and how it measures, or, before [bench] is configured, what to configure.
plan::Step performance_step(const std::filesystem::path& root, const cli::Config& config,
                            const std::vector<Finding>& findings);

// The optimization part of `report`: each iteration, and each as a step.
void record_iterations(const optimize::Outcome& out, bool with_reference, report::RunReport& report);

// Runs the loop in `repo` (already on the migration branch), recording into `ledger` and filling
// the optimization part of `report`. Throws Error(Usage) when nothing says how to benchmark.
optimize::Outcome optimize_phase(patch::GitRepo& repo, const cli::Config& config, const OptimizeOverrides& o,
                                 const std::vector<Finding>& findings, const std::string& run_id,
                                 report::Ledger& ledger, report::RunReport& report);

}  // namespace kcat::migrate
