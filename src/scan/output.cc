#include "kcat/scan/output.h"
#include "kcat/core/json.h"
#include "kcat/core/text.h"
#include "kcat/core/utf8.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace kcat::scan {

namespace {

struct Counts {
  std::map<std::string, size_t> by_category;
  size_t blocking = 0, warning = 0, info = 0, fixable = 0;
  std::map<std::string, size_t> by_verdict;
};

Counts count(const ScanResult& r) {
  Counts c;
  for (auto& f : r.findings) {
    ++c.by_category[f.category];
    if (f.severity == Severity::Blocking) ++c.blocking;
    if (f.severity == Severity::Warning) ++c.warning;
    if (f.severity == Severity::Info) ++c.info;
    if (f.fixable()) ++c.fixable;
    if (f.verdict != Verdict::None) ++c.by_verdict[to_string(f.verdict)];
  }
  return c;
}

const char* colour(Severity s) {
  switch (s) {
    case Severity::Blocking:
      return "\033[31m";
    case Severity::Warning:
      return "\033[33m";
    case Severity::Info:
      return "\033[2m";
  }
  return "";
}

std::string one_line(std::string_view s, size_t max = 60) {
  std::string out;
  for (char c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    out += c;
    if (out.size() >= max && utf8_floor(out, out.size()) == out.size()) {
      out += "…";
      break;
    }
  }
  return out;
}

}  // namespace

std::string suppressed_counts(const ScanResult& r) {
  if (r.suppressed.empty()) return {};
  size_t by_comment = 0;
  for (auto& s : r.suppressed) by_comment += s.by == "comment";
  return fmt::format("{} by a `kcat: ignore` comment, {} by --select/--exclude", by_comment,
                     r.suppressed.size() - by_comment);
}

namespace {

// The sites set aside, counted, and the comments without a reason named (a note each).
std::string suppressed_text(const ScanResult& r) {
  if (r.suppressed.empty()) return {};
  std::string out = fmt::format("{} suppressed: {}\n", r.suppressed.size(), suppressed_counts(r));
  for (auto& s : r.suppressed) {
    if (s.by == "comment" && s.reason.empty()) {
      out +=
          fmt::format("note: {}:{}: `kcat: ignore` without a reason (suppresses {}; say why after the ])\n",
                      s.finding.file, s.comment_line, s.finding.rule_id);
    }
  }
  return out;
}

}  // namespace

std::string render_table(const ScanResult& r, bool color, size_t width) {
  std::string out;
  std::string current;
  const char* reset = color ? "\033[0m" : "";
  for (auto& f : r.findings) {
    if (f.file != current) {
      current = f.file;
      out += fmt::format("\n{}{}{}\n", color ? "\033[1m" : "", f.file, reset);
    }
    out += fmt::format("  {:>5}:{:<4} {}{:<8}{} {:<14} {}", f.span.start.line, f.span.start.column,
                       color ? colour(f.severity) : "", to_string(f.severity), reset, f.category, f.message);
    if (!f.matched.empty()) out += fmt::format(" [{}]", one_line(f.matched));
    out += "\n";
    std::string todo =
        f.fixable() ? "fix: " + (f.replacement.empty() ? f.codemod : "→ " + f.replacement) + " (kcat migrate)"
                    : (f.recipe.empty() ? f.action : "recipe " + f.recipe + ": " + f.action);
    if (!f.equivalent.empty() && !f.fixable()) todo += " (Ascend: " + f.equivalent + ")";
    if (!todo.empty())
      out += fit_width(fmt::format("               {}", one_line(todo, SIZE_MAX)), width) + "\n";
  }
  auto c = count(r);
  out += fmt::format("\n{} findings: {} blocking, {} warning, {} info; {} fixable by `kcat migrate`\n",
                     r.findings.size(), c.blocking, c.warning, c.info, c.fixable);
  if (!c.by_category.empty()) {
    out += "by category:";
    for (auto& [cat, n] : c.by_category) out += fmt::format(" {} {},", cat, n);
    out.back() = '\n';
  }
  if (!c.by_verdict.empty()) {
    out += "Ascend verdicts:";
    for (auto& [v, n] : c.by_verdict) out += fmt::format(" {} {},", v, n);
    out.back() = '\n';
  }
  out += fmt::format(
      "{} files of a scanned kind: {} parsed, {} from cache, {} without any CUDA literal; {:.2f} s\n",
      r.files_seen, r.files_parsed, r.files_from_cache, r.files_prefiltered_out, r.seconds);
  if (!r.files_with_syntax_errors.empty()) {
    out += fmt::format("{} file(s) have syntax errors and were scanned as far as they parse:",
                       r.files_with_syntax_errors.size());
    for (auto& f : r.files_with_syntax_errors) out += " " + f;
    out += "\n";
  }
  out += suppressed_text(r);
  for (auto& s : r.skipped) out += fmt::format("skipped {}: {}\n", s.path, s.reason);
  return out;
}

