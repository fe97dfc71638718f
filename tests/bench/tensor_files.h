#pragma once
// Writes .npy and .safetensors files byte by byte, as numpy and safetensors lay them out.
#include <cstring>
#include <string>
#include <vector>

#include "testsupport/support.h"

namespace kcat::bench::testfiles {

inline std::string f32_bytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

inline std::string npy(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((10 + dict.size() + 1) % 64) dict += ' ';
  dict += '\n';
  std::string h = std::string("\x93NUMPY\x01\x00", 8);
  h += static_cast<char>(dict.size() & 0xff);
  h += static_cast<char>(dict.size() >> 8);
  return h + dict + data;
}

inline std::string safetensors(const std::string& header_json, const std::string& data) {
  std::string h(8, '\0');
  uint64_t n = header_json.size();
  for (int i = 0; i < 8; ++i) h[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return h + header_json + data;
}

}  // namespace kcat::bench::testfiles
