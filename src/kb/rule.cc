#include "kcat/kb/rule.h"
#include "kcat/core/json.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <set>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

namespace {

const std::vector<std::string> kLanguages = {"python", "cpp",   "cuda",       "requirements", "pyproject",
                                             "conda",  "cmake", "dockerfile", "shell",        "container"};

// Bounds on a pattern's size: RE2 is linear in the text, but a pattern of 50k nested groups still
// costs gigabytes to compile. Past the size, RE2's own program-memory bound (8 MiB by default)
// refuses a pattern whose program would be larger.
constexpr size_t kMaxPatternBytes = 4096;

std::string where_of(const toml::node& n, const std::string& file, const std::string& id) {
  return fmt::format("{}:{}{}", file, n.source().begin.line, id.empty() ? "" : " (rule " + id + ")");
}

void refuse_unknown_keys(const toml::table& t, const std::set<std::string, std::less<>>& known,
                         const std::string& what, const std::string& where) {
  for (auto& [k, v] : t) {
    if (known.count(k.str())) continue;
    std::string list;
    for (auto& n : known) list += (list.empty() ? "" : " ") + n;
    throw Error(ErrorKind::Usage, fmt::format("unknown key '{}' in {}", k.str(), what), where,
                "use one of: " + list);
  }
}

// The python matcher's table (`match = { kind = ..., names = [...] }`): every key known and of its
// type, so a rule the scanner cannot use is refused when it is loaded, never while files are scanned.
void check_match(const toml::table& m, const std::string& where) {
  static const std::set<std::string, std::less<>> keys = {"kind",
                                                          "names",
                                                          "values",
                                                          "words",
                                                          "globs",
                                                          "exclude",
                                                          "cuda_sources",
                                                          "swap",
                                                          "whole",
                                                          "name_replacement",
                                                          "guarded_severity",
                                                          "comparison_severity",
                                                          "call"};
  refuse_unknown_keys(m, keys, "match", where);
  auto kind = m["kind"].value<std::string>();
  const auto& kinds = python_match_kinds();
  if (!kind || std::find(kinds.begin(), kinds.end(), *kind) == kinds.end()) {
    std::string list;
    for (auto& k : kinds) list += (list.empty() ? "" : " ") + k;
    throw Error(ErrorKind::Usage, "match.kind must be one of the python match kinds", where,
                "use one of: " + list);
  }
  for (auto key : {"names", "values", "words", "globs", "exclude"}) string_list(m, key, where);
  for (auto key : {"swap", "name_replacement"}) text_field(m, key, where);
  for (auto key : {"cuda_sources", "whole", "call"}) {
    if (auto* n = m.get(key); n && !n->is_boolean())
      throw Error(ErrorKind::Usage, fmt::format("match.{} must be true or false", key), where);
  }
  for (auto key : {"guarded_severity", "comparison_severity"}) {
    if (m.get(key) && !parse_severity(text_field(m, key, where)))
      throw Error(ErrorKind::Usage, fmt::format("match.{} must be blocking, warning or info", key), where);
  }
}

void check_pattern(const std::string& pattern, const std::string& where) {
  if (pattern.size() > kMaxPatternBytes) {
    throw Error(ErrorKind::Usage,
                fmt::format("pattern is {} bytes, more than {}", pattern.size(), kMaxPatternBytes), where,
                "write a shorter pattern, or several rules");
  }
  RE2::Options opt;
  opt.set_log_errors(false);
  RE2 re(pattern, opt);
  if (!re.ok()) throw Error(ErrorKind::Usage, "bad pattern: " + re.error(), where, "see RE2's syntax");
}

Rule parse_rule(const toml::table& t, const std::string& file) {
  static const std::set<std::string, std::less<>> keys = {
      "id",     "languages", "category", "severity",        "query",  "pattern",
      "match",  "message",   "action",   "codemod",         "recipe", "replacement",
      "source", "prefilter", "examples", "counter_examples"};
  Rule r;
  r.origin = file;
  r.id = kb::text_field(t, "id", where_of(t, file, ""));
  auto where = [&](const std::string& id) { return where_of(t, file, id); };
  auto text = [&](const toml::table& tt, std::string_view key) {
    return kb::text_field(tt, key, where(r.id));
  };
  auto texts = [&](const toml::table& tt, std::string_view key) {
    return kb::string_list(tt, key, where(r.id));
  };
  if (r.id.empty()) throw Error(ErrorKind::Usage, "rule has no id", where(""), "add id = \"...\"");
  refuse_unknown_keys(t, keys, "a [[rule]]", where(r.id));
  r.languages = texts(t, "languages");
  if (r.languages.empty()) {
    throw Error(ErrorKind::Usage, "rule has no languages", where(r.id),
                "add languages = [\"python\"] (one of: python cpp cuda requirements pyproject conda cmake "
                "dockerfile shell)");
  }
  for (auto& l : r.languages) {
    if (std::find(kLanguages.begin(), kLanguages.end(), l) == kLanguages.end()) {
      throw Error(ErrorKind::Usage, "unknown language '" + l + "'", where(r.id),
                  "use one of: python cpp cuda requirements pyproject conda cmake dockerfile shell");
    }
  }
  r.category = text(t, "category");
  if (r.category.empty()) throw Error(ErrorKind::Usage, "rule has no category", where(r.id));
  auto sev = parse_severity(text(t, "severity"));
  if (!sev) throw Error(ErrorKind::Usage, "severity must be blocking, warning or info", where(r.id));
  r.severity = *sev;
  r.query = text(t, "query");
  r.pattern = text(t, "pattern");
  if (!r.pattern.empty()) check_pattern(r.pattern, where(r.id));
  if (auto* mn = t.get("match")) {
    auto* m = mn->as_table();
    if (!m)
      throw Error(ErrorKind::Usage, "'match' must be a table", where(r.id),
                  "write match = { kind = \"...\" }");
    check_match(*m, where(r.id));
    r.match = toml_to_json(*m);
  }
  int kinds = !r.query.empty() + !r.pattern.empty() + !r.match.is_null();
  if (kinds != 1) {
    throw Error(ErrorKind::Usage, "a rule needs exactly one of query, pattern or match", where(r.id));
  }
  r.matcher = !r.query.empty() ? "query" : !r.pattern.empty() ? "text" : "python";
  r.message = text(t, "message");
  if (r.message.empty()) throw Error(ErrorKind::Usage, "rule has no message", where(r.id));
  r.action = text(t, "action");
  r.codemod = text(t, "codemod");
  r.recipe = text(t, "recipe");
  r.replacement = text(t, "replacement");
  r.source = text(t, "source");
  r.prefilter = texts(t, "prefilter");
  r.examples = texts(t, "examples");
  r.counter_examples = texts(t, "counter_examples");
  return r;
}

}  // namespace

