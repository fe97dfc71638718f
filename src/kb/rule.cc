#include "kcat/kb/rule.h"
#include "kcat/core/json.h"

#include <fmt/format.h>
#include <toml++/toml.h>
#include <algorithm>
#include <functional>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

namespace {

const std::vector<std::string> kLanguages = {"python", "cpp",   "cuda",       "requirements", "pyproject",
                                             "conda",  "cmake", "dockerfile", "shell"};

std::string str(const toml::table& t, std::string_view key) { return t[key].value_or(std::string{}); }

std::vector<std::string> strings(const toml::table& t, std::string_view key) {
  std::vector<std::string> out;
  if (auto* arr = t[key].as_array()) {
    for (auto& v : *arr) {
      if (auto s = v.value<std::string>()) out.push_back(*s);
    }
  } else if (auto s = t[key].value<std::string>()) {
    out.push_back(*s);
  }
  return out;
}

Rule parse_rule(const toml::table& t, const std::string& file) {
  Rule r;
  r.origin = file;
  r.id = str(t, "id");
  auto where = [&](const std::string& id) {
    auto line = t.source().begin.line;
    return fmt::format("{}:{}{}", file, line, id.empty() ? "" : " (rule " + id + ")");
  };
  if (r.id.empty()) throw Error(ErrorKind::Usage, "rule has no id", where(""), "add id = \"...\"");
  r.languages = strings(t, "languages");
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
  r.category = str(t, "category");
  if (r.category.empty()) throw Error(ErrorKind::Usage, "rule has no category", where(r.id));
  auto sev = parse_severity(str(t, "severity"));
  if (!sev) throw Error(ErrorKind::Usage, "severity must be blocking, warning or info", where(r.id));
  r.severity = *sev;
  r.query = str(t, "query");
  r.pattern = str(t, "pattern");
  if (auto* m = t["match"].as_table()) r.match = toml_to_json(*m);
  int kinds = !r.query.empty() + !r.pattern.empty() + !r.match.is_null();
  if (kinds != 1) {
    throw Error(ErrorKind::Usage, "a rule needs exactly one of query, pattern or match", where(r.id));
  }
  r.matcher = !r.query.empty() ? "query" : !r.pattern.empty() ? "text" : "python";
  r.message = str(t, "message");
  if (r.message.empty()) throw Error(ErrorKind::Usage, "rule has no message", where(r.id));
  r.action = str(t, "action");
  r.codemod = str(t, "codemod");
  r.recipe = str(t, "recipe");
  r.replacement = str(t, "replacement");
  r.source = str(t, "source");
  r.prefilter = strings(t, "prefilter");
  r.examples = strings(t, "examples");
  r.counter_examples = strings(t, "counter_examples");
  return r;
}

}  // namespace

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
    if (auto* t = node.as_table()) out.push_back(parse_rule(*t, file.string()));
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
