#pragma once
// The knowledge base beyond rules: the torch.cuda -> torch.npu API map and the environment
// variable map (patches/api_map.toml, patches/env_map.toml). It judges findings: each gets an
// Ascend verdict, and a codemod that would produce a call without an NPU equivalent is withdrawn.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat::kb {

struct ApiEntry {
  std::string name;  // qualified CUDA-side name, e.g. "torch.cuda.synchronize"
  Verdict verdict = Verdict::Unknown;
  std::string equivalent;  // e.g. "torch.npu.synchronize"
  std::string note;        // what to do when unsupported
  // How the NPU call differs although it exists (e.g. "exists, returns None"): a supported entry
  // with a behaviour keeps its finding but loses the codemod, with this as the reason.
  std::string behaviour;
  std::string source;
};

struct EnvEntry {
  std::string name;    // CUDA-side variable
  std::string action;  // rename | remove | keep
  std::string ascend;  // the Ascend variable for rename
  std::string note;
  std::string source;
};

// A recommended performance setting (not a rename of a CUDA variable).
struct PerfEnv {
  std::string name, value, applies_to, what, source;
};

class KnowledgeBase {
 public:
  // Loads api_map.toml and env_map.toml from data_dir (missing files mean an empty map).
  static KnowledgeBase load(const std::filesystem::path& data_dir);

  const ApiEntry* api(std::string_view qualified) const;
  const EnvEntry* env(std::string_view name) const;
  // Verdicts, equivalents and env-var replacements; withdraws codemods the maps do not back.
  void annotate(std::vector<Finding>& findings) const;

  const std::map<std::string, ApiEntry>& apis() const { return apis_; }
  const std::map<std::string, EnvEntry>& envs() const { return envs_; }
  const std::vector<PerfEnv>& performance_env() const { return perf_; }

 private:
  std::map<std::string, ApiEntry> apis_;
  std::map<std::string, EnvEntry> envs_;
  std::vector<PerfEnv> perf_;
};

}  // namespace kcat::kb
