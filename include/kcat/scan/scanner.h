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

struct ScanOptions {
  std::filesystem::path root;
  unsigned jobs = 0;                    // 0 = all cores
  bool use_cache = true;                // .kcat/cache/scan-v3.bin
  uint64_t max_file_size = 5ull << 20;  // larger files are skipped (listed)
  bool include_info = false;            // keep info findings (comments, docstrings, messages)
  std::vector<std::string> only_files;  // repository-relative; empty = walk everything
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
  double seconds = 0;
};

ScanResult scan(const ScanOptions& options, const kb::RuleSet& rules);

// The language kcat scans a file as ("" for files it does not scan), from its name.
std::string language_for(const std::filesystem::path& relative_path);
// The same for a '/'-separated relative path, without making a path: "" when kcat does not scan it.
std::string_view language_of(std::string_view relative_path);

}  // namespace kcat::scan
