#pragma once
// What torch_npu's transfer_to_npu covers at run time (patches/shim_coverage.toml): the rules whose
// findings `kcat migrate --mode shim` counts as covered by the shim, each with its source.
#include <filesystem>
#include <string>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat::kb {

struct ShimCover {
  enum class When { Always, Blocking, Supported };
  std::string rule, source;
  When when = When::Always;
};

// An absent file is an empty list; an entry without rule or source, or an unknown `when`, throws
// Error(Usage) naming file:line.
std::vector<ShimCover> load_shim_coverage(const std::filesystem::path& data_dir);
bool covered_by_shim(const std::vector<ShimCover>& coverage, const Finding& finding);

}  // namespace kcat::kb
