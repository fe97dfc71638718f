#pragma once
// Finding: one place in a repository that ties it to CUDA / NVIDIA, as every layer sees it.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "kcat/core/text.h"

namespace kcat {

enum class Severity { Blocking, Warning, Info };

// Where a match sits in the source: only Code can block; the rest is info at most.
enum class Context { Code, Comment, Docstring, String };

// How the knowledge base judges the matched API on Ascend (issue: verdicts in every scan).
enum class Verdict { None, Supported, Unsupported, Unknown, CpuFallback };

struct Span {
  uint32_t begin = 0;  // byte offset, inclusive
  uint32_t end = 0;    // byte offset, exclusive
  Position start;      // line:column of begin
  Position stop;       // line:column of end
  bool operator==(const Span&) const = default;
};

struct Finding {
  std::string rule_id;   // e.g. "py.device-string"
  std::string category;  // e.g. "device-call", "import", "env-var"
  Severity severity = Severity::Warning;
  std::string file;         // repository-relative, '/'-separated
  Span span;                // exactly the bytes a codemod replaces (or the matched construct)
  std::string matched;      // the resolved API or text matched, e.g. "torch.cuda.synchronize"
  std::string message;      // what is wrong here
  std::string action;       // what to do here
  std::string codemod;      // codemod id that fixes it, empty when none
  std::string recipe;       // recipe id that fixes it, empty when none
  std::string replacement;  // the codemod's replacement text for `span`, when it is a plain swap
  Context context = Context::Code;
  Verdict verdict = Verdict::None;
  std::string equivalent;  // the Ascend equivalent named by the knowledge base
  std::string source;      // citation of the fact behind the rule (repo:path)

  bool fixable() const { return !codemod.empty(); }
};

// Stable order: file, then byte offset, then rule id.
bool operator<(const Finding& a, const Finding& b);

const char* to_string(Severity s) noexcept;
const char* to_string(Context c) noexcept;
const char* to_string(Verdict v) noexcept;
std::optional<Severity> parse_severity(std::string_view s) noexcept;
std::optional<Verdict> parse_verdict(std::string_view s) noexcept;

void to_json(nlohmann::json& j, const Span& s);
void from_json(const nlohmann::json& j, Span& s);
void to_json(nlohmann::json& j, const Finding& f);
void from_json(const nlohmann::json& j, Finding& f);

}  // namespace kcat
