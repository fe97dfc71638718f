#include "kcat/patch/semantic_check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/kb/npu_surface.h"
#include "kcat/scan/parser.h"

namespace kcat::patch {

namespace {

bool is(TSNode n, const char* t) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), t) == 0; }

TSNode field(TSNode n, const char* name) {
  return ts_node_child_by_field_name(n, name, static_cast<uint32_t>(std::strlen(name)));
}

template <class F>
void each(TSNode root, F&& f) {
  scan::each_named_node(root, std::forward<F>(f));
}

std::string squeeze(std::string_view t) {
  std::string s;
  for (char c : t) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\\') s += c;
  }
  return s;
}

uint32_t line_of(const std::string& bytes, uint32_t at) {
  return 1 + static_cast<uint32_t>(
                 std::count(bytes.begin(), bytes.begin() + std::min<size_t>(at, bytes.size()), '\n'));
}

// A string a test compares: an operand of ==, in, ... (through parentheses and a tuple / list /
// set), a dict key, a match case's pattern, startswith / endswith's argument.
bool compared(TSNode s, const std::string& bytes) {
  TSNode e = s;
  TSNode p = ts_node_parent(e);
  while (is(p, "parenthesized_expression") || is(p, "tuple") || is(p, "list") || is(p, "set") ||
         is(p, "concatenated_string")) {
    e = p;
    p = ts_node_parent(e);
  }
  if (is(p, "comparison_operator")) return true;
  if (is(p, "pair") && ts_node_eq(field(p, "key"), e)) return true;
  if (is(p, "argument_list")) {
    TSNode fn = field(ts_node_parent(p), "function");
    if (!is(fn, "attribute")) return false;
    auto attr = scan::node_text(field(fn, "attribute"), bytes);
    return attr == "startswith" || attr == "endswith";
  }
  for (TSNode a = p; !ts_node_is_null(a) && !is(a, "block") && !is(a, "module"); a = ts_node_parent(a)) {
    if (is(a, "case_clause")) {
      TSNode body = field(a, "consequence");
      return ts_node_is_null(body) || ts_node_start_byte(e) < ts_node_start_byte(body);
    }
  }
  return false;
}

