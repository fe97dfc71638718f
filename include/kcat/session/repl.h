#pragma once
// The interactive session's loop: slash commands, plain-language requests, Ctrl-C handling.
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "kcat/session/line_reader.h"

namespace kcat::session {

struct SlashCommand {
  std::string name;   // without the slash
  std::string usage;  // e.g. "[PATH]"
  std::string help;
  std::function<int(const std::vector<std::string>& args)> run;  // returns an exit code
  bool takes_path = false;                                       // Tab completes file names after it
  std::vector<std::string> values{};  // else what Tab offers after it (e.g. target names)
};

struct ReplOptions {
  std::string prompt = "kcat> ";
  std::vector<SlashCommand> commands;
  // A line that is not a slash command; empty function = no LLM configured.
  std::function<int(const std::string& request)> on_request;
  std::string no_llm_hint = "no LLM is configured; set [llm] in kcat.toml or KCAT_LLM_BASE_URL (docs/llm.md)";
};

// Reads lines until /quit, end of input, or two Ctrl-C in a row at the prompt.
// Returns 0, or 130 when left with Ctrl-C.
int run_repl(LineReader& reader, std::ostream& out, const ReplOptions& options);

// What Tab offers for `before_cursor`: slash commands while the first word is typed, file names
// after a command that takes a path, that command's values after one that lists them, nothing
// otherwise (a plain-language request).
Completion complete(const ReplOptions& options, const std::string& before_cursor);

// Splits a command line into words: whitespace separates, '...' and "..." group, \ escapes.
std::vector<std::string> split_words(const std::string& line);

}  // namespace kcat::session
