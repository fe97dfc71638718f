#include "kcat/bench/tensors.h"

#include <fmt/format.h>

#include <re2/re2.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"

namespace kcat::bench {

namespace {

size_t dtype_size(const std::string& d) {
  if (d == "f64" || d == "i64") return 8;
  if (d == "f32" || d == "i32") return 4;
  if (d == "f16" || d == "bf16" || d == "i16") return 2;
  if (d == "i8" || d == "u8" || d == "bool") return 1;
  return 0;
}

double half_to_double(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  double v;
  if (exp == 0)
    v = std::ldexp(mant, -24);
  else if (exp == 31)
    v = mant ? NAN : INFINITY;
  else
    v = std::ldexp(mant + 1024, exp - 25);
  return sign ? -v : v;
}

double bf16_to_double(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Little-endian element `i` of `dtype` at `p` (x86 and aarch64 are little-endian, as the formats are).
double element(const std::string& d, const char* p) {
  if (d == "f64") {
    double v;
    std::memcpy(&v, p, 8);
    return v;
  }
  if (d == "f32") {
    float v;
    std::memcpy(&v, p, 4);
    return v;
  }
  if (d == "f16") {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return half_to_double(v);
  }
  if (d == "bf16") {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return bf16_to_double(v);
  }
  if (d == "i64") {
    int64_t v;
    std::memcpy(&v, p, 8);
    return static_cast<double>(v);
  }
  if (d == "i32") {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
  }
  if (d == "i16") {
    int16_t v;
    std::memcpy(&v, p, 2);
    return v;
  }
  if (d == "i8") {
    return static_cast<int8_t>(*p);
  }
  return static_cast<uint8_t>(*p);  // u8, bool
}

Tensor decode(const std::string& file, const std::string& dtype, std::vector<int64_t> shape,
              std::string_view data) {
  size_t es = dtype_size(dtype);
  if (es == 0)
    throw Error(ErrorKind::Parse, "unsupported dtype " + dtype, file,
                "supported: f64 f32 f16 bf16 i64 i32 i16 i8 u8 bool");
  // The element count and its byte size must not wrap: 2^32 x 2^32 elements is not 0 of them.
  size_t n = 1, bytes = 0;
  for (auto s : shape) {
    if (s < 0) throw Error(ErrorKind::Parse, fmt::format("negative dimension {} in the shape", s), file);
    if (__builtin_mul_overflow(n, static_cast<size_t>(s), &n))
      throw Error(ErrorKind::Parse, "the shape's element count overflows", file);
  }
  if (__builtin_mul_overflow(n, es, &bytes))
    throw Error(ErrorKind::Parse, "the shape's byte size overflows", file);
  if (data.size() < bytes) {
    throw Error(ErrorKind::Parse,
                fmt::format("truncated: {} bytes for {} elements of {}", data.size(), n, dtype), file);
  }
  Tensor t{dtype, std::move(shape), {}};
  t.values.reserve(n);
  for (size_t i = 0; i < n; ++i) t.values.push_back(element(dtype, data.data() + i * es));
  return t;
}

std::string npy_dtype(const std::string& descr, const std::string& file) {
  static const std::map<std::string, std::string> m = {{"<f8", "f64"}, {"<f4", "f32"}, {"<f2", "f16"},
                                                       {"<i8", "i64"}, {"<i4", "i32"}, {"<i2", "i16"},
                                                       {"|i1", "i8"},  {"|u1", "u8"},  {"|b1", "bool"}};
  auto it = m.find(descr);
  if (it == m.end()) throw Error(ErrorKind::Parse, "unsupported .npy dtype '" + descr + "'", file);
  return it->second;
}

std::map<std::string, Tensor> load_npy(const std::filesystem::path& path, const std::string& bytes) {
  auto file = path.string();
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw Error(ErrorKind::Parse, "not a .npy file", file);
  int major = static_cast<unsigned char>(bytes[6]);
  size_t hlen, off;
  if (major == 1) {
    hlen = static_cast<unsigned char>(bytes[8]) |
           (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    off = 10;
  } else {
    if (bytes.size() < 12) throw Error(ErrorKind::Parse, "truncated .npy header", file);
    hlen = 0;
    for (int i = 0; i < 4; ++i)
      hlen |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    off = 12;
  }
  if (bytes.size() < off + hlen) throw Error(ErrorKind::Parse, "truncated .npy header", file);
  std::string header = bytes.substr(off, hlen);
  std::string descr, order, shape_text;
  if (!RE2::PartialMatch(header, R"('descr':\s*'([^']+)')", &descr) ||
      !RE2::PartialMatch(header, R"('fortran_order':\s*(True|False))", &order) ||
      !RE2::PartialMatch(header, R"('shape':\s*\(([^)]*)\))", &shape_text)) {
    throw Error(ErrorKind::Parse, "bad .npy header: " + header, file);
  }
  if (order == "True")
    throw Error(ErrorKind::Parse, "Fortran-order arrays are not supported", file,
                "save with np.ascontiguousarray");
  std::vector<int64_t> shape;
  re2::StringPiece sp(shape_text);
  int64_t dim;
  while (RE2::FindAndConsume(&sp, R"((\d+))", &dim)) shape.push_back(dim);
  std::map<std::string, Tensor> out;
  out.emplace(path.stem().string(),
              decode(file, npy_dtype(descr, file), shape, std::string_view(bytes).substr(off + hlen)));
  return out;
}

std::map<std::string, Tensor> load_safetensors(const std::filesystem::path& path, const std::string& bytes) {
  auto file = path.string();
  if (bytes.size() < 8) throw Error(ErrorKind::Parse, "not a .safetensors file (too short)", file);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[static_cast<size_t>(i)])) << (8 * i);
  if (n > bytes.size() - 8) throw Error(ErrorKind::Parse, "truncated .safetensors header", file);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(8, n));
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Parse, std::string("bad .safetensors header: ") + e.what(), file);
  }
  static const std::map<std::string, std::string> dtypes = {
      {"F64", "f64"}, {"F32", "f32"}, {"F16", "f16"}, {"BF16", "bf16"}, {"I64", "i64"},
      {"I32", "i32"}, {"I16", "i16"}, {"I8", "i8"},   {"U8", "u8"},     {"BOOL", "bool"}};
  std::string_view data = std::string_view(bytes).substr(8 + n);
  std::map<std::string, Tensor> out;
  for (auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    // get_ref, not value(): GCC 12 reports a false null dereference inside json::value here.
    auto dt_it = info.find("dtype");
    std::string dtype_name =
        dt_it != info.end() && dt_it->is_string() ? dt_it->get_ref<const std::string&>() : "?";
    auto dt = dtypes.find(dtype_name);
    if (dt == dtypes.end())
      throw Error(ErrorKind::Parse, "unsupported dtype " + dtype_name + " of " + name, file);
    auto off_it = info.find("data_offsets");
    if (off_it == info.end() || !off_it->is_array() ||
        !std::all_of(off_it->begin(), off_it->end(), [](auto& d) { return d.is_number_unsigned(); }))
      throw Error(ErrorKind::Parse, "bad data_offsets of " + name, file);
    auto offsets = off_it->get<std::vector<uint64_t>>();
    if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data.size()) {
      throw Error(ErrorKind::Parse, "bad data_offsets of " + name, file);
    }
    auto shape = info.find("shape");
    if (shape == info.end() || !shape->is_array() ||
        !std::all_of(shape->begin(), shape->end(), [](auto& d) { return d.is_number_integer(); }))
      throw Error(ErrorKind::Parse, "the shape of " + name + " is not a list of integers", file);
    out.emplace(name, decode(file + ":" + name, dt->second, shape->get<std::vector<int64_t>>(),
                             data.substr(offsets[0], offsets[1] - offsets[0])));
  }
  return out;
}

}  // namespace

