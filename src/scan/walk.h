#pragma once
// The walk of a repository, and the walk cache.
//
// The walk lists every file of a kind kcat scans, honouring .gitignore and .git/info/exclude
// (libgit2), never entering vendored or build folders, never following a symlink. In a git
// checkout, asking libgit2 about each path costs more than the rest of a warm scan (it checks
// every ignore file of the path's folders again, per path: ~9,000 stats over DeepSpeed).
//
// So a walk is remembered (.kcat/cache/walk-v1.bin) with what it depended on: the time stamps of
// every folder it read (a folder's mtime and ctime change when an entry is added, removed or
// renamed, or its permissions change), of every ignore file and git configuration file that can
// change what is ignored, and of every extensionless file whose first line it read. When all of
// them still match (by stat), the next walk is replayed, refreshing each file's size and mtime,
// without libgit2. The same check git's untracked cache makes. A walk is not remembered when
// something it depended on changed within the last two seconds (a change in the same clock tick
// could leave a time stamp as it was).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kcat/scan/scanner.h"

namespace kcat::scan {

struct Candidate {
  std::string rel;       // '/'-separated, relative to the root
  std::string language;  // language_of()
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// Walks `root` (canonical): the files go to `files` (unsorted), what it passed over to `skipped`.
// `cache`: the walk cache file, or empty for a walk that neither reads nor writes one. A walk is
// not remembered when something it read changed less than `settle` ago. True when the walk was
// replayed from the cache.
bool walk_repository(const std::filesystem::path& root, const std::filesystem::path& cache,
                     std::vector<Candidate>& files, std::vector<SkippedFile>& skipped,
                     std::chrono::nanoseconds settle = std::chrono::seconds(2));

inline constexpr const char* kWalkCacheFile = "walk-v1.bin";

}  // namespace kcat::scan