namespace {

// A JSON string exactly as nlohmann's dump(…, error_handler_t::replace) writes it: plain ASCII
// without quotes, backslashes or control characters is copied; anything else goes through
// nlohmann, so escaping and the replacement of invalid UTF-8 cannot drift.
void append_string(std::string& out, std::string_view s) {
  bool plain = std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
  });
  if (plain) {
    out += '"';
    out.append(s);
    out += '"';
  } else {
    out += json_text(nlohmann::json(std::string(s)));
  }
}

// The findings array as dump(2) writes it at nesting level 1 (keys sorted, as nlohmann's
// std::map objects are). Written by hand: building the JSON tree of thousands of findings was
// 40% of a warm scan. render_json's test checks it byte for byte against nlohmann.
void append_findings_json(std::string& out, const std::vector<Finding>& findings) {
  if (findings.empty()) {
    out += "[]";
    return;
  }
  out += "[\n";
  auto key = [&](const char* k) {
    out += "      \"";
    out += k;
    out += "\": ";
  };
  auto str = [&](const char* k, std::string_view v) {
    key(k);
    append_string(out, v);
    out += ",\n";
  };
  auto num = [&](const char* k, uint32_t v, bool last = false) {
    out += "        \"";
    out += k;
    out += "\": ";
    char buf[16];
    auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
    out += last ? "\n" : ",\n";
  };
  for (size_t i = 0; i < findings.size(); ++i) {
    auto& f = findings[i];
    out += "    {\n";
    str("action", f.action);
    str("category", f.category);
    str("codemod", f.codemod);
    str("context", to_string(f.context));
    str("equivalent", f.equivalent);
    str("file", f.file);
    str("matched", f.matched);
    str("message", f.message);
    str("recipe", f.recipe);
    str("replacement", f.replacement);
    str("rule", f.rule_id);
    str("severity", to_string(f.severity));
    str("source", f.source);
    key("span");
    out += "{\n";
    num("begin", f.span.begin);
    num("column", f.span.start.column);
    num("end", f.span.end);
    num("end_column", f.span.stop.column);
    num("end_line", f.span.stop.line);
    num("line", f.span.start.line, true);
    out += "      },\n";
    key("verdict");
    append_string(out, to_string(f.verdict));
    out += i + 1 < findings.size() ? "\n    },\n" : "\n    }\n";
  }
  out += "  ]";
}

}  // namespace

std::string render_json(const ScanResult& r, const nlohmann::json& accounting) {
  auto c = count(r);
  // The findings are spliced in where this placeholder lands (its dump is unique: a control
  // character never comes out of dump unescaped, and no other value holds it).
  static const std::string placeholder = "\x01kcat-findings\x01";
  nlohmann::json j = {{"schema", "kcat-scan/1"},
                      {"findings", placeholder},
                      {"skipped", nlohmann::json::array()},
                      {"files_with_syntax_errors", r.files_with_syntax_errors},
                      {"summary",
                       {{"total", r.findings.size()},
                        {"blocking", c.blocking},
                        {"warning", c.warning},
                        {"info", c.info},
                        {"fixable", c.fixable},
                        {"by_category", c.by_category},
                        {"by_verdict", c.by_verdict},
                        {"files_seen", r.files_seen},
                        {"files_parsed", r.files_parsed},
                        {"files_from_cache", r.files_from_cache},
                        {"files_prefiltered_out", r.files_prefiltered_out},
                        {"seconds", r.seconds}}}};
  for (auto& s : r.skipped) j["skipped"].push_back({{"path", s.path}, {"reason", s.reason}});
  j["summary"]["suppressed"] = r.suppressed.size();
  for (auto& [k, v] : accounting.items()) j["summary"][k] = v;
  j["suppressed"] = nlohmann::json::array();
  for (auto& s : r.suppressed) {
    j["suppressed"].push_back({{"file", s.finding.file},
                               {"line", s.finding.span.start.line},
                               {"rule", s.finding.rule_id},
                               {"severity", to_string(s.finding.severity)},
                               {"by", s.by},
                               {"reason", s.reason}});
    if (s.by == "comment") j["suppressed"].back()["comment_line"] = s.comment_line;
  }
  auto rest = json_text(j, 2) + "\n";
  auto quoted = json_text(nlohmann::json(placeholder));
  auto at = rest.find("\"findings\": " + quoted) + 12;
  std::string text;
  text.reserve(rest.size() + r.findings.size() * 1024);
  text.append(rest, 0, at);
  append_findings_json(text, r.findings);
  text.append(rest, at + quoted.size());
  return text;
}

