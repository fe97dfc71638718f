#include "kcat/report/terminal.h"

#include <algorithm>
#include <vector>

#include "kcat/core/text.h"

namespace kcat::report {

namespace {

using Row = std::vector<std::string>;

// The cells of a table row: split on | not escaped as \|.
Row cells(std::string_view line) {
  Row row;
  std::string cur;
  auto s = trim(line);
  if (!s.empty() && s.front() == '|') s.erase(0, 1);
  if (!s.empty() && s.back() == '|' && (s.size() < 2 || s[s.size() - 2] != '\\')) s.pop_back();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == '|') {
      cur += '|';
      ++i;
    } else if (s[i] == '|') {
      row.push_back(trim(cur));
      cur.clear();
    } else {
      cur += s[i];
    }
  }
  row.push_back(trim(cur));
  return row;
}

bool is_separator(const Row& row) {
  for (auto& c : row) {
    if (c.empty() || c.find_first_not_of(":-") != std::string::npos) return false;
  }
  return !row.empty();
}

// `code` and **bold** shown without their markers.
std::string inline_text(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '`') continue;
    if (s[i] == '*' && i + 1 < s.size() && s[i + 1] == '*') {
      ++i;
      continue;
    }
    out += s[i];
  }
  return out;
}

std::string pad(const std::string& s, size_t width, bool right) {
  auto w = display_width(s);
  if (w >= width) return s;
  return right ? std::string(width - w, ' ') + s : s + std::string(width - w, ' ');
}

// A table too wide for the terminal, stacked: each row a block of "header  value" lines (values of
// number columns to the right), blocks apart by a blank line. Only free text is cut at the width.
std::string stacked(const std::vector<Row>& rows, const std::vector<bool>& right, size_t width) {
  const auto& head = rows.front();
  size_t key = 0, value = 0;
  for (auto& h : head) key = std::max(key, display_width(h));
  for (size_t n = 1; n < rows.size(); ++n) {
    for (size_t i = 0; i < rows[n].size(); ++i) {
      if (i < right.size() && right[i]) value = std::max(value, display_width(rows[n][i]));
    }
  }
  std::string out;
  for (size_t n = 1; n < rows.size(); ++n) {
    if (n > 1) out += "\n";
    for (size_t i = 0; i < rows[n].size(); ++i) {
      bool number = i < right.size() && right[i];
      auto line = pad(i < head.size() ? head[i] : "", key, false) + "  " + pad(rows[n][i], value, number);
      out += (number ? line : fit_width(line, width)) + "\n";
    }
  }
  return out;
}

// A table: columns as wide as their widest cell, two spaces apart, numbers (---: columns) to the
// right, a rule under the header. Wider than `width`, the last column's text is cut with …; when
// that would cut a number or leave the text under 12 columns, the table is stacked.
std::string table(const std::vector<Row>& rows, const std::vector<bool>& right, size_t width) {
  size_t columns = 0;
  for (auto& r : rows) columns = std::max(columns, r.size());
  std::vector<size_t> widths(columns, 0);
  for (auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) widths[i] = std::max(widths[i], display_width(r[i]));
  }
  if (width > 0 && rows.size() > 1) {
    size_t before_last = 2 * (columns - 1);
    for (size_t i = 0; i + 1 < columns; ++i) before_last += widths[i];
    bool last_is_number = columns - 1 < right.size() && right[columns - 1];
    if (before_last + widths[columns - 1] > width && (last_is_number || before_last + 12 > width))
      return stacked(rows, right, width);
  }
  std::string out;
  for (size_t n = 0; n < rows.size(); ++n) {
    std::string line;
    for (size_t i = 0; i < columns; ++i) {
      auto cell = i < rows[n].size() ? rows[n][i] : "";
      bool last = i + 1 == columns;
      line += (i ? "  " : "") + (last && !(i < right.size() && right[i])
                                     ? cell
                                     : pad(cell, widths[i], i < right.size() && right[i]));
    }
    out += fit_width(line, width) + "\n";
    if (n == 0) {
      size_t total = 0;
      for (auto w : widths) total += w;
      total += 2 * (columns - 1);
      std::string rule;
      for (size_t i = 0; i < total; ++i) rule += "─";
      out += fit_width(rule, width) + "\n";
    }
  }
  return out;
}

}  // namespace

std::string markdown_for_terminal(std::string_view markdown, size_t width) {
  std::string out;
  std::vector<Row> rows;
  std::vector<bool> right;
  auto flush = [&] {
    if (!rows.empty()) out += table(rows, right, width);
    rows.clear();
    right.clear();
  };
  size_t start = 0;
  while (start < markdown.size()) {
    auto nl = markdown.find('\n', start);
    auto line = markdown.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? markdown.size() : nl + 1;
    if (!line.empty() && line.front() == '|') {
      auto row = cells(line);
      if (is_separator(row) && rows.size() == 1) {
        for (auto& c : row) right.push_back(c.size() > 1 && c.back() == ':');
        continue;
      }
      for (auto& c : row) c = inline_text(c);
      rows.push_back(std::move(row));
      continue;
    }
    flush();
    auto text = std::string(line);
    if (text.rfind('#', 0) == 0) text = trim(text.substr(text.find_first_not_of('#')));
    out += fit_width(inline_text(text), width) + "\n";
  }
  flush();
  return out;
}

}  // namespace kcat::report
