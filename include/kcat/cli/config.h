#pragma once
// kcat.toml: found with --config FILE, else in the repository, else ~/.config/kcat/kcat.toml.
#include <filesystem>
#include <map>
#include <string>

namespace kcat::cli {

struct Config {
  std::filesystem::path file;                 // empty when none was found
  std::map<std::string, std::string> hooks;   // [hooks] after_edit, after_build, after_bench, before_commit
};

// Throws Error(Usage) naming file:line for invalid TOML or an unknown hook name.
Config load_config(const std::filesystem::path& repo, const std::string& explicit_file);

}  // namespace kcat::cli
