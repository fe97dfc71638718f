#include "kcat/kb/npu_surface.h"

#include "kcat/core/error.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

NpuOverload parse_npu_schema(std::string_view params) {
  NpuOverload o;
  if (params == "...") {
    o.any = true;
    return o;
  }
  bool keyword_only = false;
  int depth = 0;
  size_t start = 0;
  auto take = [&](std::string_view p) {
    auto b = p.find_first_not_of(' ');
    if (b == std::string_view::npos) return;
    p = p.substr(b, p.find_last_not_of(' ') - b + 1);
    if (p == "*") {
      keyword_only = true;
      return;
    }
    p = p.substr(0, p.find('='));
    while (!p.empty() && p.back() == ' ') p.remove_suffix(1);
    auto sp = p.rfind(' ');
    o.params.emplace_back(sp == std::string_view::npos ? p : p.substr(sp + 1));
    if (!keyword_only) ++o.positional;
  };
  char quote = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    char c = params[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') quote = c;
    if (c == '[' || c == '(') ++depth;
    if (c == ']' || c == ')') --depth;
    if (c == ',' && depth == 0) {
      take(params.substr(start, i - start));
      start = i + 1;
    }
  }
  take(params.substr(start));
  return o;
}

NpuSurface load_npu_surface(const std::filesystem::path& data_dir) {
  NpuSurface s;
  auto file = data_dir / "torch_npu_surface.toml";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return s;
  auto doc = parse_toml_file(file);
  const std::string where = file.string();
  s.torch = text_field(doc, "torch");
  s.source = "op-plugin@" + text_field(doc, "op_plugin_commit").substr(0, 8) + ", Ascend/pytorch@" +
             text_field(doc, "pytorch_commit").substr(0, 8);
  for (auto& n : string_list(doc, "npu_module", where)) s.npu_module.insert(n);
  if (auto* ops = doc["ops"].as_table()) {
    for (auto& [name, v] : *ops) {
      auto* arr = v.as_array();
      if (!arr)
        throw Error(ErrorKind::Usage, "ops." + std::string(name.str()) + " must be a list of schemas", where);
      for (auto& x : *arr) {
        auto schema = x.value<std::string>();
        if (!schema)
          throw Error(ErrorKind::Usage, "ops." + std::string(name.str()) + ": a schema is a string", where);
        s.ops[std::string(name.str())].push_back(parse_npu_schema(*schema));
      }
    }
  }
  return s;
}

const NpuSurface& npu_surface() {
  static const NpuSurface s = load_npu_surface(default_data_dir());
  return s;
}

}  // namespace kcat::kb
