#pragma once
// What the NPU profiler says: per-operator device time from the torch_npu profiler's CSVs, the
// operators torch_npu ran on the CPU instead of the NPU (from a run's log), and a short summary
// that names the recipes worth trying for the hottest generic operators.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kcat::bench {

struct OpStat {
  std::string op_type;    // "OP Type" (op_statistic.csv) or "Type" (kernel_details.csv)
  std::string core_type;  // AI_CORE, AI_VECTOR_CORE, AI_CPU, ... ("" when not reported)
  int64_t count = 0;
  double total_us = 0, avg_us = 0, min_us = 0, max_us = 0;
  double share = 0;  // total_us / Profile::total_us, 0..1 (recomputed, not the CSV's Ratio(%))
};

struct Profile {
  std::string source;       // the file (or the name given for text)
  std::vector<OpStat> ops;  // one per (op type, core type), summed over devices; by total time, descending
  double total_us = 0;
};

// Reads ASCEND_PROFILER_OUTPUT/op_statistic.csv (or kernel_details.csv, aggregated per Type).
// Columns are found by name; a UTF-8 BOM, CRLF, quoted fields and trailing tabs are tolerated.
// Throws Error(Io) for an unreadable file, Error(Parse) with "file:line" for a missing column or
// a bad number.
Profile parse_op_statistic(const std::filesystem::path& file);
Profile parse_op_statistic_text(std::string_view text, std::string_view source = "<text>");

struct CpuFallback {
  std::string op;    // "aten::bitwise_left_shift.Tensor_out"
  size_t count = 0;  // warnings seen (torch_npu warns once per op per process: ~ processes)
};

// Finds torch_npu's "operator ... will fall back to run on the CPU" warnings; by count, then name.
std::vector<CpuFallback> find_cpu_fallbacks(std::string_view log);

struct RecipeHint {
  std::string recipe;            // "fused-attention", "fused-rmsnorm", "fused-rotary", "native-moe"
  std::vector<std::string> ops;  // the profiled op types that point at it
  double share = 0;              // their summed share of device time
  std::string why;
};

struct Summary {
  std::string source;
  double total_us = 0;
  std::vector<OpStat> top;  // the top_n operators by time
  double top_share = 0;
  size_t op_types = 0;  // rows in the profile
  std::vector<CpuFallback> fallbacks;
  std::vector<RecipeHint> hints;  // by share, descending
};

Summary summarize(const Profile& profile, const std::vector<CpuFallback>& fallbacks, size_t top_n = 10);
// A few lines for a terminal: top operators with shares, every CPU fallback, the hints.
std::string render_text(const Summary& summary);
void to_json(nlohmann::json& j, const Summary& s);

// "MatMulV2" -> "MatMul", "ConcatD" -> "Concat", "aclnnSoftmax" -> "Softmax": the generic name the
// hint table uses.
std::string normalize_op_type(std::string_view op_type);

}  // namespace kcat::bench
