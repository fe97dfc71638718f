#pragma once
// The one gate every change passes, whoever proposed it (a rule's codemod, a recipe, the LLM
// agent, the optimize loop): apply the edits, verify (re-parse: no new syntax errors; Python
// still compiles), then commit, or put every byte back and say why.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kcat/patch/edit.h"
#include "kcat/patch/git.h"
#include "kcat/patch/worktree_safety.h"

namespace kcat::patch {

// Names a change leaves used but never bound, and imports of repository modules that do not exist
// (semantic_check.h names_check), in the changed .py files: not checked, told (GateOutcome::warnings,
// the change is committed), or refused.
enum class NameCheck { Off, Warn, Refuse };

struct GateOptions {
  std::string message;                          // first line + body of the commit
  std::map<std::string, std::string> trailers;  // Kcat-Run, Kcat-Step, Kcat-Rules, ...
  std::string author_name = "kcat";
  std::string author_email = "kcat@localhost";
  bool py_compile = true;               // when python3 is on PATH
  std::function<void()> before_commit;  // called after verify passed, before the commit
  // A team's gate, called at "after_edit" (edits written, before verification) and at
  // "before_commit"; a returned reason vetoes the step (rolled back, recorded).
  std::function<std::optional<std::string>(const std::string& stage, const std::vector<std::string>& files)>
      hook;
  // Only files under this repository-relative directory may change ("" = anywhere in the
  // repository). Untracked files and files inside submodules never may (see worktree_safety.h).
  std::string within;
  // Told each file's blob id before and after, before the first byte is written (the ledger keeps
  // it, so a resume knows which dirty files are kcat's).
  std::function<void(const StepJournal&)> journal;
  NameCheck names = NameCheck::Off;
  // Asked right before the commit: true (Ctrl-C, SIGTERM) rolls the step back instead, and the
  // outcome's failed_checks is {"interrupted"}. A signal after this question lets the commit finish.
  std::function<bool()> cancelled;
};

struct GateOutcome {
  bool committed = false;
  std::string commit;               // the new commit, when committed
  std::vector<std::string> files;   // files the patch changed
  std::vector<std::string> checks;  // verifications run: reparse, py_compile (scope: refused up front)
  std::vector<std::string> failed_checks;
  std::string reason;                 // why it was refused (names file and line)
  std::string diff;                   // unified diff of the change
  std::vector<std::string> warnings;  // NameCheck::Warn: what the change leaves undefined
};

// Verification alone, on files already written: compares each file's syntax-error count and
// compile status against `before` (path -> old bytes). Returns the failed checks with reasons.
GateOutcome verify_files(const std::filesystem::path& root, const std::map<std::string, std::string>& before,
                         bool py_compile);

// A patch that names a file kcat must not edit (untracked, in a submodule, outside `within`) is
// refused whole before anything is written: failed check "scope", the reason names the files.
// When the commit itself fails (BranchMoved above all), every byte is put back and the error rethrown.
GateOutcome apply_verify_commit(GitRepo& repo, const Patch& patch, const GateOptions& options);

// Language of a file for re-parsing ("python", "cpp", "cuda" or "").
std::string parse_language(const std::string& path);

}  // namespace kcat::patch
