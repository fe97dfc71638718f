#include "kcat/core/cuda_files.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace kcat {

bool is_cuda_source(std::string_view file) noexcept {
  return file.ends_with(".cu") || file.ends_with(".cuh");
}

std::string kernel_name_of(const Finding& f) {
  constexpr std::string_view kPrefix = "__global__ ";
  if (!f.matched.starts_with(kPrefix)) return {};
  return f.matched.substr(kPrefix.size());
}

std::vector<CudaFileGroup> group_cuda_files(const std::vector<const Finding*>& findings) {
  std::vector<CudaFileGroup> out;
  std::map<std::string_view, size_t> index;
  for (size_t i = 0; i < findings.size(); ++i) {
    const Finding& f = *findings[i];
    if (!is_cuda_source(f.file)) continue;
    auto [it, fresh] = index.emplace(f.file, out.size());
    if (fresh) out.push_back({f.file, 0, 0, {}, {}});
    auto& g = out[it->second];
    ++g.sites;
    if (f.severity == Severity::Blocking) ++g.blocking;
    g.members.push_back(i);
    auto k = kernel_name_of(f);
    if (!k.empty() && std::find(g.kernels.begin(), g.kernels.end(), k) == g.kernels.end())
      g.kernels.push_back(k);
  }
  return out;
}

std::string describe_kernels(const CudaFileGroup& g, size_t shown) {
  if (g.kernels.empty()) return "no __global__ kernel found";
  std::string out = "kernels: ";
  for (size_t i = 0; i < g.kernels.size() && i < shown; ++i) out += (i ? ", " : "") + g.kernels[i];
  if (g.kernels.size() > shown) out += fmt::format(" and {} more", g.kernels.size() - shown);
  return out;
}

std::string cuda_files_summary(const std::vector<CudaFileGroup>& groups, std::optional<size_t> of) {
  size_t sites = 0;
  for (const auto& g : groups) sites += g.sites;
  if (of)
    return fmt::format("{} of the {} sites are in {} CUDA source file(s) (.cu/.cuh)", sites, *of,
                       groups.size());
  return fmt::format("{} site(s) in {} CUDA source file(s) (.cu/.cuh)", sites, groups.size());
}

}  // namespace kcat
