#pragma once
// Machine-readable progress for CI: with `--log-format json`, every event is one JSON object on
// one line of standard error ({"ts":..., "event":..., ...}), so a pipeline can follow a run
// without parsing prose. In text mode events are silent: commands print their own summaries.
#include <nlohmann/json.hpp>
#include <string>

namespace kcat::events {

// The UTC time now, as events stamp it: "2026-12-07T12:55:31Z".
std::string now_iso();
void enable_json(bool on);
bool json_enabled();
void emit(const std::string& event, nlohmann::json fields = nlohmann::json::object());

}  // namespace kcat::events
