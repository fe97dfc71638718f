#pragma once
// Which recipe the NPU profiler's operators point at (patches/profile_hints.toml): a recipe is
// hinted when every op of one of its signatures was profiled and none of its fused ops was.
#include <filesystem>
#include <string>
#include <vector>

namespace kcat::kb {

struct ProfileHint {
  std::string recipe, why, source, where;            // where: file:line of the [[hint]] table
  std::vector<std::vector<std::string>> signatures;  // any one, all its ops present
  std::vector<std::string> fused;                    // any present: already done
  std::vector<std::string> related;                  // count towards the share besides the signature
};

// An absent file is no hints. Throws Error(Usage) naming file:line for a hint without recipe,
// why, source or a signature, a signature that is not a list of op names, or an op name that
// `normalized` (the profiler's normalization) would change, as it would never match.
std::vector<ProfileHint> load_profile_hints(const std::filesystem::path& data_dir,
                                            std::string (*normalized)(std::string_view) = nullptr);

}  // namespace kcat::kb
