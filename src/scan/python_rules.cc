#include "python_rules.h"

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
  for (auto& r : rules.rules) {
    if (!r.applies_to("python")) continue;
    if (r.matcher == "query") {
      c->queries.emplace_back(std::make_shared<const kb::Rule>(r),
                              compile_query("python", r.query, r.origin + " (rule " + r.id + ")"));
      continue;
    }
    if (r.matcher != "python") continue;
    PyRule p;
    p.rule = std::make_shared<const kb::Rule>(r);
    p.kind = r.match.value("kind", "");
    p.names = strings_of(r.match, "names");
    p.values = strings_of(r.match, "values");
    p.words = strings_of(r.match, "words");
    p.excludes = strings_of(r.match, "exclude");
    p.cuda_sources = r.match.value("cuda_sources", false);
    p.swap = r.match.value("swap", "");
    p.whole = r.match.value("whole", false);
    p.name_replacement = r.match.value("name_replacement", "");
    p.call = r.match.value("call", false);
    if (r.match.contains("guarded_severity")) p.guarded = parse_severity(r.match.value("guarded_severity", ""));
    if (r.match.contains("comparison_severity")) {
      p.in_comparison = parse_severity(r.match.value("comparison_severity", ""));
    }
    static const std::vector<std::string> kinds = {"api", "import", "method", "device-string", "string", "env",
                                                   "keyword", "sdpa-mask", "mention"};
    if (std::find(kinds.begin(), kinds.end(), p.kind) == kinds.end()) {
      throw Error(ErrorKind::Usage, "unknown python match kind '" + p.kind + "'", r.origin + " (rule " + r.id + ")",
                  "use one of: api import method device-string string env keyword sdpa-mask mention");
    }
    if (p.kind == "method") c->method_names.insert(p.names.begin(), p.names.end());
    if (p.kind == "keyword") c->keyword_names.insert(p.names.begin(), p.names.end());
    c->rules.push_back(std::move(p));
  }
  cache.emplace(key, c);
  return c;
}

}  // namespace kcat::scan::py
