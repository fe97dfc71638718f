#pragma once
// Benchmarking a command: run it N times, take one number from each run's output, and say what
// the numbers mean (median, spread) against a target and a baseline. A run that crashes, hangs
// or prints no number is reported as such, never as a number.
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>

#include "kcat/exec/process.h"

namespace kcat::bench {

struct Spec {
  std::string command;  // run with /bin/sh -c
  std::filesystem::path cwd;
  std::map<std::string, std::string> env;
  int warmup = 1;
  int runs = 5;
  int max_runs = 0;                      // 0 = 2 x runs: extra runs while the spread is too wide
  double max_cv = 0.05;                  // coefficient of variation that counts as "too wide"
  std::chrono::milliseconds timeout{0};  // per run; 0 = none
  // A wall-time budget (optimize --max-minutes): no run outlives it (a run without a timeout gets
  // what is left of it) and no run starts after it.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::string metric_regex;     // RE2 with one capture group
  std::string metric_json_key;  // or: a key of the last JSON object line on stdout ("a.b" nests)
  std::string unit;
  // Polled after every run (warm-up included): when it says so, run() throws cancel::Interrupted
  // (the runner has already stopped the run's process group). Unset: runs go on (optimize judges
  // a cut run as a failed one and stops between iterations).
  std::function<bool()> cancelled;
};

struct RunResult {
  std::optional<double> value;
  std::string failure;  // "exit 1", "timed out after 5.0 s", "no metric in the output"
  // What the run printed: a harness's result line carries its provenance (command, time, seed,
  // machine), so the report keeps it. stdout up to its last kOutputKept bytes, stderr its last
  // kStderrKept (where vLLM and the model log).
  std::string output;
  std::string stderr_tail;
};
inline constexpr size_t kOutputKept = 1 << 20;
inline constexpr size_t kStderrKept = 64 << 10;

struct Stats {
  size_t n = 0;
  double median = 0, min = 0, max = 0, mean = 0, cv = 0;
};

struct Result {
  std::string command;
  std::string unit;
  std::vector<RunResult> runs;  // measured runs (warmup excluded)
  std::optional<Stats> stats;   // absent when no run produced a number
  std::string failure;          // why there is no result, when stats is absent
};

// Extracts the metric from one run's stdout; nullopt when absent or unparsable.
std::optional<double> extract_metric(const Spec& spec, const std::string& stdout_text);
Stats statistics(std::vector<double> values);
// Runs the benchmark through `runner`. Throws Error(Usage) for a bad metric spec.
Result run(const Spec& spec, exec::Runner& runner);

void to_json(nlohmann::json& j, const Result& r);

}  // namespace kcat::bench
