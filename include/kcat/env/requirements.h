#pragma once
// The requirements solver: read a project's pins (requirements*.txt with -r includes, constraints,
// `pip install` lines in README.md and scripts), choose a consistent row of the version matrix for
// a CANN version, and write requirements-ascend.txt: CUDA-only packages dropped with what replaces
// them, torch / torch-npu (and vllm-ascend) pinned to the row, every conflict explained.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kcat/kb/versions.h"

namespace kcat::env {

struct Dropped {
  std::string what, file, replacement;
};

struct Conflict {
  std::string what, explanation, source;
};

struct Solution {
  std::vector<std::string> read;  // files read
  std::string cann, torch, torch_npu, python;
  std::optional<kb::VllmAscendRow> vllm_ascend;
  std::vector<std::string> lines;  // requirements-ascend.txt, line by line
  std::vector<Dropped> dropped;
  std::vector<Conflict> resolved;   // pins kcat moved to what the stack requires (re-test those paths)
  std::vector<Conflict> conflicts;  // what a person must resolve
};

// cann: "" = the newest row (or the row matching the project's vLLM). Throws Error(Usage) for an
// unknown CANN (listing the known ones) or a repository without requirements.
Solution solve(const std::filesystem::path& repo, const std::string& cann, const kb::VersionMatrix& matrix);
std::string render_file(const Solution& s);
std::string render_summary(const Solution& s);

}  // namespace kcat::env