std::map<std::string, Tensor> load_tensors(const std::filesystem::path& file) {
  auto bytes = read_file(file);
  if (file.extension() == ".npy") return load_npy(file, bytes);
  if (file.extension() == ".safetensors") return load_safetensors(file, bytes);
  throw Error(ErrorKind::Usage, "unknown dump format", file.string(), "give a .npy or .safetensors file");
}

std::vector<Difference> compare(const std::map<std::string, Tensor>& ref,
                                const std::map<std::string, Tensor>& out, double base_rtol, double base_atol,
                                const DtypeTolerances& floors) {
  std::vector<Difference> diffs;
  // Single tensors compare with each other whatever their file names.
  bool single = ref.size() == 1 && out.size() == 1;
  for (auto& [name, r] : ref) {
    Difference d;
    d.name = name;
    auto it = single ? out.begin() : out.find(name);
    if (it == out.end()) {
      d.problem = "missing in the output";
      d.within = false;
      diffs.push_back(d);
      continue;
    }
    auto& o = it->second;
    if (o.shape != r.shape) {
      d.problem = "shape differs";
      d.within = false;
      diffs.push_back(d);
      continue;
    }
    if (o.dtype != r.dtype) d.problem = "dtype " + r.dtype + " vs " + o.dtype + " (compared as values)";
    double rtol = base_rtol, atol = base_atol;
    if (auto f = floors.find(r.dtype); f != floors.end() && o.dtype == r.dtype) {
      rtol = std::max(rtol, f->second.first);
      atol = std::max(atol, f->second.second);
    }
    for (size_t i = 0; i < r.values.size(); ++i) {
      double a = r.values[i], b = o.values[i];
      double abs_err = std::fabs(a - b);
      if (std::isnan(a) != std::isnan(b)) abs_err = INFINITY;
      if (std::isnan(a) && std::isnan(b)) abs_err = 0;
      double rel = a != 0 ? abs_err / std::fabs(a) : (abs_err == 0 ? 0 : INFINITY);
      if (abs_err > atol + rtol * std::fabs(a)) ++d.mismatches;
      if (abs_err > d.max_abs || (i == 0 && abs_err > 0)) {
        d.max_abs = abs_err;
        d.worst_index = i;
        d.worst_ref = a;
        d.worst_out = b;
      }
      d.max_rel = std::max(d.max_rel, rel);
    }
    d.within = d.mismatches == 0;
    diffs.push_back(d);
  }
  for (auto& [name, o] : out) {
    if (!single && !ref.count(name)) diffs.push_back({name, "not in the reference", 0, 0, 0, 0, 0, 0, false});
  }
  return diffs;
}

}  // namespace kcat::bench
