#pragma once
// Target profiles (patches/targets/*.toml): device string, distributed backend, dtypes, SoC,
// default environment, how to detect it.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kcat::kb {

struct Target {
  std::string id, name, device, dist_backend, soc_version, detect, source;
  std::vector<std::string> dtypes;
  std::map<std::string, std::string> env;
  bool triton = true;  // triton-ascend runs here (`triton = false` in the file: it does not)
  bool supports(std::string_view dtype) const;
};

// The targets of data_dir/targets/*.toml; throws Error(Environment) when data_dir itself is missing
// (kcat's knowledge base is not where it looked).
std::vector<Target> load_targets(const std::filesystem::path& data_dir);
// The target with `id`; throws Error(Usage) listing the known ids.
const Target& find_target(const std::vector<Target>& targets, std::string_view id);
// The ids, in file order: "ascend-a2, ascend-a3, ascend-310p" (help text, hints, completion).
std::vector<std::string> target_ids(const std::vector<Target>& targets);
std::string target_list(const std::vector<Target>& targets, std::string_view last_joiner = ", ");
// For --target's help, built at every start: "ascend-a2, ascend-a3 or ascend-310p", or a pointer
// to patches/targets when the knowledge base cannot be read (`kcat --version` still works; the
// command that needs a target says what is missing).
std::string target_help(const std::filesystem::path& data_dir);

}  // namespace kcat::kb
