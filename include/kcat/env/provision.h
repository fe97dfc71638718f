#pragma once
// kcat env setup: make the environment real where the model will run (locally, or on an Atlas host
// over ssh through the same exec::Runner): a venv with a Python the stack supports, CANN's
// environment sourced (ascend-toolkit/latest or cann-<version>, and NNAL/ATB when installed), the
// packages installed in order (CPU torch, torch_npu, vllm, vllm-ascend, then the project's
// requirements-ascend.txt), pip's resolver conflicts read and the conflicting pin moved with a
// recorded reason (within a retry and time budget), then doctor's smoke test. It ends with the
// exact installed versions, or an error naming the failing package and its fix.
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "kcat/exec/process.h"
#include "kcat/kb/versions.h"

namespace kcat::env {

// The stack to install: one vllm-ascend row, or one torch_npu row (no vLLM).
struct Stack {
  std::string python;  // the row's range: ">= 3.10, < 3.13" (empty: any)
  std::string cann, torch, torch_npu, vllm, vllm_ascend;
  std::string source;  // the row's source
};

// The vllm-ascend row for `vllm_ascend`, else the torch_npu row for `torch_npu`, else the newest
// torch_npu row the installed CANN fits. Throws kcat::Error (usage) when none is in the matrix.
Stack stack_for(const kb::VersionMatrix& m, const std::string& vllm_ascend, const std::string& torch_npu,
                const std::string& cann);

struct SetupOptions {
  std::string ascend_home = "/usr/local/Ascend";
  std::string python = "python3";  // the interpreter that creates the venv
  std::string venv;                // on the host; required
  std::string requirements;        // the rest: requirements-ascend.txt's text (may be empty)
  std::string cann;                // the CANN to choose a stack for when `stack` is empty (else: the host's)
  Stack stack;                     // empty torch_npu: chosen from the host's CANN in `matrix`
  const kb::VersionMatrix* matrix = nullptr;
  // Where packages come from: pip arguments for every install (e.g. --index-url URL, or
  // --no-index --find-links DIR), and the index of the CPU torch wheel (empty: none extra).
  std::vector<std::string> pip_args;
  std::string torch_index = "https://download.pytorch.org/whl/cpu";
  int max_retries = 3;
  std::chrono::seconds budget{3600};
  // Asked before each command (interactive); false skips the rest and fails the setup.
  std::function<bool(const std::string& what, const std::string& command)> approve;
  std::function<void(const std::string& line)> log;  // every command, its outcome, each change
};

struct SetupStep {
  std::string what, command;
  int exit_code = 0;
  double seconds = 0;
  std::string output;  // the tail
};

struct PinChange {
  std::string from, to, reason;
};

struct SetupResult {
  bool ready = false;
  int exit_code = 1;  // 0 ready, 1 an install or the smoke test failed, 3 environment, 5 budget
  std::string error, failing_package, fix;
  Stack stack;
  std::vector<SetupStep> steps;
  std::vector<PinChange> changes;
  std::string requirements;                     // as installed, after the changes
  std::map<std::string, std::string> versions;  // normalised name -> installed version
  std::string activate;                         // the script that enters the environment
  double seconds = 0;
};

SetupResult setup(exec::Runner& runner, const SetupOptions& o);

// pip's ResolutionImpossible text: "The conflict is caused by: The user requested X==1 / Y 2
// depends on X>=3". One entry per package the user pinned that another package needs otherwise.
// (Not env::Conflict: requirements.h has one; two classes of one name broke the ODR under ASan.)
struct ResolverConflict {
  std::string package;    // normalised: tokenizers
  std::string requested;  // tokenizers==0.20.3
  std::string needed;     // tokenizers<0.23,>=0.22
  std::string by;         // transformers 5.5.3
};
std::vector<ResolverConflict> parse_resolver_error(const std::string& pip_output);
// Replaces the requirement line for c.package with c.needed (a comment records why); false when
// the text has no line for it.
bool adjust_requirements(std::string& text, const ResolverConflict& c, PinChange& change);

void to_json(nlohmann::json& j, const SetupResult& r);

}  // namespace kcat::env