std::string render_sarif(const ScanResult& r, const kb::RuleSet& rules, const std::string& version) {
  auto level = [](Severity s) {
    return s == Severity::Blocking ? "error" : s == Severity::Warning ? "warning" : "note";
  };
  std::set<std::string> used;
  for (auto& f : r.findings) used.insert(f.rule_id);
  nlohmann::json driver_rules = nlohmann::json::array();
  std::map<std::string, int> index;
  for (auto& rule : rules.rules) {
    if (!used.count(rule.id)) continue;
    index[rule.id] = static_cast<int>(driver_rules.size());
    driver_rules.push_back(
        {{"id", rule.id},
         {"name", rule.id},
         {"shortDescription", {{"text", rule.message}}},
         {"fullDescription", {{"text", rule.message + (rule.action.empty() ? "" : ". " + rule.action)}}},
         {"help", {{"text", rule.action.empty() ? rule.message : rule.action}}},
         {"defaultConfiguration", {{"level", level(rule.severity)}}},
         {"properties",
          {{"category", rule.category}, {"source", rule.source}, {"tags", {rule.category, "ascend"}}}}});
  }
  nlohmann::json results = nlohmann::json::array();
  for (auto& f : r.findings) {
    nlohmann::json res = {{"ruleId", f.rule_id},
                          {"level", level(f.severity)},
                          {"message", {{"text", f.message + (f.action.empty() ? "" : ". " + f.action)}}},
                          {"locations",
                           {{{"physicalLocation",
                              {{"artifactLocation", {{"uri", f.file}, {"uriBaseId", "%SRCROOT%"}}},
                               {"region",
                                {{"startLine", f.span.start.line},
                                 {"startColumn", f.span.start.column},
                                 {"endLine", f.span.stop.line},
                                 {"endColumn", f.span.stop.column}}}}}}}}};
    if (auto it = index.find(f.rule_id); it != index.end()) res["ruleIndex"] = it->second;
    if (f.fixable() && !f.replacement.empty()) {
      res["fixes"] = {{{"description", {{"text", "replace with " + f.replacement}}},
                       {"artifactChanges",
                        {{{"artifactLocation", {{"uri", f.file}, {"uriBaseId", "%SRCROOT%"}}},
                          {"replacements",
                           {{{"deletedRegion",
                              {{"startLine", f.span.start.line},
                               {"startColumn", f.span.start.column},
                               {"endLine", f.span.stop.line},
                               {"endColumn", f.span.stop.column}}},
                             {"insertedContent", {{"text", f.replacement}}}}}}}}}}};
    }
    results.push_back(std::move(res));
  }
  nlohmann::json sarif = {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
                          {"version", "2.1.0"},
                          {"runs",
                           {{{"tool",
                              {{"driver",
                                {{"name", "kcat"},
                                 {"version", version},
                                 {"informationUri", "https://github.com/kcat-dev/kcat"},
                                 {"rules", driver_rules}}}}},
                             {"results", results},
                             {"columnKind", "unicodeCodePoints"}}}}};
  return json_text(sarif, 2) + "\n";
}

std::string render_markdown(const ScanResult& r) {
  auto c = count(r);
  std::string md = "# kcat scan\n\n";
  md += fmt::format("{} findings: **{} blocking**, {} warning, {} info; {} fixable by `kcat migrate`.\n\n",
                    r.findings.size(), c.blocking, c.warning, c.info, c.fixable);
  md += "| category | findings |\n|---|---:|\n";
  for (auto& [cat, n] : c.by_category) md += fmt::format("| {} | {} |\n", cat, n);
  md += "\n| file:line:col | severity | category | rule | what | to do |\n|---|---|---|---|---|---|\n";
  auto cell = [](std::string_view s) {
    std::string o;
    for (char ch : s)
      o += ch == '|' ? std::string("\\|") : ch == '\n' ? std::string(" ") : std::string(1, ch);
    return o;
  };
  for (auto& f : r.findings) {
    md += fmt::format("| `{}:{}:{}` | {} | {} | {} | {} | {} |\n", cell(f.file), f.span.start.line,
                      f.span.start.column, to_string(f.severity), f.category, f.rule_id, cell(f.message),
                      cell(f.fixable() ? "codemod → " + f.replacement : f.action));
  }
  if (!r.skipped.empty()) {
    md += "\n## Skipped\n\n";
    for (auto& s : r.skipped) md += fmt::format("- `{}`: {}\n", cell(s.path), cell(s.reason));
  }
  if (!r.suppressed.empty()) {
    md += "\n## Suppressed\n\n";
    for (auto& s : r.suppressed) {
      md += fmt::format("- `{}:{}` {} ({}): {}\n", cell(s.finding.file), s.finding.span.start.line,
                        s.finding.rule_id, s.by == "comment" ? "kcat: ignore" : "--select/--exclude",
                        s.by == "option"   ? "not selected"
                        : s.reason.empty() ? "no reason given"
                                           : cell(s.reason));
    }
  }
  return md;
}

}  // namespace kcat::scan
