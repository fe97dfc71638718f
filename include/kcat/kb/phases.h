#pragma once
// Which plan phase a finding goes to (patches/phases.toml): by its rule's category, an import no
// recipe handles, or a word in its recipe's id. The plan turns the phase ids into its Phase.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace kcat::kb {

struct PhaseEntry {
  std::string id, source, where;  // where: file:line of the [[phase]] table
  std::vector<std::string> categories, categories_without_recipe, recipe_contains;
};

struct PhaseMap {
  std::string fallback;  // `default`: the phase of a category in no entry
  std::string where;     // file:line of `default`
  std::vector<PhaseEntry> phases;
  // The phase id for a finding of `category` with `recipe` ("" = none): recipe_contains first,
  // then categories_without_recipe, then categories, else the default.
  const std::string& phase_of(std::string_view category, std::string_view recipe) const;
  // The phase id for the category alone: categories, else the default.
  const std::string& phase_of_category(std::string_view category) const;
};

// `known`: the plan's phase ids. Throws Error(Environment) when the file is missing, Error(Usage)
// naming file:line for an entry without id or source, a phase id (or default) not in `known`, or a
// category in two phases.
PhaseMap load_phase_map(const std::filesystem::path& data_dir, const std::vector<std::string>& known);

}  // namespace kcat::kb
