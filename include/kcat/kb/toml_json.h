#pragma once
// toml++ -> nlohmann::json, so data loaded from TOML can be handed around as plain JSON values.
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

namespace kcat::kb {

nlohmann::json toml_to_json(const toml::node& node);

}  // namespace kcat::kb
