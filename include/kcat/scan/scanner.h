#pragma once
// The scan pipeline: walk the repository (honouring .gitignore, never leaving it through a
// symlink), prefilter each file with a literal search, parse only candidates, in parallel, and
// reuse cached findings for files that did not change.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/kb/rule.h"

namespace kcat::scan {

// Which sites a run looks at (--select / --exclude of rules, --select-path / --exclude-path of
// files). A rule pattern matches a rule id as a glob ("py.cuda-*") or as a prefix ("py." or
// "py.cuda"); a path pattern matches a repository-relative path as a path glob ("tests/**",
// "**/*_test.py") or as a folder ("vendor" matches vendor/a.py).
struct SiteFilter {
  std::vector<std::string> select;         // rules; empty = every rule
  std::vector<std::string> exclude;        // rules
  std::vector<std::string> select_paths;   // files; empty = every file
  std::vector<std::string> exclude_paths;  // files
  bool empty() const {
    return select.empty() && exclude.empty() && select_paths.empty() && exclude_paths.empty();
  }
};

bool rule_pattern_matches(std::string_view pattern, std::string_view rule_id);
bool path_pattern_matches(std::string_view pattern, std::string_view path);

// A site the scan found and set aside: by a `kcat: ignore[...]` comment in the code, or by the
// run's --select / --exclude. Counted and listed, never silently dropped.
struct Suppressed {
  Finding finding;
  std::string by;        // "comment" or "option"
  std::string reason;    // the comment's reason ("" when it gave none: reported as a note)
  int comment_line = 0;  // 1-based line of the comment (by "comment")
};

struct ScanOptions {
  std::filesystem::path root;
  unsigned jobs = 0;                    // 0 = all cores
  bool use_cache = true;                // scan-v3.bin in user_cache_dir(root) (core/fs.h)
  uint64_t max_file_size = 5ull << 20;  // larger files are skipped (listed)
  bool include_info = false;            // keep info findings (comments, docstrings, messages)
  std::vector<std::string> only_files;  // repository-relative; empty = walk everything
  // Repository-relative folders: walk the repository and keep only the files under one of them
  // (with only_files: those files too). `kcat scan FILE DIR ...`.
  std::vector<std::string> within;
  SiteFilter filter;                // the run's --select / --exclude
  bool honour_suppressions = true;  // `# kcat: ignore[rule] reason` comments
};

struct SkippedFile {
  std::string path;
  std::string reason;
};

struct ScanResult {
  std::vector<Finding> findings;  // stable order (file, offset, rule)
  std::vector<SkippedFile> skipped;
  std::vector<std::string> files_with_syntax_errors;
  size_t files_seen = 0;             // files of a scanned kind
  size_t files_prefiltered_out = 0;  // no rule literal in them: never parsed
  size_t files_parsed = 0;
  size_t files_from_cache = 0;
  std::vector<Suppressed> suppressed;  // set aside by comment or option (stable order)
  double seconds = 0;
};

ScanResult scan(const ScanOptions& options, const kb::RuleSet& rules);

// Moves the findings that `filter` leaves out, or that a suppression comment covers, from
// `result.findings` to `result.suppressed`. A comment `# kcat: ignore[rule-id, ...] reason` (or
// `// kcat: ignore[...]`) covers its own line, or the next line when it stands alone on its
// line; without brackets it covers every rule (as ruff's bare `# noqa`). A comment without a
// reason still suppresses (as ruff's noqa, which never asks for one) and is reported as a note.
void apply_suppressions(const std::filesystem::path& root, const ScanOptions& options, ScanResult& result);
// How many suppression comments (`# kcat: ignore...`, `// kcat: ignore...`) a text holds.
size_t suppression_comments(std::string_view text);

// The repository a path belongs to: the nearest folder at or above it (its folder, for a file)
// that holds .git; without one, the folder itself. Canonical.
std::filesystem::path repository_root_of(const std::filesystem::path& path);

// The language kcat scans a file as ("" for files it does not scan), from its name.
std::string language_for(const std::filesystem::path& relative_path);
// The same for a '/'-separated relative path, without making a path: "" when kcat does not scan it.
std::string_view language_of(std::string_view relative_path);

}  // namespace kcat::scan
