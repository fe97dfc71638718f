#pragma once
// What every caller of agent::run in kcat shares (migrate's agent phase, the optimize phase's
// proposals, the interactive session's requests): one place that turns kcat.toml and a run's
// ledger into the agent's options and client.
#include <string>

#include "kcat/agent/agent.h"
#include "kcat/config/config.h"
#include "kcat/llm/config.h"
#include "kcat/patch/git.h"
#include "kcat/report/ledger.h"
#include "kcat/report/run_report.h"

namespace kcat::migrate {

// The run id; the commands an unattended agent may run (kcat.toml [agent] commands, the build
// command and the [agent] check, which also decides when a step is done); the bench command for its run_bench
// tool; the ledger as its record, with the API key redacted there; Ctrl-C as cancellation. The caller adds
// the rest (target, budgets, hooks, interactive approvals, streaming). The files kcat's configured commands
// run (under `root`) are protected from the agent's edits, as kcat.toml and .kcat/ always are.
agent::Options agent_options(const llm::LlmConfig& llm, const std::string& build_command,
                             const std::string& bench_command, const cli::Config& config,
                             const std::filesystem::path& root, const std::string& run_id,
                             report::Ledger& ledger);
// The same, with kcat.toml's own build and bench commands.
agent::Options agent_options(const llm::LlmConfig& llm, const cli::Config& config,
                             const std::filesystem::path& root, const std::string& run_id,
                             report::Ledger& ledger);

// The report's record of one agent step (a migrate task or a session's request), titled `title`:
// its status, its reason with the findings the model disputed and where reverted edits are kept,
// and the diff of its commits.
report::StepRecord agent_step_record(const agent::StepOutcome& st, const std::string& title,
                                     const patch::GitRepo& repo);
// Whether a finding given to the agent is still found after it (same file, rule and matched text:
// its line may have moved).
bool still_found(const Finding& f, const std::vector<Finding>& after);

}  // namespace kcat::migrate
