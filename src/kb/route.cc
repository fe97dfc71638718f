#include "kcat/kb/route.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {
namespace {

constexpr const char* kHint = "see docs/knowledge-base.md (routes)";

std::vector<std::string> list(const toml::table& t, const char* key, const std::string& where) {
  return string_list(t, key, where, kHint);
}

std::map<std::string, std::string> table(const toml::table& t, const char* key, const std::string& where) {
  std::map<std::string, std::string> out;
  const auto* node = t.get(key);
  if (!node) return out;
  const auto* tab = node->as_table();
  if (!tab)
    throw Error(ErrorKind::Usage, fmt::format("route: '{}' must be a table of strings", key), where, kHint);
  for (const auto& [k, v] : *tab) {
    auto s = v.value<std::string>();
    if (!s)
      throw Error(ErrorKind::Usage, fmt::format("route: {}.{} must be a string", key, k.str()), where, kHint);
    out[std::string(k.str())] = *s;
  }
  return out;
}

Route parse(const toml::table& t, const std::string& file) {
  Route r;
  r.origin = fmt::format("{}:{}", file, t.source().begin.line);
  r.id = text_field(t, "id");
  r.model = text_field(t, "model");
  r.title = text_field(t, "title");
  r.summary = text_field(t, "summary");
  r.expected_note = text_field(t, "expected_note");
  r.run = text_field(t, "run");
  if (const auto* e = t.get("expected_throughput")) {
    auto v = e->value<double>();
    if (!v || *v <= 0)
      throw Error(ErrorKind::Usage, "route: expected_throughput must be a number above 0", r.origin);
    r.expected_throughput = *v;
  }
  r.detect = list(t, "detect", r.origin);
  r.install = list(t, "install", r.origin);
  r.recipes = list(t, "recipes", r.origin);
  r.caveats = list(t, "caveats", r.origin);
  r.sources = list(t, "sources", r.origin);
  r.stack = table(t, "stack", r.origin);
  r.env = table(t, "env", r.origin);
  if (t.contains("replaces")) {
    auto rep = table(t, "replaces", r.origin);
    RouteReplaces x{rep["defines"], rep["registers"], rep["why"]};
    if (x.defines.empty() || x.registers.empty() || x.why.empty())
      throw Error(ErrorKind::Usage, "route: replaces needs defines, registers and why", r.origin, kHint);
    r.replaces = x;
  }
  if (r.id.empty() || r.title.empty())
    throw Error(ErrorKind::Usage, "route needs id and title", r.origin, kHint);
  if (r.detect.empty())
    throw Error(ErrorKind::Usage, "route '" + r.id + "' has no detect texts", r.origin, kHint);
  if (r.sources.empty())
    throw Error(ErrorKind::Usage, "route '" + r.id + "' cites no sources", r.origin, kHint);
  return r;
}

}  // namespace

std::vector<Route> load_routes(const std::filesystem::path& dir) {
  std::vector<Route> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".toml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto doc = parse_toml_file(f, kHint);
    const auto* arr = doc["route"].as_array();
    if (!arr) throw Error(ErrorKind::Usage, "no [[route]] tables", f.string(), kHint);
    for (const auto& n : *arr) {
      if (const auto* t = n.as_table()) out.push_back(parse(*t, f.string()));
    }
  }
  return out;
}

}  // namespace kcat::kb