const std::vector<std::string>& python_match_kinds() {
  static const std::vector<std::string> kinds = {"api", "import",  "method",    "device-string", "string",
                                                 "env", "keyword", "sdpa-mask", "mention"};
  return kinds;
}

bool Rule::applies_to(std::string_view language) const {
  return std::find(languages.begin(), languages.end(), language) != languages.end();
}

const Rule* RuleSet::find(std::string_view id) const {
  for (auto& r : rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::string RuleSet::fingerprint() const {
  size_t h = 1469598103934665603ull;
  auto mix = [&](const std::string& s) { h = (h ^ std::hash<std::string>{}(s)) * 1099511628211ull; };
  for (auto& r : rules) {
    mix(r.id);
    mix(r.category);
    mix(to_string(r.severity));
    mix(r.query);
    mix(r.pattern);
    mix(json_text(r.match));
    mix(r.message);
    mix(r.action);
    mix(r.codemod);
    mix(r.recipe);
    mix(r.replacement);
    mix(r.source);
    mix(r.matcher);
    for (auto& l : r.languages) mix(l);
    for (auto& p : r.prefilter) mix(p);
  }
  return fmt::format("{:016x}", h);
}

std::vector<Rule> load_rule_file(const std::filesystem::path& file) {
  auto doc = parse_toml_file(file, "fix the syntax; see docs/rules.md for the rule format");
  std::vector<Rule> out;
  auto* arr = doc["rule"].as_array();
  if (!arr) {
    throw Error(ErrorKind::Usage, "no [[rule]] tables", file.string(),
                "see docs/rules.md for the rule format");
  }
  for (auto& node : *arr) {
    auto* t = node.as_table();
    if (!t)
      throw Error(ErrorKind::Usage, "a [[rule]] entry is not a table", where_of(node, file.string(), ""));
    out.push_back(parse_rule(*t, file.string()));
  }
  return out;
}

RuleSet load_rules(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(ErrorKind::Environment, "rule directory not found", dir.string(),
                "set KCAT_DATA_DIR to kcat's patches/ directory");
  }
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().extension() == ".toml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  RuleSet set;
  for (auto& f : files) {
    for (auto& r : load_rule_file(f)) {
      if (auto* prev = set.find(r.id)) {
        throw Error(ErrorKind::Usage, "duplicate rule id '" + r.id + "'", f.string(),
                    "it is also defined in " + prev->origin);
      }
      set.rules.push_back(std::move(r));
    }
  }
  return set;
}

void merge_rules(RuleSet& into, std::vector<Rule> extra) {
  for (auto& r : extra) {
    auto it = std::find_if(into.rules.begin(), into.rules.end(), [&](const Rule& x) { return x.id == r.id; });
    if (it != into.rules.end()) {
      *it = std::move(r);
    } else {
      into.rules.push_back(std::move(r));
    }
  }
}

}  // namespace kcat::kb
