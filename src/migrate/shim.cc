// shim mode: no source rewrite; torch_npu and transfer_to_npu imported at each Python entry point
// (one step), and the report counts what transfer_to_npu maps at run time as covered.
#include <fmt/format.h>

#include "kcat/migrate/phases.h"
#include "kcat/patch/codemod.h"
#include "kcat/patch/gate.h"

namespace kcat::migrate {

// What torch_npu.contrib.transfer_to_npu maps at run time (Ascend/pytorch:
// torch_npu/contrib/transfer_to_npu.py, facts sheet §1): device strings and .cuda() / .is_cuda,
// torch.cuda names torch_npu provides, torch.cuda.amp, and the backend argument of
// init_process_group. A comparison with 'nccl' is one of its documented gaps.
bool covered_by_shim(const Finding& f) {
  static const std::set<std::string> rules = {"py.cuda-method",           "py.is-cuda",
                                              "py.device-string",         "py.torch-cuda-amp",
                                              "py.torch-cuda-amp-import", "py.torch-cuda-module-import",
                                              "py.nccl-backend"};
  if (f.rule_id == "py.torch-cuda-api") return f.verdict == Verdict::Supported;
  if (f.rule_id == "py.nccl-backend" || f.rule_id == "py.device-string")
    return f.severity == Severity::Blocking;
  return rules.count(f.rule_id) > 0;
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
