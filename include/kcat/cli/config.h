#pragma once
// kcat.toml: found with --config FILE, else in the repository, else ~/.config/kcat/kcat.toml.
// Sections: [hooks], [build], [bench], [optimize] (docs/ci.md, docs/optimize.md); [llm] is read by
// the llm layer (docs/llm.md).
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kcat::cli {

struct BenchConfig {
  std::string command;      // run with /bin/sh -c in the repository
  std::string metric;       // RE2 with one capture group
  std::string metric_json;  // or a key of the last JSON line
  std::string unit;
  int runs = 5;
  int warmup = 1;
  double timeout_s = 0;
  std::optional<double> target;  // absolute
  double target_speedup = 0;     // or a multiple of the baseline
  std::string baseline;          // a baseline command (transformers) for the ratio
};

struct OptimizeConfig {
  int max_iterations = 10;
  double min_gain = 0.02;
  std::string output;     // the dump the bench command writes, checked after each kept change
  std::string reference;  // the expected dump (default: the baseline's output)
  double rtol = 1e-3, atol = 1e-5;
  std::vector<std::string> recipes;      // recipe ids to try (default: every applicable one)
  std::vector<std::string> recipe_dirs;  // extra recipe directories (relative to the repository)
};

// An Atlas host over ssh: build and bench run there after the branch is sent with git.
struct RemoteConfig {
  std::string host;                   // user@host; empty = run locally
  std::vector<std::string> ssh_args;  // e.g. ["-p", "2222", "-i", "~/.ssh/atlas"]
  std::string dir;                    // work tree on the host (default ~/kcat-work/<repo name>)
};

struct Config {
  std::filesystem::path file;                 // empty when none was found
  std::map<std::string, std::string> hooks;   // [hooks] after_edit, after_build, after_bench, before_commit
  std::string build_command;                  // [build] command
  double build_timeout_s = 0;                 // [build] timeout
  BenchConfig bench;                          // [bench]
  OptimizeConfig optimize;                    // [optimize]
  RemoteConfig remote;                        // [remote]
  std::vector<std::string> allowed_commands;  // [agent] commands the agent may run unattended
};

// Throws Error(Usage) naming file:line for invalid TOML, an unknown hook name or a value of the
// wrong type.
Config load_config(const std::filesystem::path& repo, const std::string& explicit_file);

}  // namespace kcat::cli
