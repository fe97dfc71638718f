#include "kcat/bench/profile.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include "kcat/core/error.h"
#include "kcat/core/text.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/profile_hints.h"

namespace kcat::bench {

namespace {

// ---- CSV -------------------------------------------------------------------------------------

struct Record {
  size_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

// RFC 4180 plus what the profiler and spreadsheets add: a BOM, CRLF, blank lines.
std::vector<Record> read_csv(std::string_view text, std::string_view source) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<Record> out;
  Record rec;
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1;
  rec.line = 1;
  auto end_field = [&] {
    rec.fields.push_back(field);
    field.clear();
    field_started = false;
  };
  auto end_record = [&] {
    end_field();
    bool blank = rec.fields.size() == 1 && trim_view(rec.fields[0]).empty();
    if (!blank) out.push_back(std::move(rec));
    rec = Record{};
    rec.line = line;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && trim_view(field).empty()) {
      field.clear();
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n') {
      ++line;
      end_record();
    } else if (c == '\r') {
      // CRLF: the '\n' ends the record.
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted)
    throw Error(ErrorKind::Parse, "unterminated quoted field", fmt::format("{}:{}", source, rec.line));
  if (field_started || !field.empty() || !rec.fields.empty()) end_record();
  return out;
}

class Columns {
 public:
  Columns(const Record& header, std::string_view source) : source_(source), line_(header.line) {
    for (size_t i = 0; i < header.fields.size(); ++i) index_.emplace(lower(trim_view(header.fields[i])), i);
  }
  // The first of `names` present in the header.
  std::optional<size_t> find(std::initializer_list<std::string_view> names) const {
    for (auto n : names) {
      auto it = index_.find(lower(n));
      if (it != index_.end()) return it->second;
    }
    return std::nullopt;
  }
  size_t require(std::initializer_list<std::string_view> names, std::string_view what) const {
    if (auto i = find(names)) return *i;
    throw Error(ErrorKind::Parse, fmt::format("{} has no \"{}\" column", what, *names.begin()),
                fmt::format("{}:{}", source_, line_),
                "pass ASCEND_PROFILER_OUTPUT/op_statistic.csv or kernel_details.csv as written by the "
                "torch_npu profiler");
  }

 private:
  std::string source_;
  size_t line_;
  std::map<std::string, size_t> index_;
};

double number(const Record& r, std::optional<size_t> col, std::string_view name, std::string_view source,
              bool required) {
  std::string_view v = (col && *col < r.fields.size()) ? trim_view(r.fields[*col]) : std::string_view{};
  if (v.empty() || v == "N/A") {
    if (!required) return 0;
    throw Error(ErrorKind::Parse, fmt::format("no value in column \"{}\"", name),
                fmt::format("{}:{}", source, r.line));
  }
  double d = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc{} || p != v.data() + v.size()) {
    throw Error(ErrorKind::Parse, fmt::format("\"{}\" in column \"{}\" is not a number", v, name),
                fmt::format("{}:{}", source, r.line));
  }
  return d;
}

std::string text_field(const Record& r, std::optional<size_t> col) {
  if (!col || *col >= r.fields.size()) return {};
  return std::string(trim_view(r.fields[*col]));
}

}  // namespace

std::string normalize_op_type(std::string_view op) {
  op = trim_view(op);
  if (op.substr(0, 5) == "aclnn") op.remove_prefix(5);
  // Version suffixes: MatMulV2, SoftmaxV2, GatherV2, TopKV2.
  size_t digits = op.size();
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(op[digits - 1]))) --digits;
  if (digits < op.size() && digits >= 2 && op[digits - 1] == 'V' &&
      std::isalpha(static_cast<unsigned char>(op[digits - 2]))) {
    op = op.substr(0, digits - 1);
  }
  // Constant-folded "D" variants: ConcatD, ReduceMeanD, PadD.
  if (op.size() > 2 && op.back() == 'D' && std::islower(static_cast<unsigned char>(op[op.size() - 2]))) {
    op.remove_suffix(1);
  }
  return std::string(op);
}

