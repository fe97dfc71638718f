#include "triton_launches.h"

#include <re2/re2.h>

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/scan/analyzer.h"

namespace kcat::scan {

namespace {

// "pkg/sub/ops.py" -> "pkg.sub.ops"; "pkg/__init__.py" -> "pkg".
std::string module_of(std::string_view rel) {
  std::string m(rel.substr(0, rel.size() - 3));
  for (auto& c : m) {
    if (c == '/') c = '.';
  }
  if (m == "__init__") return "";
  if (m.ends_with(".__init__")) m.resize(m.size() - 9);
  return m;
}

// The package a relative import starts from: the module's own for an __init__.py, else its parent.
std::string package_of(std::string_view rel, const std::string& module) {
  if (rel.ends_with("__init__.py")) return module;
  auto dot = module.rfind('.');
  return dot == std::string::npos ? "" : module.substr(0, dot);
}

// `from ..a.b import` seen from `package`: "..a.b" -> the absolute module ("" when it climbs out).
std::string absolute(const std::string& package, std::string_view dots, std::string_view rest) {
  std::string base = package;
  for (size_t i = 1; i < dots.size(); ++i) {
    auto d = base.rfind('.');
    if (base.empty()) return "";
    base = d == std::string::npos ? "" : base.substr(0, d);
  }
  if (rest.empty()) return base;
  return base.empty() ? std::string(rest) : base + "." + std::string(rest);
}

struct Parsed {
  std::string rel, module, bytes;
};

// Each name decorated with triton.jit / autotune / heuristics (or jit / autotune / heuristics
// imported from triton), by module: the decorator, then the first `def NAME(` below it.
void index_kernels(const Parsed& p, std::map<std::string, std::set<std::string>>& kernels) {
  static const RE2 deco(R"(^\s*@\s*(triton\.)?(jit|autotune|heuristics)\b)");
  static const RE2 def(R"(^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\()");
  static const RE2 from_triton(R"((?m)^\s*from\s+triton\s+import\s+[^\n]*\b(jit|autotune|heuristics)\b)");
  const bool bare = RE2::PartialMatch(p.bytes, from_triton);
  std::string_view src = p.bytes;
  bool pending = false;
  for (size_t pos = 0; pos < src.size();) {
    size_t nl = src.find('\n', pos);
    std::string_view line = src.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? src.size() : nl + 1;
    re2::StringPiece lp(line.data(), line.size());
    std::string prefix;
    if (RE2::PartialMatch(lp, deco, &prefix) && (!prefix.empty() || bare)) {
      pending = true;
      continue;
    }
    std::string name;
    if (pending && RE2::PartialMatch(lp, def, &name)) {
      kernels[p.module].insert(name);
      pending = false;
    }
  }
}

struct Bindings {
  std::map<std::string, std::pair<std::string, std::string>> names;  // local -> (module, name)
  std::map<std::string, std::string> modules;                        // local alias -> module
};

Bindings bindings_of(const Parsed& p) {
  Bindings b;
  static const RE2 from_re(R"((?m)^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*))");
  static const RE2 import_re(R"((?m)^[ \t]*import[ \t]+([\w.]+)[ \t]+as[ \t]+(\w+))");
  static const RE2 item_re(R"(([A-Za-z_]\w*)(?:\s+as\s+([A-Za-z_]\w*))?)");
  const std::string package = package_of(p.rel, p.module);
  re2::StringPiece in(p.bytes);
  std::string dots, rest, names;
  while (RE2::FindAndConsume(&in, from_re, &dots, &rest, &names)) {
    auto module = dots.empty() ? rest : absolute(package, dots, rest);
    if (module.empty()) continue;
    re2::StringPiece items(names);
    std::string name, alias;
    while (RE2::FindAndConsume(&items, item_re, &name, &alias)) {
      auto local = alias.empty() ? name : alias;
      b.names[local] = {module, name};
      b.modules[local] = module + "." + name;  // `from pkg import ops as m`: m may be a module
    }
  }
  re2::StringPiece in2(p.bytes);
  std::string module, alias;
  while (RE2::FindAndConsume(&in2, import_re, &module, &alias)) b.modules[alias] = module;
  return b;
}

}  // namespace

std::vector<Finding> imported_triton_launches(const std::filesystem::path& root,
                                              const std::vector<Candidate>& files, const kb::Rule& rule,
                                              uint64_t max_size) {
  std::vector<Parsed> parsed;
  for (auto& f : files) {
    if (f.language != "python" || !f.rel.ends_with(".py") || f.size > max_size) continue;
    Parsed p;
    p.rel = f.rel;
    p.module = module_of(f.rel);
    try {
      p.bytes = read_file(root / f.rel);
    } catch (const Error&) {
      continue;
    }
    parsed.push_back(std::move(p));
  }
  std::map<std::string, std::set<std::string>> kernels;
  for (auto& p : parsed) {
    if (p.bytes.find("triton") == std::string::npos) continue;
    index_kernels(p, kernels);
    // A src/ layout imports pkg.x, not src.pkg.x.
    if (p.module.starts_with("src.") && kernels.count(p.module))
      kernels[p.module.substr(4)] = kernels[p.module];
  }
  std::vector<Finding> out;
  if (kernels.empty()) return out;
  static const RE2 launch(
      R"((?m)(?:^|[^\w.])(([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*))?)[ \t]*\[[^\]\n]*\][ \t]*\()");
  auto is_kernel = [&](const std::string& module, const std::string& name) {
    auto it = kernels.find(module);
    return it != kernels.end() && it->second.count(name);
  };
  for (auto& p : parsed) {
    if (p.bytes.find("](") == std::string::npos && p.bytes.find("] (") == std::string::npos) continue;
    Bindings b = bindings_of(p);
    if (b.names.empty() && b.modules.empty()) continue;
    std::unique_ptr<SourceFile> src;
    re2::StringPiece in(p.bytes);
    re2::StringPiece whole, head, attr;
    while (RE2::FindAndConsume(&in, launch, &whole, &head, &attr)) {
      std::string target;
      std::string h(head.data(), head.size());
      if (attr.empty()) {
        auto it = b.names.find(h);
        if (it != b.names.end() && is_kernel(it->second.first, it->second.second))
          target = it->second.first + "." + it->second.second;
      } else {
        auto it = b.modules.find(h);
        std::string a(attr.data(), attr.size());
        if (it != b.modules.end() && is_kernel(it->second, a)) target = it->second + "." + a;
      }
      if (target.empty()) continue;
      auto begin = static_cast<uint32_t>(whole.data() - p.bytes.data());
      // A launch in a comment line is no launch.
      auto line_start = p.bytes.rfind('\n', begin);
      line_start = line_start == std::string::npos ? 0 : line_start + 1;
      auto first = p.bytes.find_first_not_of(" \t", line_start);
      if (first != std::string::npos && p.bytes[first] == '#') continue;
      if (!src) src = std::make_unique<SourceFile>(p.rel, "python", p.bytes);
      auto f = make_finding(rule, *src, begin, begin + static_cast<uint32_t>(whole.size()));
      f.matched = target;
      f.message = "launches the Triton kernel " + target + ", defined in another module";
      out.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace kcat::scan
