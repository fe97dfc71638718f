// kcat chat [PATH]: the interactive session. Also what `kcat` with no arguments starts on a terminal.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "kcat/cli/chat.h"
#include "kcat/cli/command.h"
#include "kcat/core/cancel.h"
#include "kcat/session/child.h"
#include "kcat/session/repl.h"

namespace kcat::cli {

namespace {

std::filesystem::path history_file() {
  if (const char* h = std::getenv("KCAT_HISTORY"); h && *h) return h;
  if (const char* x = std::getenv("XDG_STATE_HOME"); x && *x) return std::filesystem::path(x) / "kcat" / "history";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::filesystem::path(home) / ".local" / "state" / "kcat" / "history";
  }
  return ".kcat-history";
}

}  // namespace

int run_chat(const ChatOptions& o) {
  cancel::install_handler();
  auto repo = o.repo;
  auto target = o.target;
  // Each slash command runs the matching subcommand as a child on this terminal.
  auto sub = [&](std::vector<std::string> base, bool with_target) {
    return [base, with_target, &repo, &target](const std::vector<std::string>& args) {
      auto argv = base;
      argv.push_back(repo);
      if (with_target) {
        argv.push_back("--target");
        argv.push_back(target);
      }
      argv.insert(argv.end(), args.begin(), args.end());
      return session::run_self(argv);
    };
  };
  auto plain = [](std::vector<std::string> base) {
    return [base](const std::vector<std::string>& args) {
      auto argv = base;
      argv.insert(argv.end(), args.begin(), args.end());
      return session::run_self(argv);
    };
  };
  session::ReplOptions ro;
  ro.commands = {
      {"scan", "[OPTIONS]", "find every CUDA tie in the repository", sub({"scan"}, false)},
      {"plan", "[OPTIONS]", "the migration plan for the target", sub({"plan"}, true)},
      {"migrate", "[OPTIONS]", "port on the kcat/<target> branch (asks before each step)", sub({"migrate"}, true)},
      {"status", "", "branch, steps done, findings left", sub({"status"}, false)},
      {"diff", "[STEP]", "the migration's diff, or one step's", sub({"diff"}, false)},
      {"undo", "[--all]", "undo the last step (or all)", sub({"undo"}, false)},
      {"bench", "--cmd CMD ...", "benchmark a command", plain({"bench"})},
      {"optimize", "[OPTIONS]", "apply performance recipes until the target is met", sub({"optimize"}, true)},
      {"doctor", "[--host USER@HOST]", "check CANN, driver and Python packages", plain({"doctor"})},
      {"report", "[--format html -o FILE]", "render the latest run's report", [&repo](const std::vector<std::string>& a) {
         std::vector<std::string> argv{"report", "-C", repo};
         argv.insert(argv.end(), a.begin(), a.end());
         return session::run_self(argv);
       }},
      {"cost", "", "LLM tokens and cost of this repository's runs", [&repo](const std::vector<std::string>&) {
         return session::run_self({"report", "-C", repo, "--format", "json"}) == 0 ? 0 : 1;
       }},
      {"target", "NAME", "switch the target (ascend-a2, ascend-a3, ascend-310p)", [&target](const std::vector<std::string>& a) {
         if (a.size() != 1) {
           std::cout << "current target: " << target << "\n";
           return a.empty() ? 0 : 2;
         }
         target = a[0];
         std::cout << "target: " << target << "\n";
         return 0;
       }},
  };
  if (o.request_handler) ro.on_request = o.request_handler;
  std::cout << "kcat " << KCAT_VERSION << " — repository " << repo << ", target " << target
            << ". /help lists commands, /quit leaves.\n";
  if (::isatty(0)) {
    auto reader = session::terminal_reader(history_file());
    return session::run_repl(*reader, std::cout, ro);
  }
  auto reader = session::stream_reader(std::cin);
  return session::run_repl(*reader, std::cout, ro);
}

namespace {

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<ChatOptions>();
  auto* cmd = root.add_subcommand("chat", "Interactive session: see the plan and findings, run slash commands, "
                                          "ask the agent in plain language (also `kcat` alone on a terminal)");
  cmd->add_option("path", o->repo, "The repository (default: the current directory)");
  cmd->add_option("-t,--target", o->target, "Target profile")->capture_default_str();
  cmd->callback([o, &g] { g.exit_code = run_chat(*o); });
}

}  // namespace

KCAT_COMMAND(setup, 90);

}  // namespace kcat::cli
