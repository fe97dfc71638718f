// kcat env setup: make the environment real where the model will run (local, or --host over ssh).
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "kcat/cli/command.h"
#include "kcat/core/fs.h"
#include "kcat/core/json.h"
#include "kcat/env/provision.h"
#include "kcat/kb/data_dir.h"
#include "kcat/session/approver.h"
#include "kcat/session/line_reader.h"

namespace kcat::cli {
namespace {

struct EnvSetupCmd {
  std::string host;
  std::vector<std::string> ssh_args;
  env::SetupOptions o;
  std::string requirements_file;
  std::string vllm_ascend, torch_npu;
  std::string index_url, extra_index_url;
  std::vector<std::string> find_links;
  bool no_index = false;
  double budget_minutes = 60;
  bool yes = false;
  std::string log_file;
  std::string format = "text";
};

int run(const EnvSetupCmd& c, const Globals& g) {
  auto o = c.o;
  auto m = kb::VersionMatrix::load(kb::default_data_dir());
  o.matrix = &m;
  if (!c.vllm_ascend.empty() || !c.torch_npu.empty())
    o.stack = env::stack_for(m, c.vllm_ascend, c.torch_npu, "");
  if (!c.requirements_file.empty()) o.requirements = read_file(c.requirements_file);
  if (!c.index_url.empty()) o.pip_args.insert(o.pip_args.end(), {"--index-url", c.index_url});
  if (!c.extra_index_url.empty())
    o.pip_args.insert(o.pip_args.end(), {"--extra-index-url", c.extra_index_url});
  for (auto& f : c.find_links) o.pip_args.insert(o.pip_args.end(), {"--find-links", f});
  if (c.no_index) {
    o.pip_args.push_back("--no-index");
    o.torch_index.clear();
  }
  o.budget = std::chrono::seconds(static_cast<long>(c.budget_minutes * 60));
  std::ofstream log_out;
  if (!c.log_file.empty()) log_out.open(c.log_file, std::ios::app);
  bool quiet = c.format == "json";
  o.log = [&](const std::string& line) {
    if (log_out) log_out << line << "\n" << std::flush;
    if (!quiet) std::cerr << line << "\n";
  };
  std::unique_ptr<session::LineReader> reader;
  std::unique_ptr<session::Approver> approver;
  bool all = false;
  if (!g.ci && !c.yes) {
    reader = session::stream_reader(std::cin, std::cout);
    approver = session::prompt_approver(*reader, std::cout);
    o.approve = [&](const std::string& what, const std::string& command) {
      if (all) return true;
      std::cout << "\n" << what << ":\n  " << command << "\n";
      auto a = approver->ask("Run it?", command);
      all = a == session::Answer::All;
      return a != session::Answer::No;
    };
  }
  auto runner = c.host.empty() ? exec::local_runner() : exec::ssh_runner(c.host, c.ssh_args);
  auto r = env::setup(*runner, o);
  if (c.format == "json") {
    nlohmann::json j = r;
    std::cout << json_text(j, 2) << "\n";
  } else if (r.ready) {
    std::cout << fmt::format("environment ready ({}, {:.0f} s): {}\n", runner->describe(), r.seconds, o.venv);
    for (auto& [name, version] : r.versions) {
      static const std::vector<std::string> key = {"torch", "torch-npu", "vllm", "vllm-ascend",
                                                   "triton-ascend"};
      if (std::find(key.begin(), key.end(), name) != key.end())
        std::cout << fmt::format("  {} {}\n", name, version);
    }
    for (auto& ch : r.changes)
      std::cout << fmt::format("  changed {} -> {}: {}\n", ch.from, ch.to, ch.reason);
    std::cout << fmt::format("  enter it with: source {}\n", r.activate);
  } else {
    std::cout << fmt::format("environment not ready: {}\n", r.error);
    if (!r.failing_package.empty()) std::cout << fmt::format("  failing package: {}\n", r.failing_package);
    if (!r.fix.empty()) std::cout << fmt::format("  fix: {}\n", r.fix);
  }
  return r.exit_code;
}

void setup(CLI::App& root, Globals& g) {
  auto c = std::make_shared<EnvSetupCmd>();
  auto* env = root.add_subcommand("env", "The environment where the model runs: `kcat env setup`");
  env->require_subcommand(1);
  auto* cmd = env->add_subcommand(
      "setup",
      "Create a venv with the stack's Python, source CANN's environment, install CPU torch, torch_npu, "
      "vllm, vllm-ascend and requirements-ascend.txt (moving a conflicting pin, with its reason), then "
      "run the smoke test");
  cmd->footer(
      "Runs locally or on --host over ssh. Every command is shown and asked for on a terminal; with --ci\n"
      "(or CI set, or no terminal) or --yes it runs unattended within --budget-minutes. pip's resolver\n"
      "conflicts in requirements-ascend.txt are read, the project's pin is replaced by what the other\n"
      "package needs (recorded in the file and the report), and pip runs again, up to --max-retries.\n\n"
      "Examples:\n  kcat env setup --venv ~/npu-venv --vllm-ascend 0.18.0 --requirements "
      "requirements-ascend.txt\n"
      "  kcat env setup --host me@atlas --ci --venv /data/venv --torch-npu 2.5.1\n\n"
      "Exit: 0 environment ready, 1 an install or the smoke test failed (the package and fix are named),\n"
      "2 usage, 3 environment (no CANN, no venv module, could not connect), 5 the time budget ran out.");
  cmd->add_option("--host", c->host, "USER@HOST: set up an Atlas host over ssh (BatchMode, key auth)");
  cmd->add_option("--ssh-arg", c->ssh_args,
                  "Extra ssh argument (repeatable), e.g. --ssh-arg=-p --ssh-arg=2222");
  cmd->add_option("--venv", c->o.venv, "The venv to create or reuse, on the host")->required();
  cmd->add_option("--python", c->o.python, "The Python that creates the venv")->capture_default_str();
  cmd->add_option("--ascend-home", c->o.ascend_home, "Where Ascend software is installed")
      ->capture_default_str();
  cmd->add_option("--requirements", c->requirements_file, "The rest to install (requirements-ascend.txt)");
  cmd->add_option("--vllm-ascend", c->vllm_ascend,
                  "Install this vllm-ascend release's row of the version matrix");
  cmd->add_option("--torch-npu", c->torch_npu, "Install this torch_npu's row (no vLLM)");
  cmd->add_option("--cann", c->o.cann, "Choose the stack for this CANN (default: the host's)");
  cmd->add_option("--index-url", c->index_url, "pip's index (a mirror)");
  cmd->add_option("--extra-index-url", c->extra_index_url, "An extra pip index");
  cmd->add_option("--find-links", c->find_links, "A directory or page of wheels (repeatable)");
  cmd->add_flag("--no-index", c->no_index, "Only --find-links (offline)");
  cmd->add_option("--budget-minutes", c->budget_minutes, "Time budget for the whole setup")
      ->capture_default_str();
  cmd->add_option("--max-retries", c->o.max_retries, "Resolver conflicts to resolve before giving up")
      ->capture_default_str();
  cmd->add_flag("-y,--yes", c->yes, "Do not ask before each command");
  cmd->add_option("--log", c->log_file, "Append every command and its outcome to FILE");
  cmd->add_option("-f,--format", c->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([c, &g] { g.exit_code = run(*c, g); });
}

}  // namespace

KCAT_COMMAND(setup, 41);

}  // namespace kcat::cli
