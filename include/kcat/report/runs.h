#pragma once
// Finding runs on disk: <repo>/.kcat/runs/<run-id>/.
#include <filesystem>
#include <string>
#include <vector>

namespace kcat::report {

// Run ids under <repo>/.kcat/runs, oldest first (ids sort by time).
std::vector<std::string> list_runs(const std::filesystem::path& repo);
// The directory of run `id` ("" or "latest" = the newest). Throws Error(Usage) with the known
// runs when it does not exist.
std::filesystem::path run_dir(const std::filesystem::path& repo, const std::string& id);

}  // namespace kcat::report
