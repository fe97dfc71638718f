#pragma once
// toml++ -> nlohmann::json, so data loaded from TOML can be handed around as plain JSON values.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kcat/core/error.h"

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

// Calls f(table, where) for each table of the array `key` in `t` ([[key]]), `where` being
// "file:line"; an element that is not a table throws Error(Usage) "<name> must be a table" there,
// with `hint`. No array: no call.
template <class F>
void each_table(const toml::table& t, std::string_view key, const std::string& file, std::string_view name,
                const std::string& hint, F&& f) {
  const auto* arr = t[key].as_array();
  if (!arr) return;
  for (const auto& n : *arr) {
    const auto* sub = n.as_table();
    std::string where = fmt::format("{}:{}", file, n.source().begin.line);
    if (!sub) throw Error(ErrorKind::Usage, fmt::format("{} must be a table", name), where, hint);
    f(*sub, where);
  }
}

}  // namespace kcat::kb
