// kcat compare REF OUT: are two output dumps the same within tolerance, tensor by tensor?
#include <fmt/format.h>

#include <iostream>

#include "kcat/bench/tensors.h"
#include "kcat/cli/command.h"

namespace kcat::cli {
namespace {

struct CompareCmd {
  std::string ref, out;
  double rtol = 1e-3, atol = 1e-5;
};

int run(const CompareCmd& o) {
  auto ref = bench::load_tensors(o.ref);
  auto out = bench::load_tensors(o.out);
  auto diffs = bench::compare(ref, out, o.rtol, o.atol);
  bool all = true;
  std::cout << fmt::format("{:<28} {:>12} {:>12} {:>10}  {}\n", "tensor", "max abs", "max rel", "outside",
                           "worst element");
  for (auto& d : diffs) {
    all &= d.within;
    if (!d.problem.empty() && !d.within) {
      std::cout << fmt::format("{:<28} {}\n", d.name, d.problem);
      continue;
    }
    std::cout << fmt::format("{:<28} {:>12.3g} {:>12.3g} {:>10}  [{}] ref {:.6g} out {:.6g}{}\n", d.name,
                             d.max_abs, d.max_rel, d.mismatches, d.worst_index, d.worst_ref, d.worst_out,
                             d.problem.empty() ? "" : "  (" + d.problem + ")");
  }
  std::cout << fmt::format("{}: rtol {}, atol {}\n", all ? "within tolerance" : "OUTSIDE tolerance", o.rtol,
                           o.atol);
  return all ? 0 : 1;
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<CompareCmd>();
  auto* cmd = root.add_subcommand("compare",
                                  "Compare two output dumps (.npy or .safetensors) tensor by tensor: shape, "
                                  "dtype, max abs / rel error, the worst element");
  cmd->footer(
      "An element is outside when |out - ref| > atol + rtol * |ref| (numpy.allclose).\n"
      "Exit: 0 within tolerance, 1 outside (or shapes / names differ), 2 usage, 3 unreadable file.");
  cmd->add_option("ref", o->ref, "Reference dump (e.g. from the GPU or the CPU)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("out", o->out, "Dump to check (e.g. from the NPU)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--rtol", o->rtol, "Relative tolerance")->capture_default_str();
  cmd->add_option("--atol", o->atol, "Absolute tolerance")->capture_default_str();
  cmd->callback([o, &g] { g.exit_code = run(*o); });
}

}  // namespace

KCAT_COMMAND(setup, 55);

}  // namespace kcat::cli
