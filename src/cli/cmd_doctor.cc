// kcat doctor: is this machine (or --host) ready to run the model on the NPU?
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "kcat/cli/command.h"
#include "kcat/core/json.h"
#include "kcat/env/doctor.h"
#include "kcat/kb/data_dir.h"

namespace kcat::cli {
namespace {

struct DoctorCmd {
  std::string host;
  std::vector<std::string> ssh_args;
  std::string ascend_home = "/usr/local/Ascend";
  std::string python = "python3";
  std::string format = "text";
};

int run(const DoctorCmd& o) {
  auto runner = o.host.empty() ? exec::local_runner() : exec::ssh_runner(o.host, o.ssh_args);
  auto p = env::probe(*runner, o.ascend_home, o.python);
  auto checks = env::check(p, kb::VersionMatrix::load(kb::default_data_dir()));
  bool bad = !env::ready(checks);
  if (!p.reachable) {
    // Nothing was probed: say so at once, as an environment error (docs/cli.md exit 3).
    if (o.format == "json") std::cout << json_text(env::report_json(p, checks), 2) << "\n";
    std::cerr << fmt::format("kcat doctor: could not connect to {}: {}\n", o.host, checks.front().fix);
    return 3;
  }
  if (o.format == "json") {
    std::cout << json_text(env::report_json(p, checks), 2) << "\n";
  } else {
    std::cout << fmt::format("kcat doctor ({}; Ascend home {})\n", p.where, o.ascend_home);
    std::cout << fmt::format("  {:<32} {:<22} {:<20} {}\n", "CHECK", "FOUND", "EXPECTED", "STATUS");
    for (auto& c : checks) {
      std::cout << fmt::format("  {:<32} {:<22} {:<20} {}\n", c.what, c.found, c.expected, c.status);
      if (!c.fix.empty()) std::cout << fmt::format("      fix: {}\n", c.fix);
    }
    std::cout << (bad ? "not ready: fix the lines marked mismatch or missing\n" : "ready\n");
  }
  return bad ? 1 : 0;
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<DoctorCmd>();
  auto* cmd =
      root.add_subcommand("doctor",
                          "Check the machine that will run the model: CANN, driver and chips, "
                          "Python, torch / torch_npu / vllm / vllm-ascend, against the version matrix");
  cmd->footer(
      "Reads the toolkit's own version file (<ascend-home>/ascend-toolkit/latest/<arch>-linux/\n"
      "ascend_toolkit_install.info), `npu-smi info`, the Python's version and installed packages (one\n"
      "start of it, importlib.metadata; `pip list` where that is missing) and the environment.\n"
      "Every mismatch comes with the command that fixes it. With --host it runs the same probe over ssh.\n\n"
      "Examples:\n  kcat doctor\n  kcat doctor --host me@atlas-a2 --python /opt/venv/bin/python --format "
      "json\n\n"
      "Exit: 0 ready, 1 a mismatch or something missing, 2 usage, 3 could not connect to --host.");
  cmd->add_option("--host", o->host, "USER@HOST: probe an Atlas host over ssh (BatchMode, key auth)");
  cmd->add_option("--ssh-arg", o->ssh_args,
                  "Extra ssh argument (repeatable), e.g. --ssh-arg=-p --ssh-arg=2222");
  cmd->add_option("--ascend-home", o->ascend_home, "Where Ascend software is installed")
      ->capture_default_str();
  cmd->add_option("--python", o->python, "The Python that will run the model")->capture_default_str();
  cmd->add_option("-f,--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([o, &g] { g.exit_code = run(*o); });
}

}  // namespace

KCAT_COMMAND(setup, 40);

}  // namespace kcat::cli
