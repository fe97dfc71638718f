#pragma once
// Launches `kernel[grid](...)` of a Triton kernel defined in ANOTHER module of the repository
// (issue 17 item 5): `from .ops import _fwd_kernel` then `_fwd_kernel[grid](...)`, or
// `from pkg import ops as m` then `m._fwd_kernel[grid](...)`. The per-file analyzers cannot see
// them (the kernel's @triton.jit is in the other file), so the scanner runs this over the scanned
// Python files after the per-file pass: one index of the names decorated with triton.jit /
// autotune / heuristics per module, then each file's imports resolved against it.
#include <filesystem>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/kb/rule.h"
#include "walk.h"

namespace kcat::scan {

// Findings of `rule` (py.triton-launch) at each such launch; `matched` is "<module>.<kernel>".
// Files larger than `max_size` or unreadable are passed over (the per-file pass reports them).
std::vector<Finding> imported_triton_launches(const std::filesystem::path& root,
                                              const std::vector<Candidate>& files, const kb::Rule& rule,
                                              uint64_t max_size);

}  // namespace kcat::scan
