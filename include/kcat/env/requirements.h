#pragma once
// The requirements solver: read the project's real requirement sources (sources.h), choose the
// stack (a route's, the CANN asked for, the project's vLLM, else the plan's default), and write
// requirements-ascend.txt: CUDA-only packages dropped with what replaces them, torch / torch-npu
// (and vllm-ascend) pinned to the stack, the families co-pinned (torchvision / torchaudio with
// torch, tokenizers with transformers), the stack's own pins applied, every change explained.
// Index URLs, trusted hosts, VCS URLs and editable installs from the repository are kept only with
// the user's consent. check() proves the result resolves with pip's own resolver.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/kb/versions.h"

namespace kcat::env {

struct Dropped {
  std::string what, file, replacement;
};

struct Conflict {
  std::string what, explanation, source;
};

// An entry from the repository that would send the install elsewhere (an index, a trusted host, a
// VCS or other URL, an editable install), refused for want of consent.
struct Refused {
  std::string what, where;
};

struct Solution {
  std::vector<std::string> read;  // files read
  std::string cann, torch, torch_npu, python;
  std::string torch_npu_source;  // the row's citation ("" = Ascend/pytorch's table)
  std::optional<kb::VllmAscendRow> vllm_ascend;
  std::string stack_reason;        // why this stack (route, --cann, the project's vLLM, the default)
  std::vector<std::string> lines;  // requirements-ascend.txt, line by line
  std::vector<Dropped> dropped;
  std::vector<Conflict> resolved;    // pins kcat moved to what the stack requires (re-test those paths)
  std::vector<Conflict> conflicts;   // what a person must resolve
  std::vector<Refused> refused;      // repository indexes / URLs not kept (no consent)
  std::vector<std::string> notes;    // sources' notes: lines not read, conda names dropped, ...
  std::vector<std::string> skipped;  // development tools' extras and files left out
};

struct SolveOptions {
  std::string cann;         // "" = the route's, the project's vLLM's, else the plan's default
  std::string vllm_ascend;  // a route's vllm-ascend release: its row is the stack
  std::string route;        // the route's id, for the explanation
  bool allow_repo_indexes = false;
  // The code has Triton kernels that stay (the scan's @triton.jit sites): triton-ascend is added
  // even when no requirement names triton (it comes with torch on x86, and not at all on the NPU).
  bool triton_kernels = false;
  // Asked for each index / URL / editable entry when set and consent was not given up front.
  std::function<bool(const std::string& question)> ask;
};

// Throws Error(Usage) for an unknown CANN (listing the known ones) or a repository without
// requirements.
// Whether the scan found Triton kernels (@triton.jit) in the code: SolveOptions::triton_kernels for
// `kcat requirements` and migrate's requirements phase alike.
bool has_triton_kernels(const std::vector<Finding>& findings);

Solution solve(const std::filesystem::path& repo, const SolveOptions& options,
               const kb::VersionMatrix& matrix);
// cann: "" = the row matching the project's vLLM, else the plan's default CANN.
Solution solve(const std::filesystem::path& repo, const std::string& cann, const kb::VersionMatrix& matrix);
std::string render_file(const Solution& s);
std::string render_summary(const Solution& s);

// What pip's resolver said about a requirements file.
struct CheckResult {
  bool ran = false;                                           // pip was found and ran
  bool resolved = false;                                      // pip resolved every requirement
  std::vector<std::pair<std::string, std::string>> installs;  // name, version (from --report)
  std::vector<std::string> conflicts;  // pip's "The conflict is caused by:" lines, or its error
  std::string command;                 // the command run, for the report
  std::string output;                  // pip's stderr (trimmed)
};

// Runs `python3 -m pip install --dry-run --ignore-installed --report - -r FILE` (with the resolver:
// dependencies are followed). `index` is a directory of wheels (--no-index --find-links DIR) or an
// index URL (--index-url URL); "" = pip's configured index. `python` picks the interpreter.
CheckResult check(const std::filesystem::path& requirements_file, const std::string& index,
                  const std::string& python = "python3", int timeout_seconds = 300);

}  // namespace kcat::env
