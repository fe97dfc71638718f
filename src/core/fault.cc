#include "kcat/core/fault.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace kcat::fault {

namespace {

struct Spec {
  long first = 0;  // 0: no injection
  bool sticky = false;
  bool list = false;  // name each write, fail none
};

Spec parse() {
  Spec s;
  const char* env = std::getenv("KCAT_FAULT_INJECT");
  if (!env) return s;
  std::string v(env);
  if (v == "list") {
    s.list = true;
    return s;
  }
  if (v.rfind("write:", 0) != 0) return s;
  v = v.substr(6);
  if (!v.empty() && v.back() == '-') {
    s.sticky = true;
    v.pop_back();
  }
  s.first = std::atol(v.c_str());
  return s;
}

}  // namespace

int before_write(std::string_view what) noexcept {
  static const Spec spec = parse();
  static std::atomic<long> count{0};
  if (spec.list) {
    long n = ++count;
    std::fprintf(stderr, "kcat: fault point: write %ld (%.*s)\n", n, static_cast<int>(what.size()),
                 what.data());
    return 0;
  }
  if (spec.first <= 0) return 0;
  long n = ++count;
  if (n == spec.first || (spec.sticky && n > spec.first)) {
    std::fprintf(stderr, "kcat: fault injected: write %ld (%.*s) fails with ENOSPC\n", n,
                 static_cast<int>(what.size()), what.data());
    return ENOSPC;
  }
  return 0;
}

}  // namespace kcat::fault
