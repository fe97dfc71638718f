#pragma once
// kcat migrate: scan -> plan -> for each codemod step: edit -> verify -> commit (re-scanning after
// every change), on the branch kcat/<target>, recorded in .kcat/runs/<id>/.
#include <filesystem>
#include <string>
#include <vector>

#include "kcat/report/run_report.h"

namespace kcat::cli {

struct MigrateOptions {
  std::filesystem::path path = ".";
  std::string target = "ascend-a2";
  std::string mode = "source";  // source | shim
  std::string branch;           // default kcat/<target>
  std::string author;           // "Name <email>"
  bool init = false;
  bool allow_dirty = false;
  bool update = false;  // carry the branch forward: rebase onto the new upstream, port what is new
  std::string onto;
  double max_minutes = 0;
  std::string
      config;  // --config FILE (kcat.toml)        // budget: stop between steps once exceeded (exit 5); 0 =
               // none              // with update: the upstream commit (default: the branch the run started
               // from)      // migrate in a separate work tree (.kcat/worktrees/<target>)
  bool resume = false;
  bool interactive = false;  // -i: show each step's diff and ask before committing it
  bool optimize = true;      // run the optimize phase when kcat.toml configures [bench]
  bool use_llm = true;       // run the agent on LLM steps when an endpoint is configured
  int max_turns = 16;        // agent: model calls per step
  long max_tokens = 0;       // agent: tokens for the run (0 = none)
  double max_cost = 0;       // agent: cost for the run (0 = none)
  bool use_cache = true;
  std::vector<std::string> rules;
};

struct MigrateOutcome {
  report::RunReport report;
  std::filesystem::path run_dir;
  bool changed_anything = false;
  bool budget_exhausted = false;  // --max-minutes stopped the run before its last step
  bool optimized = false;         // the optimize phase ran
  bool llm_failed = false;        // the LLM endpoint failed for good (exit 4)
  bool loop_detected = false;     // the agent repeated a failing edit (exit 6)
  struct Usage {
    long prompt_tokens = 0, completion_tokens = 0;
    double cost = 0;
    int requests = 0;
  } llm_usage;
  bool target_missed = false;  // it ran with a target and did not reach it
};

MigrateOutcome run_migrate(const MigrateOptions& options);

// The targets kcat knows, for validation and help.
const std::vector<std::string>& known_targets();

}  // namespace kcat::cli
