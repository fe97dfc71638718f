#include "kcat/core/glob.h"

namespace kcat {

bool glob_match(std::string_view p, std::string_view t) noexcept {
  // Iterative wildcard match with one backtrack point: linear in practice.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool path_glob_match(std::string_view p, std::string_view t) noexcept {
  if (p.empty()) return t.empty();
  if (p.substr(0, 3) == "**/") {
    // zero or more leading directories
    auto rest = p.substr(3);
    if (path_glob_match(rest, t)) return true;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '/' && path_glob_match(rest, t.substr(i + 1))) return true;
    }
    return false;
  }
  if (p[0] == '*') {
    for (size_t i = 0; i <= t.size(); ++i) {
      if (path_glob_match(p.substr(1), t.substr(i))) return true;
      if (i < t.size() && t[i] == '/') break;
    }
    return false;
  }
  if (t.empty()) return false;
  if (p[0] == '?' ? t[0] != '/' : p[0] == t[0]) return path_glob_match(p.substr(1), t.substr(1));
  return false;
}

}  // namespace kcat
