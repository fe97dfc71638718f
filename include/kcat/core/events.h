#pragma once
// Machine-readable progress for CI: with `--log-format json`, every event is one JSON object on
// one line of standard error ({"ts":..., "event":..., ...}), so a pipeline can follow a run
// without parsing prose. For a person at a terminal (text mode, not CI, standard error a terminal)
// the events a person waits on are one short labelled line each on standard error as they happen
// (steps starting and finishing, the agent's tool calls, LLM retries, bench runs); everywhere else
// text mode is silent and commands print only their final output.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace kcat::events {

// The UTC time now, as events stamp it: "2026-12-07T12:55:31Z".
std::string now_iso();
void enable_json(bool on);
bool json_enabled();
// Progress lines on standard error (see above); main turns it on only for a terminal outside CI.
void enable_text(bool on);
bool text_enabled();
void emit(const std::string& event, nlohmann::json fields = nlohmann::json::object());
// The line `event` shows a person in text mode, "" for events that show none. For tests.
std::string text_line(const std::string& event, const nlohmann::json& fields);
// Streamed prose (the model's words) on standard output: remembered, so that a progress line
// that follows a partial line starts on a new one instead of running into it.
void write_stream(std::string_view text);
// Ends the line streamed prose left open (a newline on standard output), so that what is printed
// next (a question to the person) starts on its own line; nothing when the prose ended its line.
void end_stream_line();

}  // namespace kcat::events
