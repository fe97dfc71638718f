#pragma once
// The fused-operator catalog (patches/fused_ops.toml): what each NPU operator replaces, its
// signature, layouts and argument mapping, with its source. The agent's kb lookup tool and the
// recipes read it.
#include <filesystem>
#include <string>
#include <vector>

namespace kcat::kb {

struct FusedOp {
  std::string id, signature, notes, source;
  std::vector<std::string> replaces, layouts, mapping;
};

std::vector<FusedOp> load_fused_ops(const std::filesystem::path& data_dir);

}  // namespace kcat::kb
