#include "kcat/patch/worktree_safety.h"

#include <fmt/format.h>
#include <git2.h>

#include <algorithm>
#include <map>
#include <set>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"

namespace kcat::patch {

namespace fs = std::filesystem;

namespace {

std::string normal(const std::string& path) {
  auto p = fs::path(path).lexically_normal().generic_string();
  if (p == "." || p == "./") return {};
  while (!p.empty() && p.back() == '/') p.pop_back();
  return p;
}

// `file` is `dir` or below it.
bool under(const std::string& file, const std::string& dir) {
  return dir.empty() || file == dir ||
         (file.size() > dir.size() && file.compare(0, dir.size(), dir) == 0 && file[dir.size()] == '/');
}

}  // namespace

bool within_path(const std::string& file, const std::string& within) {
  return under(normal(file), normal(within));
}

std::optional<std::string> not_editable(const GitRepo& repo, const std::string& file,
                                        const std::string& within,
                                        const std::vector<std::string>& submodules) {
  auto f = normal(file);
  for (auto& s : submodules) {
    if (under(f, s)) return std::string("submodule: not edited");
  }
  auto w = normal(within);
  if (!under(f, w)) return "outside " + w + ": not edited";
  std::error_code ec;
  auto st = fs::symlink_status(repo.workdir() / f, ec);
  if (!ec && fs::exists(st) && !repo.is_tracked(f)) return std::string("untracked: not edited");
  return std::nullopt;
}

EditScope::EditScope(const GitRepo& repo, std::string within)
    : repo_(&repo), within_(normal(within)), submodules_(repo.submodule_paths()) {}

std::optional<std::string> EditScope::why_not(const std::string& file) const {
  return not_editable(*repo_, file, within_, submodules_);
}

std::vector<std::pair<Finding, std::string>> EditScope::take_not_editable(
    std::vector<Finding>& findings) const {
  std::map<std::string, std::optional<std::string>> seen;  // one index lookup per file
  std::vector<std::pair<Finding, std::string>> out;
  std::vector<Finding> keep;
  keep.reserve(findings.size());
  for (auto& f : findings) {
    auto it = seen.find(f.file);
    if (it == seen.end()) it = seen.emplace(f.file, why_not(f.file)).first;
    if (!it->second) {
      keep.push_back(std::move(f));
    } else if (it->second->rfind("outside ", 0) != 0) {
      out.emplace_back(std::move(f), *it->second);
    }
  }
  findings = std::move(keep);
  return out;
}

void check_branch_owned(const GitRepo& repo, const std::string& branch) {
  if (!repo.branch_exists(branch) || repo.current_branch() == branch || repo.head_id().empty()) return;
  auto beyond = repo.log("refs/heads/" + branch, "HEAD");
  if (beyond.empty()) return;  // at or behind HEAD: nothing on it to lose
  bool kcats = std::any_of(beyond.begin(), beyond.end(), [](const CommitInfo& c) {
    return c.trailers.count("Kcat-Run") || c.trailers.count("Kcat-Step");
  });
  if (kcats) return;
  throw Error(
      ErrorKind::Environment,
      fmt::format("the branch {} exists and kcat did not make it: its {} commit(s) beyond HEAD carry no "
                  "Kcat- trailers, so kcat will not build on it or check it out",
                  branch, beyond.size()),
      repo.workdir().string(),
      fmt::format("rename or delete it (git branch -m {} {}-mine), or give kcat another branch with "
                  "--branch NAME",
                  branch, branch));
}

void check_not_checked_out_elsewhere(const GitRepo& repo, const std::string& branch) {
  auto where = repo.checked_out_elsewhere(branch);
  if (where.empty()) return;
  throw Error(ErrorKind::Environment,
              "the branch " + branch + " is checked out in another work tree: " + where,
              repo.workdir().string(),
              "migrate there, or remove that work tree (git worktree remove " + where +
                  "), or give kcat another branch with --branch NAME");
}

std::string blob_id(const std::string& bytes) {
  git_libgit2_init();
  git_oid oid;
  int rc = git_odb_hash(&oid, bytes.data(), bytes.size(), GIT_OBJECT_BLOB);
  git_libgit2_shutdown();
  if (rc < 0) throw Error(ErrorKind::Git, "cannot hash a blob");
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, &oid);
  return buf;
}

nlohmann::json journal_json(const StepJournal& journal) {
  auto out = nlohmann::json::array();
  for (auto& e : journal) out.push_back({{"file", e.file}, {"before", e.before}, {"after", e.after}});
  return out;
}

StepJournal journal_of_ledger(const std::vector<nlohmann::json>& events) {
  StepJournal out;
  for (auto& e : events) {
    if (e.value("type", "") != "step-journal" || !e.contains("files") || !e["files"].is_array()) continue;
    for (auto& f : e["files"]) {
      auto text = [&f](const char* k) {
        auto it = f.find(k);
        return it != f.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      if (f.is_object() && !text("file").empty())
        out.push_back({text("file"), text("before"), text("after")});
    }
  }
  return out;
}

DirtySplit split_dirty(const GitRepo& repo, const std::vector<std::string>& dirty,
                       const StepJournal& journal) {
  std::map<std::string, std::set<std::string>> known;  // file -> blob ids a step had or wrote
  for (auto& e : journal) {
    if (!e.before.empty()) known[e.file].insert(e.before);
    if (!e.after.empty()) known[e.file].insert(e.after);
  }
  DirtySplit out;
  auto root = repo.workdir();
  for (auto& f : dirty) {
    auto it = known.find(f);
    bool ours = false;
    std::error_code ec;
    if (it != known.end() && fs::is_regular_file(root / f, ec))
      ours = it->second.count(blob_id(read_file(root / f)));
    (ours ? out.kcat : out.user).push_back(f);
  }
  return out;
}

}  // namespace kcat::patch
