#include "kcat/scan/cache.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"

namespace kcat::scan {

void ScanCache::load() {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return;
  try {
    // MessagePack: the warm scan's cost is mostly reading this file, and binary parses faster.
    auto bytes = read_file(file_);
    auto j = nlohmann::json::from_msgpack(bytes);
    if (j.value("key", "") != key_) {
      spdlog::debug("scan cache {}: made by other rules or another kcat; starting afresh", file_.string());
      return;
    }
    for (auto& [path, e] : j.at("files").items()) {
      CacheEntry entry;
      entry.size = e.at("size").get<uint64_t>();
      entry.mtime_ns = e.at("mtime_ns").get<int64_t>();
      entry.syntax_errors = e.value("syntax_errors", size_t{0});
      entry.findings = e.at("findings").get<std::vector<Finding>>();
      entries_.emplace(path, std::move(entry));
    }
  } catch (const std::exception& e) {
    spdlog::debug("scan cache {} ignored: {}", file_.string(), e.what());
    entries_.clear();
  }
}

std::optional<CacheEntry> ScanCache::lookup(const std::string& path, uint64_t size, int64_t mtime_ns) const {
  auto it = entries_.find(path);
  if (it == entries_.end() || it->second.size != size || it->second.mtime_ns != mtime_ns) return std::nullopt;
  return it->second;
}

void ScanCache::store(const std::string& path, CacheEntry entry) {
  entries_[path] = std::move(entry);
  dirty_ = true;
}

void ScanCache::save() {
  if (!dirty_) return;
  nlohmann::json j = {{"key", key_}, {"files", nlohmann::json::object()}};
  for (auto& [path, e] : entries_) {
    j["files"][path] = {{"size", e.size}, {"mtime_ns", e.mtime_ns}, {"syntax_errors", e.syntax_errors},
                        {"findings", e.findings}};
  }
  try {
    std::filesystem::create_directories(file_.parent_path());
    // .kcat/ never belongs in the user's commits.
    auto ignore = file_.parent_path().parent_path() / ".gitignore";
    std::error_code ec;
    if (!std::filesystem::exists(ignore, ec)) write_file_atomic(ignore, "*\n");
    auto bin = nlohmann::json::to_msgpack(j);
    write_file_atomic(file_, std::string_view(reinterpret_cast<const char*>(bin.data()), bin.size()));
  } catch (const std::exception& e) {
    spdlog::debug("scan cache not written ({}): {}", file_.string(), e.what());
  }
}

}  // namespace kcat::scan
