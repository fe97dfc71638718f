#pragma once
// CUDA C++ extensions (issue 17 item 3): each `CUDAExtension(...)` of a setup.py and each CMake CUDA
// target becomes one plan item with its .cu files, its kernels, how its build is handled on an NPU
// host (the repository's own switch, or the site reported with the reason: kcat does not edit a
// build file) and the oracle a kernel port is checked against (the repository's pure-PyTorch
// reference and the tests that call it). The plan groups the .cu findings by file (K1); this item
// names the same files (relative paths) in `cu_files`, which is where the two meet.
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace kcat::plan {

struct Plan;

// How the build of a CUDA extension is handled on a host without CUDA (an Atlas host).
struct ExtensionBuild {
  // switch:        the repository documents an environment switch that skips the CUDA build:
  //                `env` is what to set for `pip install` (no edit)
  // off-by-default: the CUDA sources are built only when `env`'s variable asks for it (no change)
  // cuda-detected: the build already skips the CUDA sources without CUDA (torch.cuda.is_available(),
  //                CUDA_HOME), no change
  // unconditional / unknown: reported for a person with `reason`; kcat does not edit the build file
  std::string how;
  std::string env;     // "CAUSAL_CONV1D_SKIP_CUDA_BUILD=TRUE" for switch / off-by-default
  std::string reason;  // one sentence: the evidence (the condition and its line) or why it is left
};

struct CudaExtension {
  std::string name;                   // the extension module: "selective_scan_cuda", "extension_cpp._C"
  std::string build_file;             // "setup.py", "CMakeLists.txt" (relative)
  int line = 0;                       // 1-based line of the CUDAExtension call or the CMake CUDA declaration
  std::vector<std::string> cu_files;  // .cu/.cuh files it builds (relative, sorted)
  std::vector<std::string> kernels;   // __global__ function names in cu_files, "file:name"
  ExtensionBuild build;
  std::vector<std::string> users;       // Python files that import or call the module
  std::vector<std::string> references;  // "selective_scan_ref (mamba_ssm/ops/selective_scan_interface.py)"
  std::vector<std::string> tests;       // test files that call a reference
};

// The CUDA extensions of the repository at `root`: setup.py files (any depth) with CUDAExtension,
// CMakeLists.txt with CUDA targets. Deterministic (files in sorted order). Unreadable or huge files
// are skipped.
std::vector<CudaExtension> find_cuda_extensions(const std::filesystem::path& root);

// The build handling of the CUDAExtension use at 0-based `line` of a setup.py's text (pure; tests
// call it on snippets).
ExtensionBuild setup_py_build(const std::string& text, size_t line);

// What is needed to port the kernels, in one sentence: the LLM and the Atlas host the agent's
// kernel task needs (said as missing when `have_llm` / `have_host` are false) and the oracle.
std::string extension_needs(const CudaExtension& e, bool have_llm, bool have_host);

// One plan step per extension (phase kernels-build, action llm, no findings: the .cu findings stay
// in their file-level steps), after the other kernels-build steps.
void add_extensions(Plan& plan, const std::vector<CudaExtension>& exts, bool have_llm, bool have_host);

// The agent's kernel task for one extension: `contract` (the recipe cuda-extension-port's task)
// with the extension's .cu files, kernels, users and oracle. Empty when it has no oracle (no
// reference found): an unchecked port is not asked for.
std::string kernel_task(const CudaExtension& e, const std::string& contract);

void to_json(nlohmann::json& j, const CudaExtension& e);

}  // namespace kcat::plan
