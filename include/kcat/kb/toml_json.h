#pragma once
// toml++ -> nlohmann::json, so data loaded from TOML can be handed around as plain JSON values.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <toml++/toml.h>

namespace kcat::kb {

nlohmann::json toml_to_json(const toml::node& node);

// Parses a TOML file; invalid TOML throws Error(Usage) naming file:line and the problem.
toml::table parse_toml_file(const std::filesystem::path& file, const std::string& hint = {});

}  // namespace kcat::kb
