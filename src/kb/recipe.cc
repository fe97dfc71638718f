#include "kcat/kb/recipe.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <map>
#include <set>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {
namespace {

const std::set<std::string> kPhases = {"environment", "device-api",    "distributed",
                                       "attention",   "kernels-build", "performance"};
const std::set<std::string> kKinds = {"port", "performance", "agent"};
constexpr const char* kHint = "see docs/recipes.md for the recipe format";

std::string str(const toml::table& t, const char* key) { return text_field(t, key, {}, kHint); }

Recipe parse_recipe(const toml::table& t, const std::string& file) {
  Recipe r;
  r.origin = fmt::format("{}:{}", file, t.source().begin.line);
  const std::string& where = r.origin;
  r.id = str(t, "id");
  if (r.id.empty()) throw Error(ErrorKind::Usage, "recipe has no id", where, "add id = \"kebab-case-name\"");
  auto bad = [&](const std::string& what) {
    return Error(ErrorKind::Usage, fmt::format("recipe '{}': {}", r.id, what), where, kHint);
  };
  r.title = str(t, "title");
  r.phase = str(t, "phase");
  r.kind = t["kind"].value_or(std::string("performance"));
  r.gain_note = str(t, "gain_note");
  r.source = str(t, "source");
  r.description = str(t, "description");
  r.when_text = str(t, "when_text");
  if (r.title.empty()) throw bad("no title");
  if (r.source.empty()) throw bad("no source (every recipe cites where its change and gain come from)");
  if (!kPhases.count(r.phase)) throw bad("unknown phase '" + r.phase + "'");
  if (!kKinds.count(r.kind)) throw bad("kind must be port, performance or agent, not '" + r.kind + "'");
  r.task = str(t, "task");
  if (const auto* g = t.get("expected_gain")) {
    auto v = g->value<double>();
    if (!v || *v <= 0) throw bad("expected_gain must be a number above 0");
    r.expected_gain = *v;
  }
  r.when_findings = string_list(t, "when_findings", where, kHint);
  r.when_files = string_list(t, "when_files", where, kHint);
  r.addresses = string_list(t, "addresses", where, kHint);
  r.imports = string_list(t, "imports", where, kHint);
  r.module = str(t, "module");
  r.provides = string_list(t, "provides", where, kHint);
  r.outcome = str(t, "outcome");
  r.site_action = str(t, "site_action");
  if (!r.outcome.empty() && r.outcome != "kept" && r.outcome != "left")
    throw bad("outcome must be kept or left, not '" + r.outcome + "'");
  if (!r.outcome.empty() && (r.kind != "port" || r.site_action.empty()))
    throw bad("a recipe with an outcome is a port recipe and needs site_action (what its sites are told)");
  if (r.outcome.empty() && !r.site_action.empty())
    throw bad("site_action needs outcome = \"kept\" or \"left\"");
  each_table(t, "edit", file, "[[recipe.edit]]", kHint, [&](const toml::table& e, const std::string& w) {
    RecipeEdit edit;
    edit.file = str(e, "file");
    edit.search = str(e, "search");
    edit.replace = str(e, "replace");
    edit.regex = e["regex"].value_or(false);
    edit.at_findings = e["at_findings"].value_or(false);
    edit.check_imports = e["check_imports"].value_or(false);
    edit.require = string_list(e, "require", w, kHint);
    edit.refuse = string_list(e, "refuse", w, kHint);
    edit.refuse_enclosing = string_list(e, "refuse_enclosing", w, kHint);
    edit.reason = str(e, "reason");
    if (edit.file.empty()) edit.file = "**/*";
    if (edit.check_imports && r.provides.empty()) {
      throw Error(ErrorKind::Usage, fmt::format("recipe '{}': check_imports needs provides", r.id), w, kHint);
    }
    if ((!edit.require.empty() || !edit.refuse.empty() || !edit.refuse_enclosing.empty()) &&
        edit.reason.empty()) {
      throw Error(ErrorKind::Usage, fmt::format("recipe '{}': require/refuse need a reason", r.id), w, kHint);
    }
    if (edit.search.empty()) {
      throw Error(ErrorKind::Usage, fmt::format("recipe '{}': an edit has an empty search", r.id), w, kHint);
    }
    if (!e.get("replace")) {
      throw Error(ErrorKind::Usage, fmt::format("recipe '{}': an edit has no replace", r.id), w, kHint);
    }
    if (edit.at_findings && r.when_findings.empty()) {
      throw Error(ErrorKind::Usage, fmt::format("recipe '{}': at_findings needs when_findings", r.id), w,
                  kHint);
    }
    r.edits.push_back(std::move(edit));
  });
  each_table(t, "env", file, "[[recipe.env]]", kHint, [&](const toml::table& e, const std::string& w) {
    RecipeEnv env{str(e, "name"), str(e, "value")};
    if (env.name.empty() || env.name.find_first_of("= \t\n") != std::string::npos) {
      throw Error(ErrorKind::Usage, fmt::format("recipe '{}': an env entry needs a valid name", r.id), w,
                  kHint);
    }
    r.env.push_back(std::move(env));
  });
  each_table(t, "file", file, "[[recipe.file]]", kHint, [&](const toml::table& e, const std::string& w) {
    RecipeFile f{str(e, "path"), str(e, "content")};
    if (f.path.empty() || f.path.front() == '/' || f.path.find("..") != std::string::npos) {
      throw Error(ErrorKind::Usage,
                  fmt::format("recipe '{}': a file needs a relative path inside the repository", r.id), w,
                  kHint);
    }
    r.files.push_back(std::move(f));
  });
  if (r.kind == "agent") {
    // Its changes are the agent's, checked against the task's contract: an edit here would never run.
    if (r.task.empty()) throw bad("kind agent needs a task (the contract the agent is given)");
    if (!r.edits.empty() || !r.env.empty() || !r.files.empty())
      throw bad("kind agent has no edit, env or file of its own (the agent makes the change)");
    return r;
  }
  if (!r.outcome.empty() && (!r.edits.empty() || !r.files.empty()))
    throw bad("a recipe with an outcome changes no code (no [[recipe.edit]] or [[recipe.file]])");
  if (r.outcome.empty() && r.edits.empty() && r.env.empty() && r.files.empty())
    throw bad("changes nothing (no edit, env or file)");
  return r;
}

}  // namespace

