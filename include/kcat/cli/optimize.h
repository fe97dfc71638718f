#pragma once
// The optimize phase as `kcat optimize` and the last phase of `kcat migrate` run it: settings from
// kcat.toml ([build], [bench], [optimize], [hooks]) with command-line overrides, recipes from the
// knowledge base and the repository, the loop, and its record in the run's ledger and report.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kcat/cli/config.h"
#include "kcat/core/finding.h"
#include "kcat/kb/recipe.h"
#include "kcat/optimize/optimize.h"
#include "kcat/patch/git.h"
#include "kcat/report/ledger.h"
#include "kcat/report/run_report.h"

namespace kcat::cli {

struct OptimizeOverrides {
  std::string build_command;
  std::string bench_command;
  std::string metric;
  std::string metric_json;
  std::string unit;
  int runs = 0;
  std::optional<double> target;
  double target_speedup = 0;
  int max_iterations = 0;
  double max_minutes = 0;
  std::vector<std::string> recipes;
  std::vector<std::string> prefer;  // e.g. from a profile's hints
  std::string host;                 // run build and bench on this host over ssh ([remote] host)
  std::vector<std::string> ssh_args;
  std::string remote_dir;
  bool use_llm = true;  // with an LLM configured, it proposes changes once recipes run out
  int max_proposals = 3;
  std::string profile_text;  // the profile's summary, for the LLM's proposals
};

// kcat's recipes (patches/recipes) with the repository's own ([optimize] recipe_dirs) merged in.
kb::RecipeSet load_recipe_set(const std::filesystem::path& root, const Config& config);

// True when a benchmark command is known (kcat.toml [bench] command or an override).
bool optimize_configured(const Config& config, const OptimizeOverrides& o);

// Runs the loop in `repo` (already on the migration branch), recording into `ledger` and filling
// the optimization part of `report`. Throws Error(Usage) when nothing says how to benchmark.
optimize::Outcome optimize_phase(patch::GitRepo& repo, const Config& config, const OptimizeOverrides& o,
                                 const std::vector<Finding>& findings, const std::string& run_id,
                                 report::Ledger& ledger, report::RunReport& report);

}  // namespace kcat::cli
