#pragma once
// kcat migrate as a layer: a Migration runs its phases in order (src/migrate/, docs/design.md):
// prepare (repository, branch, resume, update) -> environment (kcat.toml, rules, knowledge base,
// recipes; the run's ledger) -> codemods and port recipes (re-scan and re-plan after each step,
// every step through the patch -> verify -> commit gate) or the shim -> agent -> report ->
// optimize -> finish. The command line parses flags into Options and prints the Outcome.
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kcat/report/run_report.h"
#include "kcat/scan/scanner.h"

namespace kcat::migrate {

// -i: the person's answer before a step's commit.
enum class Approval { Yes, No, All };

struct Options {
  std::filesystem::path path = ".";
  std::string target = "ascend-a2";
  std::string mode = "source";  // source | shim
  std::string branch;           // default kcat/<target>
  std::string author;           // "Name <email>"
  bool init = false;            // make the folder a git repository first
  bool allow_dirty = false;     // migrate in a separate work tree (.kcat/worktrees/<target>)
  bool update = false;          // carry the branch forward: rebase onto the new upstream, port what is new
  std::string onto;             // with update: the upstream (default: the branch the run started from)
  std::string route;       // --route: a route of patches/routes (as `kcat plan --route`); "" = the default
  double max_minutes = 0;  // budget: stop between steps once exceeded (exit 5); 0 = none
  std::string config;      // --config FILE (kcat.toml)
  bool resume = false;
  bool optimize = true;  // run the optimize phase when kcat.toml configures [bench]
  bool use_llm = true;   // run the agent on LLM steps when an endpoint is configured
  int max_turns = 16;    // agent: model calls per step
  long max_tokens = 0;   // agent: tokens for the run (0 = none)
  double max_cost = 0;   // agent: cost for the run (0 = none)
  bool use_cache = true;
  std::vector<std::string> rules;
  scan::SiteFilter filter;  // --select / --exclude: sites outside it are neither edited nor counted as left

  // Set by the caller. -i: asked before each step's commit (question, the step's diff, why: the
  // commit message kcat will write, with each rule's reason and source, or the agent step's task);
  // unset = commit without asking.
  std::function<Approval(const std::string& question, const std::string& diff, const std::string& why)>
      approve;
  // The model's words as they stream (a terminal); unset = not shown.
  std::function<void(std::string_view text)> on_text;
  // Progress lines of the optimize phase; unset = not shown.
  std::function<void(const std::string& line)> progress;
  // Called at each named point of a step (before-apply, before-commit, after-commit). Unset: the
  // KCAT_TEST_KILL_AT=<point>:<n> test hook (SIGKILL at the n-th time a point is reached).
  std::function<void(const char* point)> at_point;
};

struct Outcome {
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

// Runs a whole migration. Throws Error(Usage) for bad options or nothing to resume or update,
// Error(Environment) for a folder that is not a git repository or has uncommitted changes.
Outcome run(const Options& options);

}  // namespace kcat::migrate
