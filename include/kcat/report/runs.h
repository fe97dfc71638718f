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

struct RunReport;
// Writes a run's report (report.json, and report.md with `more_markdown` after it) into its run
// folder `dir` and as the latest one in <repo>/.kcat/, where `kcat report` reads it. Every kind of
// run writes its report here: migrate, optimize, a session's request.
void write_run_report(const std::filesystem::path& repo, const std::filesystem::path& dir, const RunReport& r,
                      const std::string& more_markdown = "");

}  // namespace kcat::report
