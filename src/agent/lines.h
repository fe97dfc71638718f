#pragma once
// A file's lines as the model sees them: numbered, "   12| text", the same in every tool result
// and prompt (read_file, the nearest text of a missed edit, a finding's context).
#include <fmt/format.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace kcat::agent {

// Lines without their end (a CRLF's '\r' included).
inline std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::string line;
  std::istringstream in(s);
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

// Lines `first`..`last` (1-based, inclusive; clamped to the file) of `lines`, numbered.
inline std::string numbered_lines(const std::vector<std::string>& lines, size_t first, size_t last) {
  std::string out;
  for (size_t i = std::max<size_t>(first, 1); i <= last && i <= lines.size(); ++i) {
    out += fmt::format("{:>5}| {}\n", i, lines[i - 1]);
  }
  return out;
}

}  // namespace kcat::agent
