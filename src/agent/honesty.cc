#include "honesty.h"

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <map>

#include "kcat/core/text.h"
#include "kcat/core/utf8.h"
#include "kcat/scan/parser.h"
#include "kcat/scan/scanner.h"
#include "lines.h"

namespace kcat::agent {

namespace {

bool is(TSNode n, const char* t) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), t) == 0; }

bool has(std::string_view t, const char* w) { return t.find(w) != std::string_view::npos; }

// Code lines, trimmed: no blank lines, no comment lines, nothing that does nothing.
std::map<std::string, int> code_lines(const std::string& text) {
  std::map<std::string, int> out;
  for (auto& l : split_lines(text)) {
    auto t = trim(l);
    if (t.empty() || t[0] == '#' || t == "pass" || t == "..." || t == "//" || t.rfind("//", 0) == 0) continue;
    ++out[t];
  }
  return out;
}

}  // namespace

bool guarded_finding(const std::string& file, const std::string& bytes, const Finding& f) {
  if (scan::language_of(file) != "python" || f.span.end > bytes.size() || f.span.begin > f.span.end)
    return false;
  auto tree = scan::parse("python", bytes);
  TSNode n = ts_node_descendant_for_byte_range(ts_tree_root_node(tree.get()), f.span.begin, f.span.end);
  for (TSNode p = ts_node_parent(n); !ts_node_is_null(p); p = ts_node_parent(p)) {
    if (is(p, "if_statement") || is(p, "elif_clause")) {
      TSNode cond = ts_node_child_by_field_name(p, "condition", 9);
      auto t = ts_node_is_null(cond) ? std::string_view() : scan::node_text(cond, bytes);
      if (has(t, "available") || has(t, "find_spec")) return true;
    }
    if (!is(p, "try_statement")) continue;
    // The finding must be in the try body, not in a handler.
    TSNode body = ts_node_child_by_field_name(p, "body", 4);
    if (ts_node_is_null(body) || f.span.begin < ts_node_start_byte(body) ||
        f.span.begin >= ts_node_end_byte(body))
      continue;
    for (uint32_t i = 0; i < ts_node_named_child_count(p); ++i) {
      TSNode c = ts_node_named_child(p, i);
      if (!is(c, "except_clause")) continue;
      TSNode v = ts_node_child_by_field_name(c, "value", 5);
      if (ts_node_is_null(v)) return true;  // bare except
      auto t = scan::node_text(v, bytes);
      if (has(t, "ImportError") || has(t, "ModuleNotFoundError") || has(t, "Exception")) return true;
    }
  }
  return false;
}

bool environment_finding(const Finding& f) { return f.category == "requirements"; }

std::string hides_flagged_line(const std::string& search, const std::string& replace,
                               const std::vector<std::string>& flagged) {
  auto was = code_lines(search);
  auto now = code_lines(replace);
  for (auto& [line, n] : now) {
    auto it = was.find(line);
    if (it == was.end() || it->second < n) return "";  // the replacement brings code of its own
  }
  for (auto& f : flagged) {
    auto t = trim(f);
    auto it = was.find(t);
    if (it == was.end()) continue;
    auto kept = now.find(t);
    if (kept == now.end() || kept->second < it->second) return t;
  }
  return "";
}

std::set<std::string> failure_lines(const std::string& output) {
  std::set<std::string> out;
  for (const auto& l : split_lines(output)) {
    std::string lower = kcat::lower(l), folded;
    if (!has(lower, "fail") && !has(lower, "error") && !has(lower, "exception") && !has(lower, "assert"))
      continue;
    // Counts and timings are folded ("3 failed, 10 passed in 0.12s" -> "# failed, # passed in #s"),
    // a number that is part of a name is not: test_fwd[1-128] and test_fwd[2-128] are two failures.
    auto t = trim(l);
    for (size_t i = 0; i < t.size();) {
      auto c = static_cast<unsigned char>(t[i]);
      bool starts = std::isdigit(c) && (i == 0 || std::strchr(" (=,/", t[i - 1]) != nullptr);
      if (!starts) {
        folded += t[i++];
        continue;
      }
      size_t j = i;
      while (j < t.size() && (std::isdigit(static_cast<unsigned char>(t[j])) || t[j] == '.')) ++j;
      if (j == t.size() || std::strchr(" )s%,m", t[j]) != nullptr) {
        folded += '#';
      } else {
        folded.append(t, i, j - i);
      }
      i = j;
    }
    out.insert(folded);
  }
  return out;
}

namespace {

// At most three lines: those naming a failure, else the first lines of the output.
std::string first_lines(const std::string& output) {
  std::vector<std::string> lines;
  for (const auto& l : split_lines(output)) {
    if (!trim(l).empty()) lines.push_back(trim(l));
  }
  auto failures = failure_lines(output);
  std::string out;
  size_t n = 0;
  for (const auto& l : lines) {
    if (!failures.empty() && failure_lines(l).empty()) continue;
    out += (out.empty() ? "" : " | ") + (l.size() > 200 ? l.substr(0, utf8_floor(l, 200)) + "…" : l);
    if (++n == 3) break;
  }
  return out.empty() ? "(no output)" : out;
}

}  // namespace

CheckVerdict judge_check(const CheckRun& now, const CheckRun* base) {
  CheckVerdict v;
  if (now.ok) {
    v.counts = false;
    return v;
  }
  if (!base || base->ok) return v;
  if (base->kind != now.kind) {
    v.text = fmt::format(
        "It ends differently from the step's base ({} there, {} now): the step's edits broke it.\n",
        base->kind, now.kind);
    return v;
  }
  auto before = failure_lines(base->output), after = failure_lines(now.output);
  std::string at_base = "the check already fails at the base: " + first_lines(base->output);
  if (!after.empty()) {  // with none named at the base, every one named now is new
    std::string added;
    size_t n = 0;
    for (const auto& l : after) {
      if (before.count(l) || ++n > 10) continue;
      added += "  " + l + "\n";
    }
    if (n > 0) {
      v.text = "Failures that are new since the step's base (the step's edits caused them):\n" + added;
      return v;
    }
    v.counts = false;
    v.note = at_base;
    v.text = "It fails at the step's base the same way (" + at_base +
             "); no new failure, so it does not count against the step.\n";
    return v;
  }
  v.counts = false;
  v.note = at_base + " (kcat cannot tell new failures from old in its output; not counted)";
  v.text =
      "It already failed at the step's base (" + at_base +
      "), and its output does not name failures kcat can compare, so it does not count against the step; "
      "make sure your edits did not break it.\n";
  return v;
}

}  // namespace kcat::agent