bool env_like(std::string_view t) {
  // The text between the quotes.
  auto q = t.find_first_of("'\"");
  if (q == std::string_view::npos) return false;
  auto inner = t.substr(q);
  while (!inner.empty() && (inner.front() == '\'' || inner.front() == '"')) inner.remove_prefix(1);
  while (!inner.empty() && (inner.back() == '\'' || inner.back() == '"')) inner.remove_suffix(1);
  return !inner.empty() && std::all_of(inner.begin(), inner.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

struct Literal {
  std::string text;
  uint32_t begin = 0;
};

std::vector<Literal> compared_literals(TSNode root, const std::string& bytes) {
  std::vector<Literal> out;
  each(root, [&](TSNode n) {
    if (!is(n, "string") || !compared(n, bytes)) return;
    auto t = std::string(scan::node_text(n, bytes));
    if (!env_like(t)) out.push_back({t, ts_node_start_byte(n)});
  });
  return out;
}

std::optional<std::string> swapped_comparison(const std::string& file, const std::string& old,
                                              TSNode old_root, const std::string& now, TSNode new_root,
                                              const std::vector<Edit>& edits) {
  auto before = compared_literals(old_root, old);
  auto after = compared_literals(new_root, now);
  std::multiset<std::string> removed, added;
  for (auto& l : before) removed.insert(l.text);
  for (auto& l : after) {
    auto it = removed.find(l.text);
    if (it != removed.end()) {
      removed.erase(it);
    } else {
      added.insert(l.text);
    }
  }
  // The swaps the analyzer proved: the old literal and what the edit makes of it.
  for (auto& e : edits) {
    if (!e.proven_compared) continue;
    TSNode s = ts_node_descendant_for_byte_range(old_root, e.begin, e.end);
    while (!ts_node_is_null(s) && !is(s, "string")) s = ts_node_parent(s);
    if (ts_node_is_null(s)) continue;
    auto t = std::string(scan::node_text(s, old));
    uint32_t at = e.begin - ts_node_start_byte(s);
    auto made =
        t.substr(0, at) + e.replacement + t.substr(std::min<size_t>(t.size(), e.end - ts_node_start_byte(s)));
    if (auto it = removed.find(t); it != removed.end()) removed.erase(it);
    if (auto it = added.find(made); it != added.end()) added.erase(it);
  }
  if (removed.empty() || added.empty()) return std::nullopt;
  uint32_t where = 0;
  for (auto& l : before) {
    if (removed.count(l.text)) {
      where = l.begin;
      break;
    }
  }
  return fmt::format(
      "{}:{}: the step swaps a compared string literal ({} -> {}) in a test (==, in, match case, dict key): "
      "that "
      "changes which branch runs, and kcat did not prove the other operand takes the new value",
      file, line_of(old, where), *removed.begin(), *added.begin());
}

// Condition texts that an if/elif chain tests more than once.
std::multiset<std::string> repeated_conditions(TSNode root, const std::string& bytes,
                                               std::map<std::string, uint32_t>* where = nullptr) {
  std::multiset<std::string> out;
  each(root, [&](TSNode n) {
    if (!is(n, "if_statement")) return;
    std::set<std::string> seen;
    auto add = [&](TSNode cond) {
      if (ts_node_is_null(cond)) return;  // broken code
      auto t = squeeze(scan::node_text(cond, bytes));
      if (!seen.insert(t).second) {
        out.insert(t);
        if (where) (*where)[t] = ts_node_start_byte(cond);
      }
    };
    add(field(n, "condition"));
    for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
      TSNode c = ts_node_named_child(n, i);
      if (is(c, "elif_clause")) add(field(c, "condition"));
    }
  });
  return out;
}

std::optional<std::string> shadowed_branch(const std::string& file, const std::string& old, TSNode old_root,
                                           const std::string& now, TSNode new_root) {
  auto was = repeated_conditions(old_root, old);
  std::map<std::string, uint32_t> where;
  auto is_now = repeated_conditions(new_root, now, &where);
  for (auto& c : is_now) {
    if (is_now.count(c) > was.count(c)) {
      return fmt::format(
          "{}:{}: the step leaves an if/elif chain testing `{}` twice: the later branch can never run", file,
          line_of(now, where[c]), c);
    }
  }
  return std::nullopt;
}

// Names a module binds at its top level (through if / try / with blocks, not into functions).
// Nothing when it defines __getattr__ or star-imports: then any name may exist.
std::optional<std::set<std::string>> module_names(const std::string& bytes) {
  auto tree = scan::parse("python", bytes);
  std::set<std::string> names;
  bool open = false;
  std::vector<TSNode> stack{ts_tree_root_node(tree.get())};
  auto text = [&](TSNode n) {
    return ts_node_is_null(n) ? std::string() : std::string(scan::node_text(n, bytes));
  };
  while (!stack.empty()) {
    TSNode n = stack.back();
    stack.pop_back();
    for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
      TSNode c = ts_node_named_child(n, i);
      if (is(c, "decorated_definition")) c = field(c, "definition");
      if (is(c, "function_definition") || is(c, "class_definition")) {
        names.insert(text(field(c, "name")));
      } else if (is(c, "expression_statement")) {
        each(c, [&](TSNode a) {
          if (!is(a, "assignment") && !is(a, "augmented_assignment")) return;
          each(field(a, "left"), [&](TSNode id) {
            if (is(id, "identifier")) names.insert(text(id));
          });
        });
      } else if (is(c, "import_statement")) {
        for (uint32_t k = 0; k < ts_node_named_child_count(c); ++k) {
          TSNode m = ts_node_named_child(c, k);
          if (is(m, "aliased_import")) {
            names.insert(text(field(m, "alias")));
          } else {
            auto t = text(m);
            names.insert(t.substr(0, t.find('.')));
          }
        }
      } else if (is(c, "import_from_statement")) {
        TSNode mod = field(c, "module_name");
        for (uint32_t k = 0; k < ts_node_named_child_count(c); ++k) {
          TSNode m = ts_node_named_child(c, k);
          if (ts_node_eq(m, mod)) continue;
          if (is(m, "wildcard_import")) open = true;
          if (is(m, "aliased_import")) names.insert(text(field(m, "alias")));
          if (is(m, "dotted_name")) names.insert(text(m));
        }
      } else if (is(c, "future_import_statement")) {
        continue;
      } else if (is(c, "if_statement") || is(c, "try_statement") || is(c, "with_statement") ||
                 is(c, "block") || is(c, "else_clause") || is(c, "elif_clause") || is(c, "except_clause") ||
                 is(c, "finally_clause") || is(c, "for_statement") || is(c, "while_statement")) {
        stack.push_back(c);
      }
    }
  }
  if (open || names.count("__getattr__")) return std::nullopt;
  return names;
}

