#pragma once
// Framework: a repository that already carries its own Ascend backend (DeepSpeed's NPU
// accelerator, transformers, accelerate, vLLM with its plugin) is ported by configuration, not
// edits (issue 12). From patches/frameworks.toml.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace kcat::kb {

struct Framework {
  std::string id;
  std::string name;
  std::vector<std::string> signals;  // repository-relative paths that must all exist
  std::string configure;             // how it runs on the NPU, in one line
  std::string source;
};

// A missing file gives none. Throws Error(Usage) naming file:line for an entry without id,
// signals, configure or source.
std::vector<Framework> load_frameworks(const std::filesystem::path& file);

// The framework `root` is, when every one of its signals exists there.
std::optional<Framework> detect_framework(const std::filesystem::path& root,
                                          const std::vector<Framework>& all);

// The plan's line for it.
std::string framework_note(const Framework& f);

}  // namespace kcat::kb
