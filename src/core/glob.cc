#include "kcat/core/glob.h"

#include <algorithm>
#include <vector>

namespace kcat {

namespace {
// Both matchers take time proportional to |pattern|·|text| at worst (no exponential backtracking);
// a pattern longer than this matches nothing.
constexpr size_t kMaxPattern = 4096;
}  // namespace

bool glob_match(std::string_view p, std::string_view t) noexcept {
  if (p.size() > kMaxPattern) return false;
  // Iterative wildcard match with one backtrack point (the last '*'): O(|p|·|t|) at worst, and a run
  // of '*' counts as one.
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      while (pi < p.size() && p[pi] == '*') ++pi;
      star = pi - 1;
      mark = ti;
    } else if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
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
  if (p.size() > kMaxPattern) return false;
  // A simulation of the pattern's automaton over the path, one set of states per character:
  // O(|p|·|t|) whatever the pattern (a backtracking matcher is exponential in the number of '*').
  // State (i, 0): about to match p[i..]; state (i, 1): inside a "**/" at i, not just after a '/'.
  const size_t m = p.size();
  auto dstar = [&](size_t i) { return i + 3 <= m && p.substr(i, 3) == "**/"; };
  std::vector<char> now(2 * (m + 1), 0), next(2 * (m + 1), 0);
  auto close = [&](std::vector<char>& s) {
    // Epsilon moves go forward only: one pass in order reaches every state.
    for (size_t i = 0; i < m; ++i) {
      if (!s[2 * i]) continue;
      if (dstar(i)) {
        s[2 * (i + 3)] = 1;  // zero directories
      } else if (p[i] == '*') {
        s[2 * (i + 1)] = 1;  // '*' matching nothing
      }
    }
  };
  now[0] = 1;
  close(now);
  for (char c : t) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t i = 0; i < m; ++i) {
      bool at = now[2 * i], inside = now[2 * i + 1];
      if (!at && !inside) continue;
      if (dstar(i)) {
        next[2 * i + (c == '/' ? 0 : 1)] = 1;  // a '/' ends a directory: the rest may start after it
        any = true;
        continue;
      }
      if (!at) continue;
      if (p[i] == '*') {
        if (c == '/') continue;
        next[2 * i] = 1;
        any = true;
      } else if (p[i] == '?' ? c != '/' : p[i] == c) {
        next[2 * (i + 1)] = 1;
        any = true;
      }
    }
    if (!any) return false;
    close(next);
    now.swap(next);
  }
  return now[2 * m] != 0;
}

}  // namespace kcat
