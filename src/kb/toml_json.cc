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

namespace {

std::string where_of(const toml::node& n, const std::string& where) {
  if (!where.empty()) return where;
  const auto& src = n.source();
  return fmt::format("{}:{}", src.path ? *src.path : std::string("(TOML)"), src.begin.line);
}

}  // namespace

std::string text_field(const toml::table& t, std::string_view key, const std::string& where,
                       const std::string& hint) {
  const auto* node = t.get(key);
  if (!node) return {};
  if (node->is_string()) return node->value_or(std::string{});
  throw Error(ErrorKind::Usage, fmt::format("'{}' must be text", key), where_of(*node, where),
              hint.empty() ? fmt::format("write {} = \"...\"", key) : hint);
}

std::vector<std::string> string_list(const toml::table& t, std::string_view key, const std::string& where,
                                     const std::string& hint) {
  std::vector<std::string> out;
  const auto* node = t.get(key);
  if (!node) return out;
  if (node->is_string()) return {node->value_or(std::string{})};
  const auto* arr = node->as_array();
  auto bad = [&] {
    return Error(ErrorKind::Usage, fmt::format("'{}' must be text or a list of text", key),
                 where_of(*node, where), hint.empty() ? fmt::format("write {} = [\"...\"]", key) : hint);
  };
  if (!arr) throw bad();
  for (const auto& v : *arr) {
    if (!v.is_string()) throw bad();
    out.push_back(v.value_or(std::string{}));
  }
  return out;
}

}  // namespace kcat::kb
