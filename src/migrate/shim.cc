// shim mode: no source rewrite; torch_npu and transfer_to_npu imported at each Python entry point
// (one step), and the report counts what transfer_to_npu maps at run time as covered.
#include <fmt/format.h>

#include "kcat/kb/data_dir.h"
#include "kcat/kb/shim.h"
#include "kcat/migrate/phases.h"
#include "kcat/patch/codemod.h"
#include "kcat/patch/gate.h"

namespace kcat::migrate {

// What torch_npu.contrib.transfer_to_npu maps at run time: patches/shim_coverage.toml.
bool covered_by_shim(const Finding& f) {
  static const auto coverage = kb::load_shim_coverage(kb::default_data_dir());
  return kb::covered_by_shim(coverage, f);
}

StepWork shim_work(const std::filesystem::path& root, const std::vector<Finding>& findings,
                   const std::string& target) {
  std::set<std::string> py;
  for (auto& f : findings) {
    if (patch::parse_language(f.file) == "python") py.insert(f.file);
  }
  StepWork w{"shim",
             "shim-1",
             "Shim: torch_npu + transfer_to_npu at entry points",
             patch::shim_patch(root, std::vector<std::string>(py.begin(), py.end())),
             {},
             {},
             {}};
  w.patch.message = fmt::format(
      "kcat: shim mode for {}: import torch_npu and transfer_to_npu at each entry point\n\n"
      "torch_npu.contrib.transfer_to_npu maps torch.cuda, device strings and NCCL to the NPU at run "
      "time\n"
      "(Ascend/pytorch:torch_npu/contrib/transfer_to_npu.py). Nothing else is changed; the report lists\n"
      "what the shim does not cover.\n",
      target);
  return w;
}

void port_with_shim(Run& r) {
  if (r.book.attempted.count("shim")) return;
  run_step(r, shim_work(r.p.root, r.scan().findings, r.o.target));
}

}  // namespace kcat::migrate
