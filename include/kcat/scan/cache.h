#pragma once
// The scan cache: .kcat/cache/scan-v3.bin, findings per file keyed by path, size and mtime, and
// by content hash when those moved but the bytes did not (a branch switched and back, `touch`,
// a fresh clone of the same commit); valid only for the same rules and the same kcat (the key). A missing,
// corrupt or unwritable cache is never an error: the scan just parses again.
//
// The format is kcat's own (cache.cc): a table of distinct strings, then per file its key and its
// findings as indices into the table. A warm scan's cost was almost all in decoding the cache
// (MessagePack into a JSON tree into Findings: ~60% of the warm scan); this reads in one pass,
// and the strings that every finding of a rule shares (message, action, source) are read once.
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat::scan {

// Bumped whenever analyzers change what they report for the same rules.
inline constexpr const char* kScanCacheVersion = "kcat-scan-5";
inline constexpr const char* kScanCacheFile = "scan-v3.bin";

// The content hash the cache keeps (64 bits; a cache key, not a security check).
uint64_t content_hash(std::string_view bytes);

struct CacheEntry {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint64_t hash = 0;  // content_hash of the bytes the findings are of
  size_t syntax_errors = 0;
  std::vector<Finding> findings;
};

class ScanCache {
 public:
  ScanCache(std::filesystem::path file, std::string key) : file_(std::move(file)), key_(std::move(key)) {}
  void load();
  // When `path` has an entry whose size and mtime still match: appends its findings to `out`
  // (info findings only when `with_info`), sets `syntax_errors`, and returns true. Reads only
  // what load() read, so threads may look up while one stores.
  bool lookup(const std::string& path, uint64_t size, int64_t mtime_ns, bool with_info,
              std::vector<Finding>& out, size_t& syntax_errors) const;
  // When size and mtime moved but `path`'s entry is of the same bytes (size and content hash):
  // fills `entry` with all its findings (info ones too) and returns true; the caller stores it
  // with the new mtime.
  bool lookup_content(const std::string& path, uint64_t size, uint64_t hash, CacheEntry& entry) const;
  // Not thread-safe: callers serialise store() among themselves.
  void store(const std::string& path, CacheEntry entry);
  void save();

 private:
  // A file's entry as load() found it: its findings stay encoded in bytes_ until looked up.
  struct Loaded {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    uint64_t hash = 0;
    uint64_t syntax_errors = 0;
    uint32_t count = 0;
    size_t offset = 0;
  };
  void decode(const Loaded& e, bool with_info, std::vector<Finding>& out) const;

  std::filesystem::path file_;
  std::string key_;
  std::string bytes_;                 // the cache file as read
  std::vector<std::string> strings_;  // its string table
  std::unordered_map<std::string, Loaded> loaded_;
  std::unordered_map<std::string, CacheEntry> stored_;  // new this scan, merged by save()
};

}  // namespace kcat::scan