Profile parse_op_statistic_text(std::string_view text, std::string_view source) {
  auto records = read_csv(text, source);
  if (records.empty()) {
    throw Error(
        ErrorKind::Parse, "empty profile: no header row", fmt::format("{}:1", source),
        "the profiler writes op_statistic.csv only after the profiling session is stopped and parsed");
  }
  Columns cols(records.front(), source);
  // op_statistic.csv fields, per CANN's profiling reference "op_statistic (Operator Calling Times and Time
  // Consumption)" (https://www.hiascend.com/document/detail/en/canncommercial/800/devaids/profiling/
  // atlasprofiling_16_0068.html): Device_id, [Model Name], OP Type, Core Type, Count, Total Time(us),
  // Avg/Min/Max Time(us), Ratio(%). CANN 6.0 wrote "Total Time" without the unit. Columns are looked up by
  // name, so their order does not matter. kernel_details.csv has one row per kernel launch (Name, Type,
  // Accelerator Core, Duration(us), ...) and is summed per Type here.
  bool kernel_details =
      !cols.find({"OP Type", "Op Type"}) && cols.find({"Type"}) && cols.find({"Duration(us)"});
  struct Key {
    std::string op, core;
    bool operator<(const Key& o) const { return std::tie(op, core) < std::tie(o.op, o.core); }
  };
  std::map<Key, OpStat> agg;
  if (kernel_details) {
    auto type = cols.require({"Type"}, "kernel_details.csv");
    auto dur = cols.require({"Duration(us)"}, "kernel_details.csv");
    auto core = cols.find({"Accelerator Core", "Task Type"});
    for (size_t i = 1; i < records.size(); ++i) {
      const auto& r = records[i];
      double d = number(r, dur, "Duration(us)", source, true);
      Key k{text_field(r, type), text_field(r, core)};
      auto& s = agg[k];
      if (s.count == 0 || d < s.min_us) s.min_us = d;
      s.max_us = std::max(s.max_us, d);
      s.count += 1;
      s.total_us += d;
    }
  } else {
    auto type = cols.require({"OP Type", "Op Type"}, "op_statistic.csv");
    auto count = cols.require({"Count"}, "op_statistic.csv");
    auto total = cols.require({"Total Time(us)", "Total Time"}, "op_statistic.csv");
    auto core = cols.find({"Core Type"});
    auto mn = cols.find({"Min Time(us)", "Min Time"});
    auto mx = cols.find({"Max Time(us)", "Max Time"});
    for (size_t i = 1; i < records.size(); ++i) {
      const auto& r = records[i];
      auto op = text_field(r, type);
      if (op.empty()) {
        throw Error(ErrorKind::Parse, "no value in column \"OP Type\"", fmt::format("{}:{}", source, r.line));
      }
      auto c = static_cast<int64_t>(number(r, count, "Count", source, true));
      double t = number(r, total, "Total Time(us)", source, true);
      double lo = number(r, mn, "Min Time(us)", source, false);
      double hi = number(r, mx, "Max Time(us)", source, false);
      // One row per device when several were profiled: sum them.
      auto& s = agg[Key{op, text_field(r, core)}];
      if (s.count == 0 || (mn && lo < s.min_us)) s.min_us = lo;
      s.max_us = std::max(s.max_us, hi);
      s.count += c;
      s.total_us += t;
    }
  }
  Profile p;
  p.source = std::string(source);
  for (auto& [k, s] : agg) {
    s.op_type = k.op;
    s.core_type = k.core;
    s.avg_us = s.count ? s.total_us / static_cast<double>(s.count) : 0;
    p.total_us += s.total_us;
    p.ops.push_back(std::move(s));
  }
  for (auto& s : p.ops) s.share = p.total_us > 0 ? s.total_us / p.total_us : 0;
  std::stable_sort(p.ops.begin(), p.ops.end(), [](const OpStat& a, const OpStat& b) {
    if (a.total_us != b.total_us) return a.total_us > b.total_us;
    return a.op_type < b.op_type;
  });
  return p;
}

Profile parse_op_statistic(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(ErrorKind::Io, "cannot read the profile " + file.string(), file.string(),
                "torch_npu writes it under <dir>/<worker>_ascend_pt/ASCEND_PROFILER_OUTPUT/op_statistic.csv");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_op_statistic_text(ss.str(), file.string());
}

std::vector<CpuFallback> find_cpu_fallbacks(std::string_view log) {
  // torch_npu's boxed PrivateUse1 fallback (Ascend/pytorch torch_npu/csrc/aten/VariableFallbackKernel.cpp,
  // npu_cpu_fallback) warns, once per operator per process:
  //   TORCH_NPU_WARN("CAUTION: The operator '", op.schema().operator_name(), "' is not currently supported ",
  //                  "on the NPU backend and will fall back to run on the CPU.", " This may have performance
  //                  implications.");
  // which shows up in logs as e.g. "[W610 18:26:03.05 VariableFallbackKernel.cpp:250] Warning: CAUTION: The
  // operator 'aten::bitwise_left_shift.Tensor_out' is not currently supported on the NPU backend and will
  // fall back to run on the CPU. ...". "CAUTION: " is optional so older builds' wording (upstream PyTorch's
  // fallback text, which torch_npu's is derived from) matches too.
  static const RE2 re(
      R"((?:CAUTION: )?The operator '([^']+)' is not currently (?:supported|implemented) on the NPU backend and will fall back to run on the CPU)");
  std::map<std::string, size_t> counts;
  re2::StringPiece input(log.data(), log.size());
  std::string op;
  while (RE2::FindAndConsume(&input, re, &op)) ++counts[op];
  std::vector<CpuFallback> out;
  for (auto& [name, n] : counts) out.push_back({name, n});
  std::stable_sort(out.begin(), out.end(),
                   [](const CpuFallback& a, const CpuFallback& b) { return a.count > b.count; });
  return out;
}

