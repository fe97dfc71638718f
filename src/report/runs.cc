#include "kcat/report/runs.h"

#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/report/run_report.h"

namespace kcat::report {

std::vector<std::string> list_runs(const std::filesystem::path& repo) {
  std::vector<std::string> ids;
  std::error_code ec;
  auto dir = repo / ".kcat" / "runs";
  if (!std::filesystem::is_directory(dir, ec)) return ids;
  for (auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_directory()) ids.push_back(e.path().filename().string());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::filesystem::path run_dir(const std::filesystem::path& repo, const std::string& id) {
  auto ids = list_runs(repo);
  if (ids.empty()) {
    throw Error(ErrorKind::Usage, "no kcat runs in this repository", (repo / ".kcat" / "runs").string(),
                "run `kcat migrate " + repo.string() + " --target ascend-a2` first");
  }
  if (id.empty() || id == "latest") return repo / ".kcat" / "runs" / ids.back();
  // A unique prefix is enough, as with git commit ids.
  std::vector<std::string> hits;
  for (auto& r : ids) {
    if (r.rfind(id, 0) == 0) hits.push_back(r);
  }
  if (hits.size() == 1) return repo / ".kcat" / "runs" / hits[0];
  std::string known;
  for (auto& r : ids) known += (known.empty() ? "" : ", ") + r;
  throw Error(ErrorKind::Usage, hits.empty() ? "no run '" + id + "'" : "run id '" + id + "' is ambiguous",
              (repo / ".kcat" / "runs").string(), "known runs: " + known);
}

void write_run_report(const std::filesystem::path& repo, const std::filesystem::path& dir, const RunReport& r,
                      const std::string& more_markdown) {
  auto json = render_json(r);
  auto md = render_markdown(r) + (more_markdown.empty() ? "" : "\n" + more_markdown);
  write_file_atomic(dir / "report.json", json);
  write_file_atomic(dir / "report.md", md);
  write_file_atomic(repo / ".kcat" / "report.json", json);
  write_file_atomic(repo / ".kcat" / "report.md", md);
}

}  // namespace kcat::report
