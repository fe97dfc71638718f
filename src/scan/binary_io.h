#pragma once
// Little-endian records for kcat's own cache files (.kcat/cache): the scan cache and the walk
// cache. A Reader throws std::runtime_error on a short file; callers treat that as no cache.
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kcat::scan {

class Writer {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { raw(&v, sizeof v); }
  void u64(uint64_t v) { raw(&v, sizeof v); }
  void str(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  uint8_t u8() { return static_cast<uint8_t>(*take(1)); }
  uint32_t u32() {
    uint32_t v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  uint64_t u64() {
    uint64_t v;
    std::memcpy(&v, take(sizeof v), sizeof v);
    return v;
  }
  std::string_view str() {
    uint32_t n = u32();
    return {take(n), n};
  }
  const char* take(size_t n) {
    if (in_.size() - pos_ < n) throw std::runtime_error("truncated");
    const char* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  bool done() const { return pos_ == in_.size(); }
  size_t offset() const { return pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace kcat::scan
