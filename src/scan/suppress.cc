// Sites set aside: --select / --exclude of rules and paths, and `kcat: ignore[...]` comments.
#include <re2/re2.h>
#include <algorithm>
#include <fstream>
#include <map>

#include "kcat/core/glob.h"
#include "kcat/core/text.h"
#include "kcat/scan/scanner.h"

namespace kcat::scan {

namespace fs = std::filesystem;

namespace {
// The start of a suppression comment, wherever it stands on a line.
constexpr const char* kMarker = R"((?:#|//)\s*kcat:\s*ignore)";
}  // namespace

bool rule_pattern_matches(std::string_view pattern, std::string_view rule_id) {
  return rule_id.starts_with(pattern) || glob_match(pattern, rule_id);
}

size_t suppression_comments(std::string_view text) {
  static const RE2 re(kMarker);
  size_t n = 0;
  re2::StringPiece in(text.data(), text.size());
  while (RE2::FindAndConsume(&in, re)) ++n;
  return n;
}

bool path_pattern_matches(std::string_view pattern, std::string_view path) {
  while (pattern.size() > 1 && pattern.back() == '/') pattern.remove_suffix(1);
  if (pattern.starts_with("./")) pattern.remove_prefix(2);
  if (path == pattern ||
      (path.starts_with(pattern) && path.size() > pattern.size() && path[pattern.size()] == '/'))
    return true;
  return path_glob_match(pattern, path);
}

namespace {

struct Comment {
  bool alone = false;              // nothing but the comment on its line
  bool all = false;                // no [rules]: every rule
  std::vector<std::string> rules;  // patterns
  std::string reason;
};

// The `kcat: ignore` comment on a line, if any.
std::optional<Comment> parse_comment(const std::string& line) {
  static const RE2 re(std::string(R"(^(\s*)(.*?))") + kMarker + R"((\[[^\]]*\])?(.*)$)");
  std::string indent, code, rules, rest;
  if (!RE2::FullMatch(line, re, &indent, &code, &rules, &rest)) return std::nullopt;
  Comment c;
  c.alone = trim(code).empty();
  c.all = rules.empty();
  if (!rules.empty()) {
    std::string inner = rules.substr(1, rules.size() - 2);
    size_t at = 0;
    while (at <= inner.size()) {
      auto comma = inner.find(',', at);
      auto part = trim(inner.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
      if (!part.empty()) c.rules.push_back(part);
      if (comma == std::string::npos) break;
      at = comma + 1;
    }
  }
  c.reason = trim(rest);
  while (!c.reason.empty() && (c.reason.front() == ':' || c.reason.front() == '-'))
    c.reason = trim(c.reason.substr(1));
  return c;
}

bool covers(const Comment& c, const std::string& rule_id) {
  if (c.all) return true;
  return std::any_of(c.rules.begin(), c.rules.end(),
                     [&](const std::string& p) { return rule_pattern_matches(p, rule_id); });
}

bool filtered_out(const SiteFilter& f, const Finding& x) {
  auto any_rule = [&](const std::vector<std::string>& ps) {
    return std::any_of(ps.begin(), ps.end(), [&](auto& p) { return rule_pattern_matches(p, x.rule_id); });
  };
  auto any_path = [&](const std::vector<std::string>& ps) {
    return std::any_of(ps.begin(), ps.end(), [&](auto& p) { return path_pattern_matches(p, x.file); });
  };
  if (!f.select.empty() && !any_rule(f.select)) return true;
  if (any_rule(f.exclude)) return true;
  if (!f.select_paths.empty() && !any_path(f.select_paths)) return true;
  return any_path(f.exclude_paths);
}

}  // namespace

void apply_suppressions(const fs::path& root, const ScanOptions& o, ScanResult& result) {
  std::map<std::string, std::vector<std::string>> lines;  // a file's lines, read once if needed
  auto line_of = [&](const std::string& file, int n) -> const std::string* {
    auto it = lines.find(file);
    if (it == lines.end()) {
      std::vector<std::string> v;
      std::ifstream in(root / file, std::ios::binary);
      for (std::string l; std::getline(in, l);) v.push_back(std::move(l));
      it = lines.emplace(file, std::move(v)).first;
    }
    return n >= 1 && static_cast<size_t>(n) <= it->second.size() ? &it->second[n - 1] : nullptr;
  };
  std::vector<Finding> kept;
  kept.reserve(result.findings.size());
  for (auto& f : result.findings) {
    if (filtered_out(o.filter, f)) {
      result.suppressed.push_back({std::move(f), "option", "", 0});
      continue;
    }
    std::optional<Suppressed> s;
    if (o.honour_suppressions) {
      int line = static_cast<int>(f.span.start.line);
      for (int n : {line, line - 1}) {
        auto* text = line_of(f.file, n);
        if (!text || text->find("kcat:") == std::string::npos) continue;
        auto c = parse_comment(*text);
        if (c && (n == line || c->alone) && covers(*c, f.rule_id)) {
          s = Suppressed{{}, "comment", c->reason, n};
          break;
        }
      }
    }
    if (s) {
      s->finding = std::move(f);
      result.suppressed.push_back(std::move(*s));
    } else {
      kept.push_back(std::move(f));
    }
  }
  result.findings = std::move(kept);
}

}  // namespace kcat::scan
