#pragma once
// The scan cache: .kcat/cache/scan-v1.msgpack, findings per file keyed by path, size and mtime,
// valid only for the same rules and the same kcat (the key string). A missing, corrupt or
// unwritable cache is never an error: the scan just parses again.
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat::scan {

// Bumped whenever analyzers change what they report for the same rules.
inline constexpr const char* kScanCacheVersion = "kcat-scan-3";

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
  std::optional<CacheEntry> lookup(const std::string& path, uint64_t size, int64_t mtime_ns) const;
  void store(const std::string& path, CacheEntry entry);
  void save();

 private:
  std::filesystem::path file_;
  std::string key_;
  std::unordered_map<std::string, CacheEntry> entries_;
  bool dirty_ = false;
};

}  // namespace kcat::scan
