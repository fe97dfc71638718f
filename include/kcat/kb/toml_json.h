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

// The one reading of a text field of the knowledge base's TOML: the text of `key` in `table`, ""
// when absent; any other type throws Error(Usage) "'key' must be text" at `where` (by default the
// value's own file:line) with `hint` (by default how to write it).
std::string text_field(const toml::table& table, std::string_view key, const std::string& where = {},
                       const std::string& hint = {});
// The texts of `key` in `table` (a text counts as a list of one); absent = empty. Anything else
// throws Error(Usage) "'key' must be text or a list of text" at `where` (by default the value's
// file:line) with `hint`.
std::vector<std::string> string_list(const toml::table& table, std::string_view key,
                                     const std::string& where = {}, const std::string& hint = {});

}  // namespace kcat::kb
