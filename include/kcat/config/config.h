#pragma once
// kcat.toml, from up to three files applied in order (a later file's keys override an earlier
// one's): the user's ($XDG_CONFIG_HOME/kcat/kcat.toml, default ~/.config/kcat/kcat.toml), the
// repository's (<repo>/kcat.toml), then --config FILE. Sections: [hooks], [build], [bench],
// [optimize], [remote], [agent] (docs/ci.md, docs/optimize.md) and [llm] (docs/llm.md).
//
// A cloned repository is input, not configuration (docs/ci.md "Trust"): the sections that run
// commands or send data -- [llm], [hooks], [build], [bench], [remote], [agent] -- are taken from the
// repository's file only when the user trusted that file's exact content: `kcat trust` on a
// terminal (recorded by content hash, so a change needs trust again), or --trust-repo-config HASH
// on the command line (the only way in unattended runs). Otherwise only [optimize] is used and a
// warning names what was ignored. Every file is validated whole before kcat touches the repository.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kcat/llm/config.h"

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
  int max_pairs = 0;      // A/B pairs at most per keep-or-revert decision; 0: the loop's default (20)
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

// How far configuration files are trusted: set once from the command line (main.cc).
struct ConfigPolicy {
  bool unattended = false;        // --ci, CI set or no terminal: only the command line grants trust
  std::string trusted_repo_hash;  // --trust-repo-config HASH
};
void set_config_policy(ConfigPolicy policy);

// One configuration file that was read.
struct ConfigSource {
  std::filesystem::path file;
  std::string origin;                // user | repository | --config
  bool trusted = true;               // false: a repository file nobody trusted
  std::vector<std::string> ignored;  // the sections not used because it is not trusted
};

struct Config {
  std::vector<ConfigSource> sources;          // in the order applied
  std::filesystem::path file;                 // the last file applied (for messages); empty when none
  llm::LlmConfig llm;                         // [llm] of the trusted files, then the environment
  std::map<std::string, std::string> hooks;   // [hooks] after_edit, after_build, after_bench, before_commit
  std::string build_command;                  // [build] command
  double build_timeout_s = 0;                 // [build] timeout
  BenchConfig bench;                          // [bench]
  OptimizeConfig optimize;                    // [optimize]
  RemoteConfig remote;                        // [remote]
  std::vector<std::string> allowed_commands;  // [agent] commands the agent may run unattended
  std::string
      agent_check;  // [agent] check: the repository's check; an agent step is done only when it passes
};

// Throws Error(Usage) naming file:line for invalid TOML, an unknown section or key, or a value of
// the wrong type (inf and nan included), in any of the files, trusted or not.
Config load_config(const std::filesystem::path& repo, const std::string& explicit_file);

// "~/.config/kcat/kcat.toml (user), kcat.toml (repository, not trusted: [hooks] ignored)"; "none".
std::string describe_sources(const Config& config);

// The repository files the configured commands name (hook scripts, build and bench scripts):
// repository-relative, for the agent to leave alone.
std::vector<std::string> command_files(const Config& config, const std::filesystem::path& repo);

// The content hash a trust decision is about: the git blob id of the file (`git hash-object FILE`).
std::string config_hash(const std::filesystem::path& file);
// Records that the user trusts `file` (its path and current hash); returns the hash.
std::string trust_config_file(const std::filesystem::path& file);
// The file trust decisions are kept in: $XDG_STATE_HOME/kcat/trusted (default ~/.local/state/...).
std::filesystem::path trust_store_path();

}  // namespace kcat::cli
