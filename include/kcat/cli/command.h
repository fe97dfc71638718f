#pragma once
// Subcommands register themselves: one file per command under src/cli/, each ending with
//   KCAT_COMMAND(setup_fn, order)
// where setup_fn(CLI::App& root, Globals& g) adds the subcommand and its callback. The callback
// sets g.exit_code; errors are thrown as kcat::Error and rendered by main.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "kcat/core/error.h"

namespace kcat::cli {

struct Globals {
  int verbosity = 0;                // -v / -q
  std::string color = "auto";       // auto | always | never (NO_COLOR honoured)
  bool ci = false;                  // --ci, or CI set, or no terminal: never prompt
  std::string log_format = "text";  // text | json
  std::string config;               // --config FILE (kcat.toml)
  std::string trust_repo_config;    // --trust-repo-config HASH
  int exit_code = 0;

  bool use_color(int fd) const;
};

using Setup = std::function<void(CLI::App& root, Globals& globals)>;

struct CommandEntry {
  int order;
  Setup setup;
};

std::vector<CommandEntry>& command_registry();

struct Registrar {
  Registrar(Setup setup, int order) { command_registry().push_back({order, std::move(setup)}); }
};

#define KCAT_CMD_CONCAT2(a, b) a##b
#define KCAT_CMD_CONCAT(a, b) KCAT_CMD_CONCAT2(a, b)
#define KCAT_COMMAND(fn, order) \
  static ::kcat::cli::Registrar KCAT_CMD_CONCAT(kcat_command_registrar_, __LINE__)(fn, order)

}  // namespace kcat::cli
