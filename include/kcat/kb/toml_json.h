#pragma once
// toml++ -> nlohmann::json, so data loaded from TOML can be handed around as plain JSON values.
#include <toml++/toml.h>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kcat::kb {

nlohmann::json toml_to_json(const toml::node& node);

// Parses a TOML file; invalid TOML throws Error(Usage) naming file:line and the problem.
toml::table parse_toml_file(const std::filesystem::path& file, const std::string& hint = {});

// The strings of `key` in `table` (a string counts as a list of one); absent = empty. Anything
// else throws Error(Usage) at `where` with `hint`.
std::vector<std::string> string_list(const toml::table& table, const char* key, const std::string& where,
                                     const std::string& hint = {});

}  // namespace kcat::kb
