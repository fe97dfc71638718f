#include "kcat/kb/phases.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <map>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

namespace {

bool has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A category is in at most one phase (and one kind of list): else the file's order would decide.
void check_unique(const PhaseMap& m) {
  std::map<std::string, std::string> seen;
  for (auto& p : m.phases) {
    for (auto* list : {&p.categories, &p.categories_without_recipe}) {
      for (auto& c : *list) {
        auto [it, fresh] = seen.emplace(c, p.id);
        if (!fresh) {
          throw Error(ErrorKind::Usage,
                      fmt::format("category '{}' is in phase '{}' and in phase '{}'", c, it->second, p.id),
                      p.where, "name each category in one phase");
        }
      }
    }
  }
}

void check_known(const std::string& id, const std::string& where, const std::vector<std::string>& known) {
  if (!has(known, id)) {
    throw Error(ErrorKind::Usage, fmt::format("unknown phase '{}'", id), where,
                fmt::format("a phase is one of {}", fmt::join(known, ", ")));
  }
}

}  // namespace

const std::string& PhaseMap::phase_of(std::string_view category, std::string_view recipe) const {
  if (!recipe.empty()) {
    for (auto& p : phases) {
      for (auto& word : p.recipe_contains) {
        if (recipe.find(word) != std::string_view::npos) return p.id;
      }
    }
  }
  for (auto& p : phases) {
    if (recipe.empty() && has(p.categories_without_recipe, category)) return p.id;
  }
  return phase_of_category(category);
}

const std::string& PhaseMap::phase_of_category(std::string_view category) const {
  for (auto& p : phases) {
    if (has(p.categories, category)) return p.id;
  }
  return fallback;
}

PhaseMap load_phase_map(const std::filesystem::path& dir, const std::vector<std::string>& known) {
  auto file = dir / "phases.toml";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    throw Error(ErrorKind::Environment, "the plan's phase map was not found", file.string(),
                "set KCAT_DATA_DIR to kcat's patches/ directory");
  }
  auto doc = parse_toml_file(file);
  PhaseMap m;
  m.fallback = text_field(doc, "default");
  m.where = fmt::format("{}:{}", file.string(), doc.source().begin.line);
  if (m.fallback.empty()) {
    throw Error(ErrorKind::Usage, "phases.toml needs a default phase", file.string(),
                "write default = \"device-api\" before the [[phase]] tables");
  }
  if (auto* d = doc.get("default")) m.where = fmt::format("{}:{}", file.string(), d->source().begin.line);
  check_known(m.fallback, m.where, known);
  if (auto* arr = doc["phase"].as_array()) {
    for (auto& n : *arr) {
      auto where = fmt::format("{}:{}", file.string(), n.source().begin.line);
      auto* t = n.as_table();
      if (!t) throw Error(ErrorKind::Usage, "'phase' must be a table", where, "write [[phase]]");
      PhaseEntry p{text_field(*t, "id"),
                   text_field(*t, "source"),
                   where,
                   string_list(*t, "categories"),
                   string_list(*t, "categories_without_recipe"),
                   string_list(*t, "recipe_contains")};
      if (p.id.empty() || p.source.empty()) {
        throw Error(ErrorKind::Usage, "a phase needs id and source", where,
                    "write id = \"<plan phase>\" and source = \"<why these categories go there>\"");
      }
      check_known(p.id, where, known);
      m.phases.push_back(std::move(p));
    }
  }
  check_unique(m);
  return m;
}

}  // namespace kcat::kb
