#include "kcat/kb/toml_json.h"

#include <fmt/format.h>

#include "kcat/core/error.h"

namespace kcat::kb {

nlohmann::json toml_to_json(const toml::node& node) {
  if (auto* t = node.as_table()) {
    auto j = nlohmann::json::object();
    for (auto& [k, v] : *t) j[std::string(k.str())] = toml_to_json(v);
    return j;
  }
  if (auto* a = node.as_array()) {
    auto j = nlohmann::json::array();
    for (auto& v : *a) j.push_back(toml_to_json(v));
    return j;
  }
  if (auto s = node.value<std::string>()) return *s;
  if (node.is_integer()) return node.value<int64_t>().value_or(0);
  if (node.is_floating_point()) return node.value<double>().value_or(0.0);
  if (auto b = node.value<bool>()) return *b;
  // Dates and times: their TOML text form.
  std::ostringstream ss;
  if (auto* d = node.as_date())
    ss << *d;
  else if (auto* t = node.as_time())
    ss << *t;
  else if (auto* dt = node.as_date_time())
    ss << *dt;
  return ss.str();
}

toml::table parse_toml_file(const std::filesystem::path& file, const std::string& hint) {
  try {
    return toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw Error(ErrorKind::Usage, "invalid TOML: " + std::string(e.description()),
                fmt::format("{}:{}:{}", file.string(), e.source().begin.line, e.source().begin.column), hint);
  }
}

std::vector<std::string> string_list(const toml::table& t, const char* key, const std::string& where,
                                     const std::string& hint) {
  std::vector<std::string> out;
  const auto* node = t.get(key);
  if (!node) return out;
  if (auto s = node->value<std::string>()) return {*s};
  const auto* arr = node->as_array();
  auto bad = [&] {
    return Error(ErrorKind::Usage, fmt::format("'{}' must be a string or a list of strings", key), where,
                 hint);
  };
  if (!arr) throw bad();
  for (const auto& v : *arr) {
    auto s = v.value<std::string>();
    if (!s) throw bad();
    out.push_back(*s);
  }
  return out;
}

}  // namespace kcat::kb
