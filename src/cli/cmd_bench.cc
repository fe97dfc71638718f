// kcat bench --cmd CMD: measure a command's throughput, against a target and a baseline.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "kcat/bench/bench.h"
#include "kcat/cli/command.h"
#include "kcat/core/error.h"

namespace kcat::cli {
namespace {

struct BenchCmd {
  bench::Spec spec;
  double timeout_s = 0;
  std::optional<double> target;
  std::string baseline;
  std::string format = "text";
  bool lower_is_better = false;
};

std::string line_for(const std::string& label, const bench::Result& r) {
  if (!r.stats) return fmt::format("{:<10} no result: {}\n", label, r.failure);
  auto& s = *r.stats;
  std::string out = fmt::format("{:<10} median {:.2f} {} (min {:.2f}, max {:.2f}, CV {:.1f}%, {} runs)\n", label,
                                s.median, r.unit, s.min, s.max, s.cv * 100, s.n);
  if (!r.failure.empty()) out += fmt::format("{:<10} warning: {}\n", "", r.failure);
  return out;
}

int run(const BenchCmd& o) {
  auto spec = o.spec;
  spec.timeout = std::chrono::milliseconds(static_cast<long>(o.timeout_s * 1000));
  auto runner = exec::local_runner();
  auto result = bench::run(spec, *runner);
  std::optional<bench::Result> base;
  if (!o.baseline.empty()) {
    auto bspec = spec;
    bspec.command = o.baseline;
    base = bench::run(bspec, *runner);
  }
  std::optional<double> ratio;
  if (result.stats && base && base->stats && base->stats->median != 0) ratio = result.stats->median / base->stats->median;
  std::optional<bool> met;
  if (o.target && result.stats) {
    met = o.lower_is_better ? result.stats->median <= *o.target : result.stats->median >= *o.target;
  }
  if (o.format == "json") {
    nlohmann::json j = {{"candidate", result}};
    if (base) j["baseline"] = *base;
    if (ratio) j["ratio"] = *ratio;
    if (o.target) j["target"] = *o.target;
    if (met) j["target_met"] = *met;
    std::cout << j.dump(2) << "\n";
  } else {
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
  auto* cmd = root.add_subcommand("bench", "Run a benchmark command several times and report its metric: median, "
                                           "spread, against a target and a baseline");
  cmd->footer(
      "The metric is the last match of --metric (an RE2 pattern with one capture group; default: the\n"
      "last number printed) or a key of the last JSON line (--metric-json tokens_per_s). Runs are added\n"
      "while the coefficient of variation is above 5% (up to twice --runs). A crash, a hang (--timeout)\n"
      "or a run without the metric is reported as such, never as a number.\n\n"
      "Examples:\n"
      "  kcat bench --cmd 'python bench.py' --metric 'throughput: ([0-9.]+)' --unit tok/s --target 550\n"
      "  kcat bench --cmd './vllm_bench.sh' --metric-json output_tokens_per_s --baseline './hf_generate.sh'\n\n"
      "Exit: 0 target met (or no target), 1 target missed, 3 no run produced a number, 2 usage.");
  cmd->add_option("--cmd", o->spec.command, "The command (run with /bin/sh -c)")->required();
  cmd->add_option("--warmup", o->spec.warmup, "Runs before measuring")->capture_default_str();
  cmd->add_option("--runs", o->spec.runs, "Measured runs")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--timeout", o->timeout_s, "Seconds before a run is killed (its process group)");
  auto* m = cmd->add_option("--metric", o->spec.metric_regex, "RE2 pattern with one capture group");
  auto* mj = cmd->add_option("--metric-json", o->spec.metric_json_key, "Key of the last JSON line (a.b nests)");
  m->excludes(mj);
  cmd->add_option("--unit", o->spec.unit, "Unit to print, e.g. tok/s");
  cmd->add_option("--target", o->target, "The number to reach");
  cmd->add_flag("--lower-is-better", o->lower_is_better, "The target is a maximum (latency)");
  cmd->add_option("--baseline", o->baseline, "A baseline command: the ratio candidate / baseline is reported");
  cmd->add_option("--cwd", o->spec.cwd, "Working directory for the commands");
  cmd->add_option("-f,--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([o, &g] { g.exit_code = run(*o); });
}

}  // namespace

KCAT_COMMAND(setup, 50);

}  // namespace kcat::cli
