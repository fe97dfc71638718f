#pragma once
// The scan cache: .kcat/cache/scan-v2.bin, findings per file keyed by path, size and mtime,
// valid only for the same rules and the same kcat (the key string). A missing, corrupt or
// unwritable cache is never an error: the scan just parses again.
//
// The format is kcat's own (cache.cc): a table of distinct strings, then per file its key and its
// findings as indices into the table. A warm scan's cost was almost all in decoding the cache
// (MessagePack into a JSON tree into Findings: ~60% of the warm scan); this reads in one pass,
// and the strings that every finding of a rule shares (message, action, source) are read once.
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat::scan {

// Bumped whenever analyzers change what they report for the same rules.
inline constexpr const char* kScanCacheVersion = "kcat-scan-4";
inline constexpr const char* kScanCacheFile = "scan-v2.bin";

struct CacheEntry {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
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
  bool lookup(const std::string& path, uint64_t size, int64_t mtime_ns, bool with_info, std::vector<Finding>& out,
              size_t& syntax_errors) const;
  // Not thread-safe: callers serialise store() among themselves.
  void store(const std::string& path, CacheEntry entry);
  void save();

 private:
  // A file's entry as load() found it: its findings stay encoded in bytes_ until looked up.
  struct Loaded {
    uint64_t size = 0;
    int64_t mtime_ns = 0;
    uint64_t syntax_errors = 0;
    uint32_t count = 0;
    size_t offset = 0;
  };
  void decode(const Loaded& e, bool with_info, std::vector<Finding>& out) const;

  std::filesystem::path file_;
  std::string key_;
  std::string bytes_;                                   // the cache file as read
  std::vector<std::string> strings_;                    // its string table
  std::unordered_map<std::string, Loaded> loaded_;
  std::unordered_map<std::string, CacheEntry> stored_;  // new this scan, merged by save()
};

}  // namespace kcat::scan
