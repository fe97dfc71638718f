#pragma once
// Output dumps as tensors: NumPy .npy (one tensor) and .safetensors (named tensors), read into
// doubles for comparison. f16 and bf16 are widened exactly.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kcat::bench {

struct Tensor {
  std::string dtype;  // f64 f32 f16 bf16 i64 i32 i16 i8 u8 bool
  std::vector<int64_t> shape;
  std::vector<double> values;
};

// name -> tensor; a .npy file gives one tensor named after the file. Throws Error(Parse) naming
// the file and what is wrong (truncated data, unsupported dtype, Fortran order, bad header).
std::map<std::string, Tensor> load_tensors(const std::filesystem::path& file);

struct Difference {
  std::string name;
  std::string problem;  // "" when comparable; else shape / dtype / missing
  double max_abs = 0, max_rel = 0;
  size_t worst_index = 0;
  double worst_ref = 0, worst_out = 0;
  size_t mismatches = 0;  // elements outside atol + rtol * |ref|
  bool within = true;
};

// Per dtype ("bf16" -> {rtol, atol}): a tensor of that dtype in both files is compared at the
// larger of these and the rtol/atol given (a bf16 kernel change cannot meet f32 tolerances).
using DtypeTolerances = std::map<std::string, std::pair<double, double>>;

std::vector<Difference> compare(const std::map<std::string, Tensor>& ref,
                                const std::map<std::string, Tensor>& out, double rtol, double atol,
                                const DtypeTolerances& floors = {});

}  // namespace kcat::bench
