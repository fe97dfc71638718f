#include "kcat/scan/cache.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <iterator>
#include <map>
#include <stdexcept>

#include "binary_io.h"
#include "kcat/core/error.h"
#include "kcat/core/fs.h"

namespace kcat::scan {

namespace {

// Layout (little-endian, as written by this machine; another byte order just fails the magic):
//   "KCATSCN2" | key | u32 string count, strings | u32 file count, files
//   string = u32 length + bytes; file = u32 path | u64 size | i64 mtime_ns | u64 hash | u64 syntax_errors |
//   u32 finding count, findings; finding = 11 u32 string indices (the fields in kStringFields
//   order) | u8 severity, context, verdict | u32 begin, end, start.line, start.column, stop.line,
//   stop.column
constexpr char kMagic[8] = {'K', 'C', 'A', 'T', 'S', 'C', 'N', '3'};

// Every std::string member of Finding, in file order. A new member of Finding must be added here
// (and kScanCacheVersion bumped), or the cache would drop it: the size check below fails the build
// as a reminder.
constexpr std::string Finding::*kStringFields[] = {
    &Finding::rule_id,     &Finding::category,   &Finding::file,    &Finding::matched,
    &Finding::message,     &Finding::action,     &Finding::codemod, &Finding::recipe,
    &Finding::replacement, &Finding::equivalent, &Finding::source};
static_assert(sizeof(Finding) == 11 * sizeof(std::string) + sizeof(Span) + 3 * sizeof(int32_t) + 4,
              "Finding changed: update kStringFields and the (de)serialisation in cache.cc");

}  // namespace

// Bytes of one encoded finding: 11 string indices, 3 enums, 6 span numbers.
constexpr size_t kFindingBytes = 11 * 4 + 3 + 6 * 4;

void ScanCache::load() {
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return;
  try {
    bytes_ = read_file(file_);
    Reader r(bytes_);
    if (std::memcmp(r.take(sizeof kMagic), kMagic, sizeof kMagic) != 0)
      throw std::runtime_error("not a kcat cache");
    if (r.str() != key_) {
      spdlog::debug("scan cache {}: made by other rules or another kcat; starting afresh", file_.string());
      bytes_.clear();
      return;
    }
    strings_.resize(r.u32());
    for (auto& s : strings_) s = r.str();
    // Everything is checked here, once, so lookup() decodes without checks.
    auto index = [&]() {
      uint32_t i = r.u32();
      if (i >= strings_.size()) throw std::runtime_error("bad string index");
      return i;
    };
    uint32_t files = r.u32();
    loaded_.reserve(files);
    for (uint32_t i = 0; i < files; ++i) {
      const std::string& path = strings_[index()];
      Loaded e;
      e.size = r.u64();
      e.mtime_ns = static_cast<int64_t>(r.u64());
      e.hash = r.u64();
      e.syntax_errors = r.u64();
      e.count = r.u32();
      e.offset = r.offset();
      for (uint32_t k = 0; k < e.count; ++k) {
        for (size_t field = 0; field < std::size(kStringFields); ++field) index();
        uint8_t severity = r.u8(), context = r.u8(), verdict = r.u8();
        if (severity > 2 || context > 3 || verdict > 4) throw std::runtime_error("bad enum value");
        r.take(6 * 4);
      }
      loaded_.emplace(path, e);
    }
    if (!r.done()) throw std::runtime_error("trailing bytes");
  } catch (const std::exception& e) {
    spdlog::debug("scan cache {} ignored: {}", file_.string(), e.what());
    loaded_.clear();
    strings_.clear();
    bytes_.clear();
  }
}

void ScanCache::decode(const Loaded& e, bool with_info, std::vector<Finding>& out) const {
  auto u32_at = [](const char* q) {
    uint32_t v;
    std::memcpy(&v, q, sizeof v);
    return v;
  };
  const char* base = bytes_.data() + e.offset;
  out.reserve(out.size() + e.count);
  for (uint32_t k = 0; k < e.count; ++k) {
    const char* q = base + static_cast<size_t>(k) * kFindingBytes;
    const char* enums = q + std::size(kStringFields) * 4;
    auto severity = static_cast<Severity>(static_cast<uint8_t>(enums[0]));
    if (severity == Severity::Info && !with_info) continue;
    Finding& f = out.emplace_back();
    for (size_t i = 0; i < std::size(kStringFields); ++i) f.*kStringFields[i] = strings_[u32_at(q + 4 * i)];
    f.severity = severity;
    f.context = static_cast<Context>(static_cast<uint8_t>(enums[1]));
    f.verdict = static_cast<Verdict>(static_cast<uint8_t>(enums[2]));
    const char* span = enums + 3;
    f.span.begin = u32_at(span);
    f.span.end = u32_at(span + 4);
    f.span.start.line = u32_at(span + 8);
    f.span.start.column = u32_at(span + 12);
    f.span.stop.line = u32_at(span + 16);
    f.span.stop.column = u32_at(span + 20);
  }
}

bool ScanCache::lookup(const std::string& path, uint64_t size, int64_t mtime_ns, bool with_info,
                       std::vector<Finding>& out, size_t& syntax_errors) const {
  auto it = loaded_.find(path);
  if (it == loaded_.end() || it->second.size != size || it->second.mtime_ns != mtime_ns) return false;
  decode(it->second, with_info, out);
  syntax_errors = it->second.syntax_errors;
  return true;
}

bool ScanCache::lookup_content(const std::string& path, uint64_t size, uint64_t hash,
                               CacheEntry& entry) const {
  auto it = loaded_.find(path);
  if (it == loaded_.end() || it->second.size != size || it->second.hash != hash) return false;
  entry.findings.clear();
  decode(it->second, true, entry.findings);
  entry.size = size;
  entry.hash = hash;
  entry.syntax_errors = it->second.syntax_errors;
  return true;
}

void ScanCache::store(const std::string& path, CacheEntry entry) { stored_[path] = std::move(entry); }

uint64_t content_hash(std::string_view bytes) {
  // libstdc++'s string hash is MurmurHash64A: fast, and only ever compared with what this same
  // kcat wrote (the cache key names kcat).
  return static_cast<uint64_t>(std::hash<std::string_view>{}(bytes));
}

void ScanCache::save() {
  if (stored_.empty()) return;
  // Entries of this scan, then the loaded ones it did not replace (files since deleted included,
  // as before: they cost a little space and nothing else).
  std::map<std::string, CacheEntry> entries;
  for (auto& [path, e] : stored_) entries.emplace(path, std::move(e));
  stored_.clear();
  for (auto& [path, l] : loaded_) {
    if (entries.count(path)) continue;
    CacheEntry e{l.size, l.mtime_ns, l.hash, l.syntax_errors, {}};
    decode(l, true, e.findings);
    entries.emplace(path, std::move(e));
  }

  std::unordered_map<std::string_view, uint32_t> index;
  std::vector<std::string_view> table;
  auto intern = [&](std::string_view s) {
    auto [it, added] = index.emplace(s, static_cast<uint32_t>(table.size()));
    if (added) table.push_back(s);
    return it->second;
  };
  Writer body;
  body.u32(static_cast<uint32_t>(entries.size()));
  for (auto& [path, e] : entries) {
    body.u32(intern(path));
    body.u64(e.size);
    body.u64(static_cast<uint64_t>(e.mtime_ns));
    body.u64(e.hash);
    body.u64(e.syntax_errors);
    body.u32(static_cast<uint32_t>(e.findings.size()));
    for (auto& f : e.findings) {
      for (auto field : kStringFields) body.u32(intern(f.*field));
      body.u8(static_cast<uint8_t>(f.severity));
      body.u8(static_cast<uint8_t>(f.context));
      body.u8(static_cast<uint8_t>(f.verdict));
      for (uint32_t v : {f.span.begin, f.span.end, f.span.start.line, f.span.start.column, f.span.stop.line,
                         f.span.stop.column}) {
        body.u32(v);
      }
    }
  }
  Writer out;
  out.raw(kMagic, sizeof kMagic);
  out.str(key_);
  out.u32(static_cast<uint32_t>(table.size()));
  for (auto s : table) out.str(s);
  out.bytes() += body.bytes();
  try {
    std::filesystem::create_directories(file_.parent_path());
    // .kcat/ never belongs in the user's commits.
    auto ignore = file_.parent_path().parent_path() / ".gitignore";
    std::error_code ec;
    if (!std::filesystem::exists(ignore, ec)) write_file_atomic(ignore, "*\n");
    write_file_atomic(file_, out.bytes());
  } catch (const std::exception& e) {
    spdlog::debug("scan cache not written ({}): {}", file_.string(), e.what());
  }
}

}  // namespace kcat::scan