Summary summarize(const Profile& profile, const std::vector<CpuFallback>& fallbacks, size_t top_n) {
  Summary s;
  s.source = profile.source;
  s.total_us = profile.total_us;
  s.op_types = profile.ops.size();
  for (size_t i = 0; i < profile.ops.size() && i < top_n; ++i) {
    s.top.push_back(profile.ops[i]);
    s.top_share += profile.ops[i].share;
  }
  s.fallbacks = fallbacks;

  // normalized name -> the profiled ops with that name (several core types or versions)
  std::map<std::string, std::vector<const OpStat*>> present;
  for (const auto& op : profile.ops) present[normalize_op_type(op.op_type)].push_back(&op);
  auto has = [&](std::string_view n) { return !n.empty() && present.count(std::string(n)) > 0; };

  std::map<std::string, RecipeHint> hints;
  std::map<std::string, std::set<const OpStat*>> counted;
  // patches/profile_hints.toml, loaded once.
  static const auto rules = kb::load_profile_hints(kb::default_data_dir(), normalize_op_type);
  for (const auto& rule : rules) {
    if (std::any_of(rule.fused.begin(), rule.fused.end(), has)) continue;
    for (const auto& signature : rule.signatures) {
      if (!std::all_of(signature.begin(), signature.end(), has)) continue;
      auto& h = hints[rule.recipe];
      auto& seen = counted[rule.recipe];
      h.recipe = rule.recipe;
      h.why = rule.why;
      auto add = [&](std::string_view n) {
        if (!has(n)) return;
        for (const OpStat* op : present[std::string(n)]) {
          if (!seen.insert(op).second) continue;
          h.share += op->share;
          if (std::find(h.ops.begin(), h.ops.end(), op->op_type) == h.ops.end()) h.ops.push_back(op->op_type);
        }
      };
      for (const auto& n : signature) add(n);
      for (const auto& n : rule.related) add(n);
    }
  }
  for (auto& [_, h] : hints) s.hints.push_back(std::move(h));
  std::stable_sort(s.hints.begin(), s.hints.end(),
                   [](const RecipeHint& a, const RecipeHint& b) { return a.share > b.share; });
  return s;
}

std::string render_text(const Summary& s) {
  std::string out = fmt::format("{}: {:.1f} ms of device time in {} operator types\n", s.source,
                                s.total_us / 1000.0, s.op_types);
  if (!s.top.empty()) {
    out += fmt::format("top {} ({:.1f}% of the time):\n", s.top.size(), s.top_share * 100);
    for (const auto& op : s.top) {
      out += fmt::format("  {:>5.1f}%  {:>10.1f} us  {:>7} x  {}{}\n", op.share * 100, op.total_us, op.count,
                         op.op_type, op.core_type.empty() ? "" : " (" + op.core_type + ")");
    }
  }
  if (s.fallbacks.empty()) {
    out += "CPU fallbacks: none seen\n";
  } else {
    out += fmt::format(
        "CPU fallbacks ({}): these operators ran on the CPU, copying tensors to and from the NPU:\n",
        s.fallbacks.size());
    for (const auto& f : s.fallbacks) out += fmt::format("  {} ({}x)\n", f.op, f.count);
  }
  for (const auto& h : s.hints) {
    std::string ops;
    for (const auto& o : h.ops) ops += (ops.empty() ? "" : ", ") + o;
    out += fmt::format("hint: recipe {} ({:.1f}% in {}): {}\n", h.recipe, h.share * 100, ops, h.why);
  }
  return out;
}

void to_json(nlohmann::json& j, const Summary& s) {
  j = nlohmann::json::object();
  j["source"] = s.source;
  j["total_us"] = s.total_us;
  j["op_types"] = s.op_types;
  j["top_share"] = s.top_share;
  auto& top = j["top"] = nlohmann::json::array();
  for (const auto& op : s.top) {
    top.push_back({{"op_type", op.op_type},
                   {"core_type", op.core_type},
                   {"count", op.count},
                   {"total_us", op.total_us},
                   {"avg_us", op.avg_us},
                   {"min_us", op.min_us},
                   {"max_us", op.max_us},
                   {"share", op.share}});
  }
  auto& fb = j["cpu_fallbacks"] = nlohmann::json::array();
  for (const auto& f : s.fallbacks) fb.push_back({{"op", f.op}, {"count", f.count}});
  auto& hs = j["hints"] = nlohmann::json::array();
  for (const auto& h : s.hints)
    hs.push_back({{"recipe", h.recipe}, {"ops", h.ops}, {"share", h.share}, {"why", h.why}});
}

}  // namespace kcat::bench
