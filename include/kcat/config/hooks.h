#pragma once
// [hooks] of kcat.toml: a team's own gates, run at after_edit, after_build, after_bench and
// before_commit. Exit 2 vetoes the step (its output is the reason); any other failure is shown as a
// warning and does not stop the run.
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "kcat/config/config.h"
#include "kcat/report/ledger.h"

namespace kcat::cli {

// Runs the hook for `stage` when one is configured, in `root`, with KCAT_STAGE and `env` set.
// Returns the veto reason, or nullopt when it passed or none is configured. Recorded in the ledger.
std::optional<std::string> run_hook(const Config& config, const std::string& stage,
                                    const std::filesystem::path& root, std::map<std::string, std::string> env,
                                    report::Ledger* ledger);

}  // namespace kcat::cli
