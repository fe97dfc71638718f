#pragma once
// The migration branch through libgit2: kcat never writes to the user's branch or over
// uncommitted work. Every step is one commit; undo is a reset to the step's parent.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kcat/core/error.h"

namespace kcat::patch {

// HEAD is no longer the branch kcat pinned (a hook or another program checked out another one):
// nothing was staged or committed. A migration stops on it rather than going on elsewhere.
struct BranchMoved : Error {
  using Error::Error;
};

struct CommitInfo {
  std::string id;       // full hex oid
  std::string summary;  // first line of the message
  std::string message;
  std::map<std::string, std::string> trailers;  // Kcat-Run, Kcat-Step, Kcat-Rules, Kcat-Metric
};

class GitRepo {
 public:
  // Opens the repository containing `path`. Throws Error(Git) with a hint when there is none.
  static GitRepo open(const std::filesystem::path& path);
  // `git init` + an initial commit of every file (used by `kcat migrate --init`).
  static GitRepo init_with_initial_commit(const std::filesystem::path& path, const std::string& author_name,
                                          const std::string& author_email);
  static bool is_repository(const std::filesystem::path& path);

  GitRepo(GitRepo&&) noexcept;
  GitRepo& operator=(GitRepo&&) noexcept;
  ~GitRepo();

  std::filesystem::path workdir() const;
  std::string current_branch() const;  // "" when detached
  std::string head_id() const;
  // Tracked files with uncommitted changes (index or work tree), repository-relative.
  std::vector<std::string> dirty_files() const;
  bool branch_exists(const std::string& name) const;
  // In the index (tracked), repository-relative with '/'; the index is re-read from disk.
  bool is_tracked(const std::string& path) const;
  // Paths of the submodules (gitlinks in the index), repository-relative.
  std::vector<std::string> submodule_paths() const;
  // Where `branch` is checked out when it is not here (another work tree's path); "" when nowhere else.
  std::string checked_out_elsewhere(const std::string& branch) const;
  // git checkout HEAD -- files: the given tracked files as HEAD has them (resume puts back what an
  // interrupted step wrote, and nothing else).
  void restore_from_head(const std::vector<std::string>& files);
  // From now on commit, add_trailers_to_head and reset_hard first check that HEAD is `branch` and
  // throw BranchMoved (touching nothing) when it is not. "" unpins.
  void pin_branch(const std::string& branch);
  // Creates `name` at HEAD (or at `from`) if missing, and checks it out (safe checkout; ignored
  // files are not overwritten; a branch checked out in another work tree is refused up front).
  void checkout_new_or_existing(const std::string& name, const std::string& from = "");
  void checkout(const std::string& name);
  // Stages the given files (or all changes when empty) and commits on the current branch.
  // Committer is "kcat"; author from the arguments. Trailers are appended as "Key: value".
  std::string commit(const std::string& message, const std::map<std::string, std::string>& trailers,
                     const std::vector<std::string>& files, const std::string& author_name,
                     const std::string& author_email);
  // Adds trailers to the HEAD commit's message (amend; tree, author and parents unchanged), e.g.
  // Kcat-Metric once the benchmark of a kept change is known. Returns the new commit id.
  std::string add_trailers_to_head(const std::map<std::string, std::string>& trailers);
  // Replaces the commits after `base` on the current branch by one commit with HEAD's tree, `base`
  // as its parent and this message (the agent's step becomes one commit). Index and work tree are
  // untouched (the tree is HEAD's); the branch moves in one ref update, so a kill leaves either the
  // old commits or the new one. Returns the new commit id. A `base` HEAD does not descend from (the
  // branch was reset or rebased under the step) throws BranchMoved, touching nothing.
  std::string squash_onto(const std::string& base, const std::string& message,
                          const std::map<std::string, std::string>& trailers, const std::string& author_name,
                          const std::string& author_email);
  // Creates the reference `name` (e.g. refs/kcat/attempts/run/step) at commit `id`. It never moves
  // an existing one (what it points at may be the only way to a kept attempt): when `name` exists,
  // `name-2`, `name-3`, ... is created instead. Returns the name written.
  std::string set_ref(const std::string& name, const std::string& id, const std::string& log_message);
  // Moves the current branch to `id` and resets index and work tree (used by undo and revert).
  void reset_hard(const std::string& id);
  std::vector<CommitInfo> log(const std::string& from, const std::string& until = "",
                              size_t max = 1000) const;
  // Unified diff between two commits (or commit and work tree when `to` is empty).
  std::string diff(const std::string& from, const std::string& to) const;
  // The paths a commit `to` changed since `from` (added, modified or renamed to; not deleted).
  std::vector<std::string> changed_files(const std::string& from, const std::string& to) const;
  // The bytes of `path` (repository-relative) at `commit`; nullopt when it has no such file.
  std::optional<std::string> file_at(const std::string& commit, const std::string& path) const;
  // A linked work tree at `path` with `branch` checked out (the branch is created at HEAD when
  // missing); reused when it already exists. Returns the work tree's repository.
  GitRepo add_worktree(const std::string& name, const std::filesystem::path& path, const std::string& branch);
  // Replays the commits of the checked-out `branch` that are not in `onto` on top of `onto`
  // (authors kept, committer kcat). On a conflict everything is put back as it was and
  // Error(Git) names the conflicting files. Returns the number of commits replayed.
  // `each`, when set, is called after each replayed commit (the kill points of tests).
  size_t rebase_onto(const std::string& branch, const std::string& onto,
                     const std::function<void()>& each = {});
  // A rebase left in progress (a run killed during `--update`): true while .git/rebase-merge is there.
  bool rebase_in_progress() const;
  // Aborts it: the branch and HEAD go back to where the rebase started. Returns that branch's name.
  std::string abort_rebase();
  // git reset -- files: the index entries of `files` as HEAD has them (a file HEAD lacks leaves the
  // index); the work tree is not touched.
  void unstage(const std::vector<std::string>& files);
  // The repository's git directory shared by all its work trees (.git of the main one).
  std::filesystem::path common_dir() const;
  // This work tree's own git directory (.git, or .git/worktrees/<name> for a linked one).
  std::filesystem::path git_dir() const;
  // user.name / user.email from git config (repository, then global); empty when unset.
  std::pair<std::string, std::string> configured_identity() const;
  // The commit where `branch` left `base` (merge base).
  std::string merge_base(const std::string& a, const std::string& b) const;

 private:
  struct Impl;
  explicit GitRepo(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kcat::patch
