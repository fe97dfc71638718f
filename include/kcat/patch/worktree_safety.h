#pragma once
// The user's work is never lost (issue 14 §2). What kcat may edit and commit, checked before a
// migration starts and again at the gate, wherever the migration code lives:
//  - only tracked files: an untracked or ignored file is the user's (reported "untracked: not edited");
//  - not inside a submodule: it is another repository (reported "submodule: not edited");
//  - only under the path the user gave (`kcat migrate projA` leaves projB alone);
//  - only on a branch kcat made, and not one checked out in another work tree;
//  - on resume, only the files an interrupted step wrote (a step journal of blob ids says which).
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/patch/git.h"

namespace kcat::patch {

// Why kcat must not edit `file` (repository-relative): "submodule: not edited",
// "outside <within>: not edited" or "untracked: not edited"; nullopt when it may. `within` is a
// repository-relative directory ("" = the whole repository); `submodules` as GitRepo::submodule_paths.
// A file that does not exist yet may be created (unless outside `within` or in a submodule).
std::optional<std::string> not_editable(const GitRepo& repo, const std::string& file,
                                        const std::string& within,
                                        const std::vector<std::string>& submodules);

// Whether `file` is `within` or below it (both repository-relative, normalised: "./src/" is "src";
// "" or "." is the whole repository).
bool within_path(const std::string& file, const std::string& within);

// The files a migration of `within` may touch, for filtering findings before they become edits.
class EditScope {
 public:
  EditScope(const GitRepo& repo, std::string within);
  const std::string& within() const { return within_; }
  std::optional<std::string> why_not(const std::string& file) const;
  // Takes out of `findings` those kcat must not edit. Returns the ones to report, with the reason
  // (untracked, submodule); findings outside `within` are dropped: they are not part of this migration.
  std::vector<std::pair<Finding, std::string>> take_not_editable(std::vector<Finding>& findings) const;

 private:
  const GitRepo* repo_;
  std::string within_;
  std::vector<std::string> submodules_;
};

// Throws Error(Environment) when `branch` exists, is not checked out here, and its commits beyond
// HEAD carry no Kcat- trailers: kcat did not make it, so it neither builds on it nor checks it out
// (which could overwrite ignored files). The hint names the fix: rename/delete it, or --branch NAME.
void check_branch_owned(const GitRepo& repo, const std::string& branch);

// Throws Error(Environment) naming the work tree when `branch` is checked out in another one.
void check_not_checked_out_elsewhere(const GitRepo& repo, const std::string& branch);

// git's blob id of `bytes` (what `git hash-object` prints).
std::string blob_id(const std::string& bytes);

// What one step is about to do to each file: its blob id before and the one the step writes
// ("" = the file does not exist). Written to the ledger before the first byte changes.
struct JournalEntry {
  std::string file;
  std::string before;
  std::string after;
};
using StepJournal = std::vector<JournalEntry>;
nlohmann::json journal_json(const StepJournal& journal);
// Every entry of every "step-journal" event ({"files": [...]}) of a ledger.
StepJournal journal_of_ledger(const std::vector<nlohmann::json>& events);

// The dirty files of an interrupted run, split: those whose content is what a journaled step had
// before or wrote (kcat's; safe to put back from HEAD) and the rest (the user's; never touched).
struct DirtySplit {
  std::vector<std::string> kcat;
  std::vector<std::string> user;
};
DirtySplit split_dirty(const GitRepo& repo, const std::vector<std::string>& dirty,
                       const StepJournal& journal);

}  // namespace kcat::patch
