// kcat bench --cmd CMD: measure a command's throughput, against a target and a baseline; with
// --host, on another host (an Atlas server) after sending it the current branch with git.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kcat/bench/bench.h"
#include "kcat/cli/command.h"
#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"
#include "kcat/core/json.h"
#include "kcat/env/doctor.h"
#include "kcat/env/harness.h"
#include "kcat/exec/sync.h"
#include "kcat/kb/data_dir.h"

namespace kcat::cli {
namespace {

struct BenchCmd {
  bench::Spec spec;
  double timeout_s = 0;
  std::optional<double> target;
  std::string baseline;
  std::string format = "text";
  bool lower_is_better = false;
  std::string host;                   // user@host: sync the branch there and run the bench there
  std::vector<std::string> ssh_args;  // extra ssh arguments, e.g. -p 2222 -i KEY
  std::string remote_dir;             // the work tree on the host; default ~/kcat-work/<repo name>
  bool no_doctor = false;             // skip `kcat doctor` (and so the device) in the report
  std::string ascend_home = "/usr/local/Ascend";
  std::string python = "python3";
};

// The machine the numbers come from, as `kcat doctor --format json` reports it, and the device
// said honestly: "npu" only when npu-smi lists a chip there, never because an NPU was meant.
struct Machine {
  nlohmann::json doctor;
  std::optional<std::string> device;  // "npu", or nullopt: no NPU seen
  std::string device_note;
};

// The JSON report gets the whole doctor probe (packages, toolkit, smoke test: seconds to tens of
// seconds); the text output only needs the device, from `npu-smi info` alone.
Machine probe_machine(const BenchCmd& o, exec::Runner& runner, bool full_report) {
  Machine m;
  env::Probe p;
  if (full_report) {
    p = env::probe(runner, o.ascend_home, o.python);
    m.doctor = env::report_json(p, env::check(p, kb::VersionMatrix::load(kb::default_data_dir())));
  } else {
    exec::Command c;
    c.shell = "npu-smi info 2>/dev/null";
    c.timeout = std::chrono::seconds(60);
    env::parse_npu_smi(runner.run(c).out, p);
    p.where = o.host.empty() ? "local" : "ssh " + o.host;
  }
  if (!p.npu_chips.empty()) {
    m.device = "npu";
    m.device_note = fmt::format("{} NPU chip(s) listed by npu-smi ({})", p.npu_chips.size(), p.where);
  } else {
    m.device_note = fmt::format("no NPU: npu-smi {} on {}; these numbers are not NPU figures",
                                p.npu_smi.empty() ? "did not run" : "lists no chip", p.where);
  }
  return m;
}

struct Remote {
  std::unique_ptr<exec::Runner> runner;
  std::filesystem::path cwd;  // on the host
  std::string commit;
  std::string harness;  // where the bench harnesses were sent on the host; "" when none were found here
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Sends the current branch of the repository at `cwd` to the host and returns a runner there
// whose cwd is the same directory of the synced work tree. Only commits travel: uncommitted
// changes are reported, not sent.
Remote sync_remote(const BenchCmd& o) {
  auto local = exec::local_runner();
  std::filesystem::path cwd = o.spec.cwd.empty() ? std::filesystem::path(".") : o.spec.cwd;
  auto git = [&](std::vector<std::string> args) {
    exec::Command c;
    c.argv = {"git", "-C", cwd.string()};
    c.argv.insert(c.argv.end(), args.begin(), args.end());
    c.timeout = std::chrono::seconds(60);
    return local->run(c);
  };
  auto top = git({"rev-parse", "--show-toplevel"});
  if (!top.ok()) {
    throw Error(ErrorKind::Environment,
                fmt::format("--host sends the current branch with git, and {} is not in a git repository",
                            cwd.string()),
                cwd.string(), "run kcat bench --host from the repository (or give --cwd)");
  }
  auto prefix = first_line(git({"rev-parse", "--show-prefix"}).out);  // "sub/dir/" or ""
  if (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  auto branch = git({"symbolic-ref", "-q", "--short", "HEAD"});
  if (!branch.ok()) {
    throw Error(ErrorKind::Environment, "--host sends the current branch, and HEAD is detached", cwd.string(),
                "check out the branch to benchmark (git switch kcat/npu)");
  }
  if (!first_line(git({"status", "--porcelain", "--untracked-files=no"}).out).empty()) {
    std::cerr << "kcat: uncommitted changes in " << cwd.string()
              << " are not sent to the host; the bench runs the last commit\n";
  }
  exec::RemoteTree remote;
  remote.destination = o.host;
  remote.ssh_args = o.ssh_args;
  std::filesystem::path top_path = first_line(top.out);
  remote.dir = o.remote_dir.empty() ? "~/kcat-work/" + top_path.filename().string() : o.remote_dir;
  auto synced = exec::sync_to_host(top_path, first_line(branch.out), remote, *local);
  std::cerr << fmt::format("kcat: {} at {} is on {}:{}\n", first_line(branch.out),
                           synced.commit.substr(0, 12), o.host, synced.dir);
  Remote r;
  r.runner = exec::ssh_runner(o.host, o.ssh_args);
  r.cwd = prefix.empty() ? std::filesystem::path(synced.dir) : std::filesystem::path(synced.dir) / prefix;
  r.commit = synced.commit;
  r.harness = env::send_harnesses(*r.runner, synced.dir + ".harness");
  if (!r.harness.empty())
    std::cerr << fmt::format("kcat: the bench harnesses are in {} ($KCAT_HARNESS)\n", r.harness);
  return r;
}

std::string line_for(const std::string& label, const bench::Result& r) {
  if (!r.stats) return fmt::format("{:<10} no result: {}\n", label, r.failure);
  auto& s = *r.stats;
  std::string out = fmt::format("{:<10} median {:.2f} {} (min {:.2f}, max {:.2f}, CV {:.1f}%, {} runs)\n",
                                label, s.median, r.unit, s.min, s.max, s.cv * 100, s.n);
  if (!r.failure.empty()) out += fmt::format("{:<10} warning: {}\n", "", r.failure);
  return out;
}

int run(const BenchCmd& o) {
  // Ctrl-C and SIGTERM stop the run in progress and its whole process group (a CI job's timeout
  // sends SIGTERM; nothing may outlive kcat), then kcat exits 130 / 143.
  cancel::install_termination_handler();
  auto spec = o.spec;
  spec.cancelled = [] { return cancel::requested(); };
  spec.timeout = std::chrono::milliseconds(static_cast<long>(o.timeout_s * 1000));
  std::unique_ptr<exec::Runner> runner;
  std::string commit, harness;
  if (!o.host.empty()) {
    auto remote = sync_remote(o);
    runner = std::move(remote.runner);
    spec.cwd = remote.cwd;
    commit = remote.commit;
    harness = remote.harness;
    if (!harness.empty()) spec.env["KCAT_HARNESS"] = harness;
  } else {
    runner = exec::local_runner();
    harness = env::harness_dir().string();
    if (!harness.empty() && !std::getenv("KCAT_HARNESS")) spec.env["KCAT_HARNESS"] = harness;
  }
  std::optional<Machine> machine;
  if (!o.no_doctor) machine = probe_machine(o, *runner, o.format == "json");
  auto started = events::now_iso();
  auto result = bench::run(spec, *runner);
  std::optional<bench::Result> base;
  if (!o.baseline.empty()) {
    auto bspec = spec;
    bspec.command = o.baseline;
    base = bench::run(bspec, *runner);
  }
  std::optional<double> ratio;
  if (result.stats && base && base->stats && base->stats->median != 0)
    ratio = result.stats->median / base->stats->median;
  std::optional<bool> met;
  if (o.target && result.stats) {
    met = o.lower_is_better ? result.stats->median <= *o.target : result.stats->median >= *o.target;
  }
  if (o.format == "json") {
    nlohmann::json j = {{"candidate", result}};
    if (!o.host.empty())
      j["host"] = {
          {"destination", o.host}, {"dir", spec.cwd.string()}, {"commit", commit}, {"harness", harness}};
    if (base) j["baseline"] = *base;
    if (ratio) j["ratio"] = *ratio;
    if (o.target) j["target"] = *o.target;
    if (met) j["target_met"] = *met;
    j["started_utc"] = started;
    if (machine) {
      j["device"] = machine->device ? nlohmann::json(*machine->device) : nlohmann::json(nullptr);
      j["device_note"] = machine->device_note;
      j["doctor"] = machine->doctor;
    }
    std::cout << json_text(j, 2) << "\n";
  } else {
    if (!o.host.empty())
      std::cout << fmt::format("{:<10} {}:{} at {}\n", "host", o.host, spec.cwd.string(), commit);
    if (machine)
      std::cout << fmt::format("{:<10} {}: {}\n", "device", machine->device.value_or("none"),
                               machine->device_note);
    std::cout << line_for("candidate", result);
    if (base) std::cout << line_for("baseline", *base);
    if (ratio) std::cout << fmt::format("ratio      {:.2f}x the baseline\n", *ratio);
    if (met) {
      std::cout << fmt::format("target     {:.2f} {}: {}\n", *o.target, spec.unit, *met ? "met" : "missed");
    }
  }
  if (!result.stats) {
    throw Error(ErrorKind::Environment, "the benchmark produced no number: " + result.failure, spec.command,
                "run the command by hand; check --metric / --metric-json against its output");
  }
  return met.has_value() && !*met ? 1 : 0;
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<BenchCmd>();
  auto* cmd = root.add_subcommand("bench",
                                  "Run a benchmark command several times and report its metric: median, "
                                  "spread, against a target and a baseline");
  cmd->footer(
      "The metric is the last match of --metric (an RE2 pattern with one capture group; default: the\n"
      "last number printed) or a key of the last JSON line (--metric-json tokens_per_s). Runs are added\n"
      "while the coefficient of variation is above 5% (up to twice --runs). A crash, a hang (--timeout)\n"
      "or a run without the metric is reported as such, never as a number.\n\n"
      "Examples:\n"
      "  kcat bench --cmd 'python bench.py' --metric 'throughput: ([0-9.]+)' --unit tok/s --target 550\n"
      "  kcat bench --cmd './vllm_bench.sh' --metric-json output_tokens_per_s --baseline './hf_generate.sh'\n"
      "  kcat bench --host me@atlas --ssh-arg=-p --ssh-arg=2222 --cmd './vllm_bench.sh' --metric-json "
      "tok_s\n\n"
      "With --host the current branch of the repository (--cwd or .) is pushed with git to --remote-dir on\n"
      "the host (default ~/kcat-work/<repo name>), checked out there (tracked and untracked changes on the\n"
      "host are reset, ignored build outputs kept), and the commands run there over ssh (BatchMode).\n"
      "Only commits are sent. An --ssh-arg that starts with '-' is written --ssh-arg=-p.\n\n"
      "The commands see $KCAT_HARNESS, the NPU harnesses' directory (with --host: <remote-dir>.harness\n"
      "on the host, sent there too): --cmd 'python3 $KCAT_HARNESS/vllm_serve_bench.py ...'.\n\n"
      "Where the numbers come from: the device (\"npu\" only when npu-smi lists a chip there, else\n"
      "none), and in the JSON report `kcat doctor --format json` of that machine, the UTC start time\n"
      "and every run's output (a harness's result line carries its command, seed and versions).\n"
      "--no-doctor leaves the device and the doctor report out.\n\n"
      "Exit: 0 target met (or no target), 1 target missed, 3 no run produced a number, 2 usage.");
  cmd->add_option("--cmd", o->spec.command, "The command (run with /bin/sh -c)")->required();
  cmd->add_option("--warmup", o->spec.warmup, "Runs before measuring")->capture_default_str();
  cmd->add_option("--runs", o->spec.runs, "Measured runs")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--timeout", o->timeout_s, "Seconds before a run is killed (its process group)");
  auto* m = cmd->add_option("--metric", o->spec.metric_regex, "RE2 pattern with one capture group");
  auto* mj =
      cmd->add_option("--metric-json", o->spec.metric_json_key, "Key of the last JSON line (a.b nests)");
  m->excludes(mj);
  cmd->add_option("--unit", o->spec.unit, "Unit to print, e.g. tok/s");
  cmd->add_option("--target", o->target, "The number to reach");
  cmd->add_flag("--lower-is-better", o->lower_is_better, "The target is a maximum (latency)");
  cmd->add_option("--baseline", o->baseline,
                  "A baseline command: the ratio candidate / baseline is reported");
  cmd->add_option("--cwd", o->spec.cwd,
                  "Working directory for the commands (with --host: the repository to send)");
  auto* host = cmd->add_option(
      "--host", o->host, "Run on this host over ssh (user@host) after syncing the current branch there");
  cmd->add_option("--ssh-arg", o->ssh_args, "An extra ssh argument (repeat; --ssh-arg=-p --ssh-arg=2222)")
      ->allow_extra_args(false)
      ->needs(host);
  cmd->add_option("--remote-dir", o->remote_dir,
                  "The work tree on the host (default ~/kcat-work/<repo name>)")
      ->needs(host);
  cmd->add_option("-f,--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--no-doctor", o->no_doctor,
                "Do not attach `kcat doctor`'s report (and so say no device) to the result");
  cmd->add_option("--ascend-home", o->ascend_home,
                  "Where the Ascend toolkit and driver are, for the doctor report")
      ->capture_default_str();
  cmd->add_option("--python", o->python, "The Python whose packages the doctor report lists")
      ->capture_default_str();
  cmd->callback([o, &g] { g.exit_code = run(*o); });
}

}  // namespace

KCAT_COMMAND(setup, 50);

}  // namespace kcat::cli
