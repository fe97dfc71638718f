#pragma once
// The NPU bench harnesses (tools/bench: vllm_serve_bench.py, hf_generate.py, ...): where they are
// here, and sending them to an Atlas host, so that a bench command (`kcat bench`, and the [bench]
// command of `kcat optimize` and migrate's optimize phase) finds them at $KCAT_HARNESS (issue 19).
#include <filesystem>
#include <string>

#include "kcat/exec/process.h"

namespace kcat::env {

// Beside the knowledge base: share/kcat/harness when installed (CMakeLists.txt install rules),
// tools/bench in the source tree. Empty when neither exists.
std::filesystem::path harness_dir();

// Sends the harnesses (their files, not their tests) to `dir` on the host, beside the synced work
// tree rather than in it, so the branch's checkout and `git clean` never see them. One tar stream
// over one ssh command. Returns `dir`, or "" (with a line on stderr) when there are none here;
// throws Error(Environment) when the host cannot take them.
std::string send_harnesses(exec::Runner& host, const std::string& dir);

}  // namespace kcat::env