std::optional<std::string> missing_import(const std::filesystem::path& root, const std::string& file,
                                          const std::string& old, TSNode old_root, const std::string& now,
                                          TSNode new_root) {
  std::set<std::string> had;
  each(old_root, [&](TSNode n) {
    if (is(n, "import_from_statement")) had.insert(squeeze(scan::node_text(n, old)));
  });
  std::optional<std::string> reason;
  each(new_root, [&](TSNode n) {
    if (reason || !is(n, "import_from_statement") || had.count(squeeze(scan::node_text(n, now)))) return;
    TSNode mod = field(n, "module_name");
    std::filesystem::path dir;
    std::string dotted;
    if (is(mod, "relative_import")) {
      auto t = std::string(scan::node_text(mod, now));
      size_t dots = t.find_first_not_of('.');
      if (dots == std::string::npos) dots = t.size();
      dir = std::filesystem::path(file).parent_path();
      for (size_t i = 1; i < dots; ++i) dir = dir.parent_path();
      dotted = t.substr(dots);
    } else if (is(mod, "dotted_name")) {
      dotted = std::string(scan::node_text(mod, now));
    } else {
      return;
    }
    auto rel = dir;
    for (size_t b = 0; b < dotted.size();) {
      auto e = dotted.find('.', b);
      if (e == std::string::npos) e = dotted.size();
      rel /= dotted.substr(b, e - b);
      b = e + 1;
    }
    std::error_code ec;
    std::filesystem::path pkg_dir;
    std::filesystem::path module = root / rel;
    if (module.has_filename() && std::filesystem::is_regular_file(root / (rel.string() + ".py"), ec)) {
      module = root / (rel.string() + ".py");
    } else if (std::filesystem::is_regular_file(root / rel / "__init__.py", ec)) {
      pkg_dir = root / rel;
      module = pkg_dir / "__init__.py";
    } else if (!is(mod, "relative_import") &&
               std::filesystem::is_regular_file(
                   root / std::filesystem::path(file).parent_path() / (rel.string() + ".py"), ec)) {
      // A script's own directory is sys.path[0]: `from helper import x` next to it.
      module = root / std::filesystem::path(file).parent_path() / (rel.string() + ".py");
    } else {
      return;  // not a module of the repository
    }
    std::optional<std::set<std::string>> names;
    try {
      names = module_names(read_file(module));
    } catch (const Error&) {
      return;
    }
    if (!names) return;
    for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
      TSNode c = ts_node_named_child(n, i);
      if (ts_node_eq(c, mod)) continue;
      TSNode name = is(c, "aliased_import") ? field(c, "name") : c;
      if (!is(name, "dotted_name")) continue;
      auto t = std::string(scan::node_text(name, now));
      if (names->count(t)) continue;
      if (!pkg_dir.empty() && (std::filesystem::exists(pkg_dir / (t + ".py"), ec) ||
                               std::filesystem::is_directory(pkg_dir / t, ec))) {
        continue;  // a submodule
      }
      reason = fmt::format("{}:{}: the step adds `{}`, but {} defines no `{}`", file,
                           ts_node_start_point(n).row + 1, squeeze(scan::node_text(n, now)),
                           relative_slash(root, module), t);
      return;
    }
  });
  return reason;
}