const Recipe* RecipeSet::find(std::string_view id) const {
  for (const auto& r : recipes) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::vector<const Recipe*> RecipeSet::by_gain(std::string_view kind) const {
  std::vector<const Recipe*> out;
  for (const auto& r : recipes) {
    if (r.kind == kind) out.push_back(&r);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Recipe* a, const Recipe* b) { return a->expected_gain > b->expected_gain; });
  return out;
}

std::vector<Recipe> load_recipe_file(const std::filesystem::path& file) {
  auto doc = parse_toml_file(file, "fix the syntax; " + std::string(kHint));
  const auto* arr = doc["recipe"].as_array();
  if (!arr) throw Error(ErrorKind::Usage, "no [[recipe]] tables", file.string(), kHint);
  std::vector<Recipe> out;
  for (const auto& node : *arr) {
    if (const auto* t = node.as_table()) out.push_back(parse_recipe(*t, file.string()));
  }
  return out;
}

RecipeSet load_recipes(const std::filesystem::path& dir) {
  RecipeSet set;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return set;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".toml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::map<std::string, std::string> seen;
  for (const auto& f : files) {
    for (auto& r : load_recipe_file(f)) {
      if (auto it = seen.find(r.id); it != seen.end()) {
        throw Error(ErrorKind::Usage, "duplicate recipe id '" + r.id + "'", r.origin,
                    "first defined at " + it->second + "; rename one of them");
      }
      seen[r.id] = r.origin;
      set.recipes.push_back(std::move(r));
    }
  }
  return set;
}

void merge_recipes(RecipeSet& into, RecipeSet extra) {
  for (auto& r : extra.recipes) {
    auto it =
        std::find_if(into.recipes.begin(), into.recipes.end(), [&](const Recipe& x) { return x.id == r.id; });
    if (it != into.recipes.end()) {
      *it = std::move(r);
    } else {
      into.recipes.push_back(std::move(r));
    }
  }
}

}  // namespace kcat::kb
