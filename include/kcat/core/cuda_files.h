#pragma once
// A CUDA source file (.cu / .cuh) as one item of a plan or a report (issue 17 item 5): its sites
// stay one finding each in the scan's output, but a person reads one line per file naming its
// kernels, not hundreds of blocking lines.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat {

bool is_cuda_source(std::string_view file) noexcept;

// The kernel a finding names: "name" of a `__global__ name` match (the scanner writes it), else "".
std::string kernel_name_of(const Finding& f);

struct CudaFileGroup {
  std::string file;
  size_t sites = 0;
  size_t blocking = 0;
  std::vector<std::string> kernels;  // the __global__ functions found, in file order, each once
  std::vector<size_t> members;       // indexes of the group's findings in the list given
};

// The CUDA source files of `findings`, in order of first appearance, with their sites.
std::vector<CudaFileGroup> group_cuda_files(const std::vector<const Finding*>& findings);

// "kernels: a, b, c" (at most `shown` names, then "and N more"), or "no __global__ kernel found".
std::string describe_kernels(const CudaFileGroup& g, size_t shown = 8);

// The sites of all the groups, said once for the plan and the reports: "N of the M sites are in K
// CUDA source file(s) (.cu/.cuh)" when `of` (M) is given, else "N site(s) in K CUDA source file(s)
// (.cu/.cuh)". Each caller says after it how it lists them.
std::string cuda_files_summary(const std::vector<CudaFileGroup>& groups,
                               std::optional<size_t> of = std::nullopt);

}  // namespace kcat
