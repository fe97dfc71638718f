#include "kcat/core/finding.h"

#include <nlohmann/json.hpp>
#include <tuple>

namespace kcat {

bool operator<(const Finding& a, const Finding& b) {
  return std::tie(a.file, a.span.begin, a.span.end, a.rule_id) <
         std::tie(b.file, b.span.begin, b.span.end, b.rule_id);
}

const char* to_string(Severity s) noexcept {
  switch (s) {
    case Severity::Blocking:
      return "blocking";
    case Severity::Warning:
      return "warning";
    case Severity::Info:
      return "info";
  }
  return "info";
}

const char* to_string(Context c) noexcept {
  switch (c) {
    case Context::Code:
      return "code";
    case Context::Comment:
      return "comment";
    case Context::Docstring:
      return "docstring";
    case Context::String:
      return "string";
  }
  return "code";
}

const char* to_string(Verdict v) noexcept {
  switch (v) {
    case Verdict::None:
      return "";
    case Verdict::Supported:
      return "supported";
    case Verdict::Unsupported:
      return "unsupported";
    case Verdict::Unknown:
      return "unknown";
    case Verdict::CpuFallback:
      return "cpu-fallback";
  }
  return "";
}

std::optional<Severity> parse_severity(std::string_view s) noexcept {
  if (s == "blocking") return Severity::Blocking;
  if (s == "warning") return Severity::Warning;
  if (s == "info") return Severity::Info;
  return std::nullopt;
}

std::optional<Verdict> parse_verdict(std::string_view s) noexcept {
  if (s.empty()) return Verdict::None;
  if (s == "supported") return Verdict::Supported;
  if (s == "unsupported") return Verdict::Unsupported;
  if (s == "unknown") return Verdict::Unknown;
  if (s == "cpu-fallback") return Verdict::CpuFallback;
  return std::nullopt;
}

static Context parse_context(std::string_view s) {
  if (s == "comment") return Context::Comment;
  if (s == "docstring") return Context::Docstring;
  if (s == "string") return Context::String;
  return Context::Code;
}

void to_json(nlohmann::json& j, const Span& s) {
  j = {{"begin", s.begin},        {"end", s.end},
       {"line", s.start.line},    {"column", s.start.column},
       {"end_line", s.stop.line}, {"end_column", s.stop.column}};
}

void from_json(const nlohmann::json& j, Span& s) {
  s.begin = j.at("begin").get<uint32_t>();
  s.end = j.at("end").get<uint32_t>();
  s.start = {j.at("line").get<uint32_t>(), j.at("column").get<uint32_t>()};
  s.stop = {j.at("end_line").get<uint32_t>(), j.at("end_column").get<uint32_t>()};
}

void to_json(nlohmann::json& j, const Finding& f) {
  j = {{"rule", f.rule_id},
       {"category", f.category},
       {"severity", to_string(f.severity)},
       {"file", f.file},
       {"span", f.span},
       {"matched", f.matched},
       {"message", f.message},
       {"action", f.action},
       {"codemod", f.codemod},
       {"recipe", f.recipe},
       {"replacement", f.replacement},
       {"context", to_string(f.context)},
       {"verdict", to_string(f.verdict)},
       {"equivalent", f.equivalent},
       {"source", f.source}};
}

void from_json(const nlohmann::json& j, Finding& f) {
  f.rule_id = j.at("rule").get<std::string>();
  f.category = j.at("category").get<std::string>();
  f.severity = parse_severity(j.at("severity").get<std::string>()).value_or(Severity::Info);
  f.file = j.at("file").get<std::string>();
  f.span = j.at("span").get<Span>();
  f.matched = j.value("matched", "");
  f.message = j.value("message", "");
  f.action = j.value("action", "");
  f.codemod = j.value("codemod", "");
  f.recipe = j.value("recipe", "");
  f.replacement = j.value("replacement", "");
  f.context = parse_context(j.value("context", "code"));
  f.verdict = parse_verdict(j.value("verdict", "")).value_or(Verdict::None);
  f.equivalent = j.value("equivalent", "");
  f.source = j.value("source", "");
}

}  // namespace kcat
