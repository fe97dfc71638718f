#pragma once
// Recipe: a named, multi-file change that rules alone cannot express ("flash_attn ->
// npu_fusion_attention", "enable vllm-ascend's native MoE", "TASK_QUEUE_ENABLE=2"). Data in
// patches/recipes/*.toml (format: docs/recipes.md); applying one is the optimize layer's job.
#include <filesystem>
#include <string>
#include <vector>

namespace kcat::kb {

struct RecipeEdit {
  std::string file;     // path glob ("**/*.py")
  std::string search;   // exact text, or an RE2 pattern when regex
  std::string replace;  // \1..\9 refer to groups when regex
  bool regex = false;
  bool at_findings = false;  // only matches that overlap a finding of the recipe's when_findings
  // The match is the head of `from M import a, b as c` (ending at the name list): it is changed only
  // when every imported name is in the recipe's `provides`; otherwise the site is left, reported
  // with the missing names.
  bool check_imports = false;
  // RE2 patterns in which \1..\9 stand for the match's groups (quoted): every `require` must match
  // somewhere in the file, no `refuse` may; otherwise the site is left, reported with `reason`.
  std::vector<std::string> require{};
  std::vector<std::string> refuse{};
  // RE2 patterns tried on the line text before the '(' that encloses the match (e.g. "def load"):
  // a match leaves the site (a def's default, not a call's argument).
  std::vector<std::string> refuse_enclosing{};
  std::string reason{};
};

struct RecipeEnv {
  std::string name;
  std::string value;
};

struct RecipeFile {
  std::string path;  // repository-relative
  std::string content;
};

struct Recipe {
  std::string id;
  std::string title;
  std::string phase;  // environment | device-api | distributed | attention | kernels-build | performance
  std::string kind;   // port | performance | agent (a task for the LLM agent, with `task`)
  double expected_gain = 1.0;  // multiplier its source reports or implies; orders the tries
  std::string gain_note;
  std::string source;       // citation: repo:path or URL (required)
  std::string description;  // what it changes and why, for the plan and the commit body
  // kind = "agent": no edit of its own; the contract the LLM agent is given with the plan step (what
  // to write, the oracle it is checked against, when it is kept).
  std::string task;
  std::vector<std::string> when_findings;  // rule ids: any finding of one of them
  std::vector<std::string> when_files;     // globs: some file matches
  std::string when_text;                   // some file (of when_files) contains this text
  std::vector<std::string> addresses;      // profiler operator types it replaces (bench/profile hints)
  std::vector<std::string> imports;        // lines each edited Python file needs ("import torch_npu")
  std::vector<RecipeEdit> edits;
  std::vector<RecipeEnv> env;
  std::vector<RecipeFile> files;
  // A module the recipe writes (a recipe.file path "{module_dir}/<module>.py"): one per package tree
  // (at its top package) or per top-level script directory, imported as `{module}` in replacements
  // (relative inside a package, package-qualified from a namespace folder of one, plain in a script
  // directory). A file with no such home is left, reported.
  std::string module;
  std::vector<std::string> provides;  // the names `module` defines (see RecipeEdit::check_imports)
  // A recipe that changes no code: what happens to the sites that name it (Finding::recipe).
  // "kept": the code stays and runs once the environment has what the recipe says (Triton kernels
  // on triton-ascend); the plan and the report count the sites as handled by the recipe.
  // "left": the recipe only routes (a kernel DSL with no NPU backend); the sites stay for a person.
  // "" = an ordinary recipe that patches code. site_action is what each site is told.
  std::string outcome;
  std::string site_action;
  std::string origin;  // file:line it was loaded from
};

struct RecipeSet {
  std::vector<Recipe> recipes;
  const Recipe* find(std::string_view id) const;
  // Recipes of one kind, highest expected gain first (ties: file order).
  std::vector<const Recipe*> by_gain(std::string_view kind) const;
};

// Loads one TOML file of [[recipe]] tables. Throws Error(Usage) naming file:line and the recipe:
// no id, no source, unknown phase or kind, an edit with an empty search, a gain <= 0, nothing to do.
std::vector<Recipe> load_recipe_file(const std::filesystem::path& file);
// Every *.toml under dir, sorted by name; a missing dir gives an empty set. Duplicate ids are an
// error naming both files.
RecipeSet load_recipes(const std::filesystem::path& dir);
// Adds recipes from another directory (a repository's own, a user's); same id replaces.
void merge_recipes(RecipeSet& into, RecipeSet extra);

}  // namespace kcat::kb
