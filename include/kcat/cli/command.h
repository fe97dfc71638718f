#pragma once
// Subcommands register themselves: one file per command under src/cli/, each ending with
//   KCAT_COMMAND(setup_fn, order)
// where setup_fn(CLI::App& root, Globals& g) adds the subcommand and its callback. The callback
// sets g.exit_code; errors are thrown as kcat::Error and rendered by main.

// CLI11 2.1 (Debian 12): at -O2 (RelWithDebInfo) GCC 12 finds a "potential null pointer
// dereference" inside CLI::detail::split, where an empty vector's emplace_back relocates its zero
// elements from a null pointer. The library's code, not kcat's, and harmless: the warning is off
// for CLI11's text only, so kcat's own code keeps -Wnull-dereference.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif
#include <CLI/CLI.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <filesystem>
#include <functional>
#include <memory>
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

// Help without parser artefacts: flags without their `{false}` default value, and named
// metavariables instead of CLI11's type names (an option's own type_name, else N for a number
// and the option's long name in capitals for text, like argparse: --branch BRANCH).
std::shared_ptr<CLI::Formatter> help_formatter();

// The repository, taken the same way by every command that works on one: a positional PATH
// (default .) and `-C PATH` (as git -C). Commands whose positional is something else (diff STEP,
// report RUN) pass positional = false and take `-C PATH` only. Giving both is a usage error.
void add_repo_option(CLI::App* cmd, std::string& path, bool positional = true,
                     const std::string& what = "The repository (default: .)");
void add_repo_option(CLI::App* cmd, std::filesystem::path& path, bool positional = true,
                     const std::string& what = "The repository (default: .)");

}  // namespace kcat::cli
namespace kcat::scan {
struct SiteFilter;
}
namespace kcat::cli {

// --select / --exclude (rules) and --select-path / --exclude-path (files): scan, plan, migrate.
void add_filter_options(CLI::App* cmd, scan::SiteFilter& filter);

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
