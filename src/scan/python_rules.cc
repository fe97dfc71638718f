#include "python_rules.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <mutex>

#include "kcat/core/error.h"
#include "rules_key.h"

namespace kcat::scan::py {

namespace {

std::vector<std::string> strings_of(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  const auto& v = j.at(key);
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array()) {
    for (auto& s : v) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

// The text between a glob's wildcards: "torch.cuda.*" -> "torch.cuda.", "".
std::vector<std::string> literal_runs(const std::string& glob) {
  std::vector<std::string> runs(1);
  for (char ch : glob) {
    if (ch == '*' || ch == '?') {
      runs.emplace_back();
    } else {
      runs.back() += ch;
    }
  }
  return runs;
}

}  // namespace

// Queries are expensive to compile: once per distinct rule content (the fingerprint), shared by
// every thread. Rules are copied in, so nothing points into the caller's RuleSet.
std::shared_ptr<const Compiled> compile_python_rules(const kb::RuleSet& rules) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Compiled>> cache;
  auto key = rules_key(rules);
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto c = std::make_shared<Compiled>();
  // The partial parse (python_partial.h) needs every match to be written as a literal of the
  // rules, or reached through a binding that holds one.
  std::vector<std::string> literals;
  bool partial = true;
  for (auto& r : rules.rules) {
    if (!r.applies_to("python")) continue;
    if (r.prefilter.empty()) partial = false;
    literals.insert(literals.end(), r.prefilter.begin(), r.prefilter.end());
  }
  std::vector<std::string> globs;  // api / import / sdpa-mask names: checked against the literals below
  // A glob matched against a whole string (an env name, a string rule's glob): its longest literal
  // run is written in that string.
  auto add_longest_run = [&](const std::string& g) {
    auto runs = literal_runs(g);
    auto longest =
        *std::max_element(runs.begin(), runs.end(), [](auto& a, auto& b) { return a.size() < b.size(); });
    if (longest.empty()) partial = false;
    literals.push_back(longest);
  };
  for (auto& r : rules.rules) {
    if (!r.applies_to("python")) continue;
    if (r.matcher == "query") {
      // A query with a prefilter matches, like every other rule, only in the statements that hold
      // one of its literals (the partial parse includes them); without one it can match anything.
      if (r.prefilter.empty()) partial = false;
      c->queries.emplace_back(std::make_shared<const kb::Rule>(r),
                              compile_query("python", r.query, r.origin + " (rule " + r.id + ")"));
      continue;
    }
    if (r.matcher != "python") continue;
    PyRule p;
    p.rule = std::make_shared<const kb::Rule>(r);
    auto kind = r.match.value("kind", "");
    p.names = strings_of(r.match, "names");
    p.values = strings_of(r.match, "values");
    p.words = strings_of(r.match, "words");
    p.globs = strings_of(r.match, "globs");
    p.excludes = strings_of(r.match, "exclude");
    p.cuda_sources = r.match.value("cuda_sources", false);
    p.swap = r.match.value("swap", "");
    p.whole = r.match.value("whole", false);
    p.name_replacement = r.match.value("name_replacement", "");
    p.call = r.match.value("call", false);
    if (r.match.contains("guarded_severity"))
      p.guarded = parse_severity(r.match.value("guarded_severity", ""));
    if (r.match.contains("comparison_severity")) {
      p.in_comparison = parse_severity(r.match.value("comparison_severity", ""));
    }
    static const std::map<std::string, Kind, std::less<>> kinds = {
        {"api", Kind::Api},         {"import", Kind::Import},
        {"method", Kind::Method},   {"device-string", Kind::DeviceString},
        {"string", Kind::String},   {"env", Kind::Env},
        {"keyword", Kind::Keyword}, {"sdpa-mask", Kind::SdpaMask},
        {"mention", Kind::Mention}};
    auto known = kinds.find(kind);
    if (known == kinds.end()) {
      throw Error(ErrorKind::Usage, "unknown python match kind '" + kind + "'",
                  r.origin + " (rule " + r.id + ")",
                  "use one of: " + fmt::format("{}", fmt::join(kb::python_match_kinds(), " ")));
    }
    p.kind = known->second;
    if (p.kind == Kind::Method) c->method_names.insert(p.names.begin(), p.names.end());
    if (p.kind == Kind::Keyword) c->keyword_names.insert(p.names.begin(), p.names.end());
    switch (p.kind) {
      case Kind::Method:
      case Kind::Keyword:
        literals.insert(literals.end(), p.names.begin(), p.names.end());  // written as they are
        break;
      case Kind::String:
        literals.insert(literals.end(), p.values.begin(), p.values.end());
        literals.insert(literals.end(), p.words.begin(), p.words.end());
        for (auto& g : p.globs) add_longest_run(g);  // the content holds it
        break;
      case Kind::Env:
        // The variable's name is written in the string: its longest literal run is too.
        for (auto& g : p.names) add_longest_run(g);
        break;
      case Kind::Api:
      case Kind::Import:
      case Kind::SdpaMask:
        globs.insert(globs.end(), p.names.begin(), p.names.end());
        break;
      case Kind::DeviceString:
      case Kind::Mention:
        break;  // "cuda" and the mention words are always triggers
    }
    c->rules.push_back(std::move(p));
  }
  auto triggers = std::make_unique<Triggers>(literals, partial);
  // A qualified name matched by a glob must hold a trigger in one of the glob's literal runs.
  bool globs_hold = std::all_of(globs.begin(), globs.end(), [&](const std::string& g) {
    auto runs = literal_runs(g);
    return triggers->usable() && std::any_of(runs.begin(), runs.end(), [&](const std::string& run) {
             return RE2::PartialMatch(run, triggers->re());
           });
  });
  if (triggers->usable() && !globs_hold) triggers = std::make_unique<Triggers>(literals, false);
  c->triggers = std::move(triggers);
  for (auto& r : c->rules) {
    if (r.kind == Kind::Mention) {
      c->mention = &r;
      break;
    }
  }
  cache.emplace(key, c);
  return c;
}

}  // namespace kcat::scan::py
