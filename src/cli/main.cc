// kcat: port CUDA-bound model code to Huawei Ascend NPUs, then make it fast there.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "kcat/cli/chat.h"
#include "kcat/cli/command.h"
#include "kcat/config/config.h"
#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"
#include "kcat/core/log.h"
#include "kcat/kb/data_dir.h"

namespace {

constexpr const char* kDescription =
    "kcat ports CUDA-bound model code (PyTorch, transformers, vLLM, CUDA C++) to Huawei Ascend NPUs\n"
    "and then makes it fast there.\n\n"
    "Start with:\n"
    "  kcat scan PATH                      find every CUDA tie, with file:line and what to do\n"
    "  kcat migrate PATH --target ascend-a2  port what rules can port, as commits on kcat/ascend-a2\n"
    "  kcat help COMMAND                   the options of one command\n";

constexpr const char* kFooter =
    "Exit codes: 0 done, 1 findings left or target missed, 2 usage error, 3 environment error,\n"
    "4 LLM error, 5 budget exhausted, 6 loop detected, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).\n"
    "Docs: docs/ in the kcat source tree.";

// Edit distance (insert, delete, substitute, swap of neighbours): "migrat" is 1 from "migrate".
size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// "did you mean `kcat migrate`?" for a word within two edits of a command (or a prefix of one).
std::string did_you_mean(CLI::App& app, const std::string& word) {
  if (word.empty() || word[0] == '-') return {};
  std::string best;
  size_t best_d = 3;
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    const auto& name = sub->get_name();
    size_t d = name.rfind(word, 0) == 0 && word.size() >= 2 ? 1 : distance(word, name);
    if (d < best_d) best_d = d, best = name;
  }
  return best.empty() ? std::string() : "did you mean `kcat " + best + "`? ";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kcat;
  CLI::App app{kDescription, "kcat"};
  app.formatter(cli::help_formatter());  // before the commands: each copies its parent's
  app.footer(kFooter);
  // A function, so the knowledge base is looked up only when --version is asked for.
  app.set_version_flag("-V,--version", std::function<std::string()>([] {
                         std::string v = std::string("kcat ") + KCAT_VERSION +
                                         "\ngrammars: " + KCAT_GRAMMARS + " (tree-sitter ABI 14)";
                         auto dir = kb::default_data_dir();
                         std::error_code ec;
                         if (!std::filesystem::is_directory(dir, ec))
                           return v + "\nknowledge: not found (" + dir.string() + ")";
                         v += "\nknowledge: " + dir.string();
                         // Its date: when its facts were last checked against their sources
                         // (patches/kb-date).
                         std::ifstream date(dir / "kb-date");
                         for (std::string line; std::getline(date, line);) {
                           if (!line.empty() && line[0] != '#') v += " (checked " + line + ")";
                         }
                         return v;
                       }));
  app.require_subcommand(0, 1);
  app.fallthrough();

  cli::Globals g;
  app.add_flag(
      "-v,--verbose", [&](int64_t n) { g.verbosity = static_cast<int>(n); },
      "More log output (repeat for more)");
  app.add_flag(
      "-q,--quiet", [&](int64_t) { g.verbosity = -1; }, "Only errors");
  app.add_option("--color", g.color, "Colour output: auto, always or never (NO_COLOR is honoured)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("--ci", g.ci,
               "Never prompt; for unattended jobs (also when CI is set or there is no terminal)");
  app.add_option("--log-format", g.log_format, "Log lines as text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--config", g.config,
                 "Configuration file, trusted: applied after ~/.config/kcat/kcat.toml and the repository's "
                 "kcat.toml (docs/ci.md)");
  app.add_option("--trust-repo-config", g.trust_repo_config,
                 "Trust the repository's kcat.toml ([hooks], [llm], [build], ...) if its hash is this one "
                 "(`git hash-object kcat.toml`; the only way to trust it in unattended runs)");

  // `kcat -C PATH COMMAND`: run as if started in PATH, like git -C.
  std::string chdir_to;
  app.add_option("-C", chdir_to, "Run as if kcat was started in PATH (as git -C)")->type_name("PATH");

  if (const char* ci = std::getenv("CI"); (ci && *ci) || !::isatty(0)) g.ci = true;
  app.parse_complete_callback([&] {
    if (!chdir_to.empty() && ::chdir(chdir_to.c_str()) != 0) {
      throw Error(ErrorKind::Usage, "cannot change to the folder given with -C", chdir_to,
                  "give an existing folder (kcat -C PATH COMMAND)");
    }
    cli::set_config_policy({g.ci, g.trust_repo_config});
    setup_logging(g.verbosity, g.log_format == "json");
    events::enable_json(g.log_format == "json");
    // Progress lines as work happens, for a person at a terminal only: CI, pipes and files get
    // the final output alone.
    events::enable_text(g.log_format != "json" && !g.ci && g.verbosity >= 0 && ::isatty(2) != 0);
  });

  auto& registry = cli::command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const auto& a, const auto& b) { return a.order < b.order; });
  for (auto& entry : registry) entry.setup(app, g);

  // `kcat help [COMMAND]`
  std::string help_topic;
  auto* help = app.add_subcommand("help", "Show help for kcat or for one command");
  help->add_option("command", help_topic, "The command to explain");
  help->callback([&] {
    if (help_topic.empty()) {
      std::cout << app.help();
      return;
    }
    for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == help_topic) {
        std::cout << sub->help();
        return;
      }
    }
    throw Error(ErrorKind::Usage, "no command named '" + help_topic + "'", "",
                did_you_mean(app, help_topic) + "run `kcat help` for the list");
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // `kcat migrat`: the one word CLI11 could not place, when it is close to a command's name.
    std::string first;
    for (int i = 1; i < argc && first.empty(); ++i) {
      if (argv[i][0] != '-') first = argv[i];
    }
    std::string hint = app.get_subcommands().empty() ? did_you_mean(app, first) : "";
    if (!hint.empty()) {
      std::cerr << "kcat: error: no command named '" << first << "'\n  hint: " << hint
                << "(`kcat --help` lists them)\n";
    } else {
      std::cerr << "kcat: error: " << e.what() << "\n  hint: run `kcat --help` or `kcat help COMMAND`\n";
    }
    return static_cast<int>(ExitCode::Usage);
  } catch (const CLI::ParseError& e) {
    std::cerr << "kcat: error: " << e.what() << "\n  hint: run `kcat --help` or `kcat help COMMAND`\n";
    return static_cast<int>(ExitCode::Usage);
  } catch (const cancel::Interrupted& e) {
    std::cerr << "kcat: interrupted by " << e.signal_name() << ": " << e.what()
              << "; every commit already made stays\n";
    return e.exit_code();
  } catch (const Error& e) {
    std::cerr << "kcat: " << e.render() << "\n";
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    std::cerr << "kcat: error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::Environment);
  }
  if (argc == 1) {
    // No subcommand: the interactive session on a terminal; help anywhere else (pipes, CI).
    if (!g.ci && ::isatty(0) && ::isatty(1)) {
      cli::ChatOptions chat;
      chat.colour = g.use_color(1);
      return cli::run_chat(chat);
    }
    std::cout << app.help();
    return 0;
  }
  return g.exit_code;
}