// (d) A use of torch_npu the step adds that its API surface (kb/npu_surface.h) does not have:
// `torch.npu.X` / `torch_npu.npu.X` where torch_npu.npu has no X; `torch_npu.npu_X(...)` /
// `torch.ops.npu.X(...)` where the surface has no such op; or such a call with a keyword no overload
// accepts, or more positional arguments than any overload takes. Uses the old file already had
// (the same text) are not the step's. Aliases (`import torch_npu as t`) are not followed.
std::optional<std::string> npu_api_misuse(const std::string& file, const std::string& old, TSNode old_root,
                                          const std::string& now, TSNode new_root,
                                          const kb::NpuSurface& api) {
  // Every form checked below names "npu": a file without it is not walked.
  if (api.empty() || now.find("npu") == std::string::npos) return std::nullopt;
  auto attribute_texts = [](TSNode root, const std::string& bytes) {
    std::set<std::string> out;
    each(root, [&](TSNode n) {
      if (is(n, "attribute") || is(n, "call")) out.insert(squeeze(scan::node_text(n, bytes)));
    });
    return out;
  };
  const auto had = attribute_texts(old_root, old);
  std::optional<std::string> reason;
  auto at = [&](TSNode n) { return fmt::format("{}:{}", file, ts_node_start_point(n).row + 1); };
  each(new_root, [&](TSNode n) {
    if (reason) return;
    if (is(n, "attribute") && !is(ts_node_parent(n), "attribute")) {
      // The outermost attribute of a chain: torch.npu.X.Y -> X.
      auto text = squeeze(scan::node_text(n, now));
      if (had.count(text)) return;
      for (const char* prefix : {"torch.npu.", "torch_npu.npu."}) {
        if (text.rfind(prefix, 0) != 0) continue;
        auto rest = text.substr(std::strlen(prefix));
        auto name = rest.substr(0, rest.find_first_of(".("));
        if (!name.empty() && !api.npu_module.count(name)) {
          reason = fmt::format("{}: the step adds `{}`, but torch.npu has no `{}` ({})", at(n), text, name,
                               api.source);
        }
        return;
      }
      return;
    }
    if (!is(n, "call")) return;
    auto fn = squeeze(scan::node_text(field(n, "function"), now));
    std::string op;
    if (fn.rfind("torch_npu.npu_", 0) == 0 && fn.find('.', 10) == std::string::npos) op = fn.substr(10);
    if (fn.rfind("torch.ops.npu.", 0) == 0 && fn.find('.', 14) == std::string::npos) op = fn.substr(14);
    if (op.empty() || had.count(squeeze(scan::node_text(n, now)))) return;
    auto it = api.ops.find(op);
    if (it == api.ops.end()) {
      reason = fmt::format("{}: the step calls `{}`, but torch_npu has no op `{}` for torch {} ({})", at(n),
                           fn, op, api.torch, api.source);
      return;
    }
    size_t positional = 0;
    std::vector<std::string> keywords;
    bool splat = false;
    TSNode args = field(n, "arguments");
    for (uint32_t i = 0; i < ts_node_named_child_count(args); ++i) {
      TSNode a = ts_node_named_child(args, i);
      if (is(a, "keyword_argument")) {
        keywords.emplace_back(scan::node_text(field(a, "name"), now));
      } else if (is(a, "list_splat") || is(a, "dictionary_splat")) {
        splat = true;
      } else if (!is(a, "comment")) {
        ++positional;
      }
    }
    if (splat) return;
    for (auto& o : it->second) {
      if (o.any) return;
      if (positional > o.positional) continue;
      bool all = std::all_of(keywords.begin(), keywords.end(), [&](const std::string& k) {
        auto p = std::find(o.params.begin(), o.params.end(), k);
        return p != o.params.end() && static_cast<size_t>(p - o.params.begin()) >= positional;
      });
      if (all) return;
    }
    std::string params;
    for (auto& p : it->second.front().params) params += (params.empty() ? "" : ", ") + p;
    reason = fmt::format(
        "{}: the step calls `{}` with {} positional argument(s) and keyword(s) [{}] that no overload of the "
        "op "
        "accepts (its parameters: {}; {})",
        at(n), fn, positional,
        [&] {
          std::string k;
          for (auto& x : keywords) k += (k.empty() ? "" : ", ") + x;
          return k;
        }(),
        params, api.source);
  });
  return reason;
}

bool python_file(const std::string& f) {
  auto ext = std::filesystem::path(f).extension();
  return ext == ".py" || ext == ".pyi";
}

}  // namespace

std::optional<std::string> meaning_check(const std::filesystem::path& root, const Patch& patch,
                                         const std::map<std::string, std::string>& before) {
  std::map<std::string, std::vector<Edit>> by_file;
  for (auto& e : patch.edits) by_file[e.file].push_back(e);
  for (auto& [file, old] : before) {
    if (!python_file(file)) continue;
    std::string now;
    try {
      now = read_file(root / file);
    } catch (const Error&) {
      continue;
    }
    if (now == old) continue;
    auto old_tree = scan::parse("python", old);
    auto new_tree = scan::parse("python", now);
    TSNode o = ts_tree_root_node(old_tree.get()), n = ts_tree_root_node(new_tree.get());
    if (auto r = shadowed_branch(file, old, o, now, n)) return r;
    if (auto r = swapped_comparison(file, old, o, now, n, by_file[file])) return r;
    if (auto r = missing_import(root, file, old, o, now, n)) return r;
    if (auto r = npu_api_misuse(file, old, o, now, n, kb::npu_surface())) return r;
  }
  return std::nullopt;
}

}  // namespace kcat::patch
