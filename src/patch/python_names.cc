// Names a Python module uses but never binds, and imports of repository modules that do not exist
// (see semantic_check.h): a pyflakes-class check by tree-sitter, lenient where Python is dynamic.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_set>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/patch/semantic_check.h"
#include "kcat/scan/parser.h"

namespace kcat::patch {

namespace {

bool is(TSNode n, const char* t) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), t) == 0; }

TSNode field(TSNode n, const char* name) {
  return ts_node_child_by_field_name(n, name, static_cast<uint32_t>(std::strlen(name)));
}

const std::unordered_set<std::string>& builtins() {
  // dir(builtins) of CPython 3.8-3.13, the module attributes every module has, and the names a
  // class body or a function has implicitly.
  static const std::unordered_set<std::string> names = {
      "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BaseExceptionGroup",
      "BlockingIOError", "BrokenPipeError", "BufferError", "BytesWarning", "ChildProcessError",
      "ConnectionAbortedError", "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
      "DeprecationWarning", "EOFError", "Ellipsis", "EncodingWarning", "EnvironmentError", "Exception",
      "ExceptionGroup", "False", "FileExistsError", "FileNotFoundError", "FloatingPointError",
      "FutureWarning", "GeneratorExit", "IOError", "ImportError", "ImportWarning", "IndentationError",
      "IndexError", "InterruptedError", "IsADirectoryError", "KeyError", "KeyboardInterrupt", "LookupError",
      "MemoryError", "ModuleNotFoundError", "NameError", "None", "NotADirectoryError", "NotImplemented",
      "NotImplementedError", "OSError", "OverflowError", "PendingDeprecationWarning", "PermissionError",
      "ProcessLookupError", "PythonFinalizationError", "RecursionError", "ReferenceError", "ResourceWarning",
      "RuntimeError", "RuntimeWarning", "StopAsyncIteration", "StopIteration", "SyntaxError", "SyntaxWarning",
      "SystemError", "SystemExit", "TabError", "TimeoutError", "True", "TypeError", "UnboundLocalError",
      "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError", "UnicodeWarning",
      "UserWarning", "ValueError", "Warning", "WindowsError", "ZeroDivisionError", "__build_class__",
      "__debug__", "__doc__", "__import__", "__loader__", "__name__", "__package__", "__spec__", "__file__",
      "__builtins__", "__path__", "__cached__", "__annotations__", "__dict__", "__module__", "__qualname__",
      "__class__", "__all__", "abs", "aiter", "all", "anext", "any", "ascii", "bin", "bool", "breakpoint",
      "bytearray", "bytes", "callable", "chr", "classmethod", "compile", "complex", "copyright", "credits",
      "delattr", "dict", "dir", "divmod", "enumerate", "eval", "exec", "exit", "filter", "float", "format",
      "frozenset", "getattr", "globals", "hasattr", "hash", "help", "hex", "id", "input", "int", "isinstance",
      "issubclass", "iter", "len", "license", "list", "locals", "map", "max", "memoryview", "min", "next",
      "object", "oct", "open", "ord", "pow", "print", "property", "quit", "range", "repr", "reversed",
      "round", "set", "setattr", "slice", "sorted", "staticmethod", "str", "sum", "super", "tuple", "type",
      "vars", "zip",
      // IPython and Jupyter put these in a script's namespace
      "get_ipython", "display"};
  return names;
}

struct Scope {
  int parent = -1;
  bool comprehension = false;
  std::set<std::string> names;
};

struct Use {
  std::string name;
  uint32_t line = 0;
  uint32_t start = 0;
  int scope = 0;
};

class Names {
 public:
  explicit Names(const std::string& src) : src_(src) { scopes_.push_back({}); }

  std::vector<UnboundName> run(TSNode root) {
    struct Item {
      TSNode node;
      int scope;
    };
    std::vector<Item> stack{{root, 0}};
    while (!stack.empty()) {
      auto [n, scope] = stack.back();
      stack.pop_back();
      if (is(n, "ERROR")) continue;  // broken code: its names mean nothing
      int inner = scope;
      if (is(n, "function_definition") || is(n, "class_definition")) {
        bind(field(n, "name"), scope);
        inner = open(scope, false);
        if (is(n, "function_definition")) parameters(field(n, "parameters"), inner);
      } else if (is(n, "lambda")) {
        inner = open(scope, false);
        parameters(field(n, "parameters"), inner);
      } else if (is(n, "list_comprehension") || is(n, "set_comprehension") ||
                 is(n, "dictionary_comprehension") || is(n, "generator_expression")) {
        inner = open(scope, true);
      } else if (is(n, "assignment") || is(n, "augmented_assignment") || is(n, "for_statement") ||
                 is(n, "for_in_clause")) {
        target(field(n, "left"), scope);
      } else if (is(n, "named_expression")) {
        int s = scope;
        while (scopes_[s].comprehension) s = scopes_[s].parent;
        bind(field(n, "name"), s);
      } else if (is(n, "as_pattern")) {
        target(field(n, "alias"), scope);
      } else if (is(n, "except_clause")) {
        target(field(n, "alias"), scope);
      } else if (is(n, "import_statement") || is(n, "import_from_statement")) {
        imports(n, scope);
        continue;
      } else if (is(n, "future_import_statement") || is(n, "type_parameter") || is(n, "keyword_pattern")) {
        continue;
      } else if (is(n, "global_statement") || is(n, "nonlocal_statement")) {
        for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
          bind(ts_node_named_child(n, i), is(n, "global_statement") ? 0 : scope);
        }
        continue;
      } else if (is(n, "case_pattern")) {
        // Capture patterns bind; class and value patterns name things. Both are taken as bound.
        scan::each_named_node(n, [&](TSNode id) {
          if (is(id, "identifier")) bind(id, scope);
        });
        continue;
      } else if (is(n, "identifier")) {
        use(n, scope);
        continue;
      }
      for (uint32_t i = ts_node_named_child_count(n); i-- > 0;)
        stack.push_back({ts_node_named_child(n, i), inner});
    }
    std::vector<UnboundName> out;
    if (open_namespace_) return out;
    for (auto& u : uses_) {
      if (bound_at_.count(u.start) || builtins().count(u.name)) continue;
      bool found = false;
      for (int s = u.scope; s >= 0 && !found; s = scopes_[s].parent)
        found = scopes_[s].names.count(u.name) > 0;
      if (!found) out.push_back({u.name, u.line});
    }
    return out;
  }

 private:
  int open(int parent, bool comprehension) {
    scopes_.push_back({parent, comprehension, {}});
    return static_cast<int>(scopes_.size()) - 1;
  }

  std::string text(TSNode n) const { return std::string(scan::node_text(n, src_)); }

  void bind(TSNode id, int scope) {
    if (!is(id, "identifier")) return;
    scopes_[scope].names.insert(text(id));
    bound_at_.insert(ts_node_start_byte(id));
  }

  // An assignment's target: names bind, an attribute's or subscript's parts are uses.
  void target(TSNode t, int scope) {
    if (ts_node_is_null(t)) return;
    if (is(t, "identifier")) return bind(t, scope);
    if (is(t, "attribute") || is(t, "subscript")) return;
    for (uint32_t i = 0; i < ts_node_named_child_count(t); ++i) target(ts_node_named_child(t, i), scope);
  }

  void parameters(TSNode ps, int scope) {
    if (ts_node_is_null(ps)) return;
    for (uint32_t i = 0; i < ts_node_named_child_count(ps); ++i) {
      TSNode p = ts_node_named_child(ps, i);
      if (is(p, "identifier")) {
        bind(p, scope);
      } else if (is(p, "default_parameter") || is(p, "typed_default_parameter")) {
        target(field(p, "name"), scope);
      } else if (is(p, "typed_parameter") || is(p, "list_splat_pattern") ||
                 is(p, "dictionary_splat_pattern") || is(p, "tuple_pattern")) {
        for (uint32_t k = 0; k < ts_node_named_child_count(p); ++k) {
          TSNode c = ts_node_named_child(p, k);
          if (is(c, "identifier")) bind(c, scope);
          if (is(c, "list_splat_pattern") || is(c, "dictionary_splat_pattern")) {
            for (uint32_t j = 0; j < ts_node_named_child_count(c); ++j)
              bind(ts_node_named_child(c, j), scope);
          }
        }
      }
    }
  }

  void imports(TSNode n, int scope) {
    TSNode mod = field(n, "module_name");
    for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
      TSNode c = ts_node_named_child(n, i);
      if (!ts_node_is_null(mod) && ts_node_eq(c, mod)) continue;
      if (is(c, "wildcard_import")) open_namespace_ = true;
      if (is(c, "aliased_import")) {
        bind(field(c, "alias"), scope);
      } else if (is(c, "dotted_name") && ts_node_named_child_count(c) > 0) {
        // `import a.b` binds a; `from m import a` binds a
        bind(ts_node_named_child(c, 0), scope);
      }
    }
  }

  void use(TSNode id, int scope) {
    TSNode p = ts_node_parent(id);
    if (is(p, "attribute") && ts_node_eq(field(p, "attribute"), id)) return;
    if (is(p, "keyword_argument") && ts_node_eq(field(p, "name"), id)) return;
    auto name = text(id);
    if (name == "globals" || name == "locals" || name == "vars" || name == "exec") {
      // the namespace may be written through these: any name may exist
      TSNode call = ts_node_parent(id);
      if (is(call, "call")) open_namespace_ = true;
    }
    uses_.push_back({name, ts_node_start_point(id).row + 1, ts_node_start_byte(id), scope});
  }

  const std::string& src_;
  std::vector<Scope> scopes_;
  std::vector<Use> uses_;
  std::unordered_set<uint32_t> bound_at_;
  bool open_namespace_ = false;
};

}  // namespace

std::vector<UnboundName> unbound_names(const std::string& source) {
  auto tree = scan::parse("python", source);
  return Names(source).run(ts_tree_root_node(tree.get()));
}

std::vector<UnboundName> new_unbound_names(const std::string& old, const std::string& now) {
  std::set<std::string> was;
  for (auto& u : unbound_names(old)) was.insert(u.name);
  std::vector<UnboundName> out;
  std::set<std::string> said;
  for (auto& u : unbound_names(now)) {
    if (!was.count(u.name) && said.insert(u.name).second) out.push_back(u);
  }
  return out;
}

namespace {

namespace fs = std::filesystem;

bool module_exists(const fs::path& root, const fs::path& rel) {
  std::error_code ec;
  return fs::is_regular_file(root / (rel.string() + ".py"), ec) ||
         fs::is_regular_file(root / (rel.string() + ".pyi"), ec) || fs::is_directory(root / rel, ec);
}

fs::path dotted_path(fs::path base, const std::string& dotted) {
  for (size_t b = 0; b < dotted.size();) {
    auto e = dotted.find('.', b);
    if (e == std::string::npos) e = dotted.size();
    base /= dotted.substr(b, e - b);
    b = e + 1;
  }
  return base;
}

std::string squeeze(std::string_view t) {
  std::string s;
  for (char c : t) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\\') s += c;
  }
  return s;
}

// Where `dotted` (a module, absolute or relative to `file`) lives in the repository: nullopt when
// it is not the repository's (a package installed elsewhere), else whether it exists.
std::optional<bool> repository_module(const fs::path& root, const std::string& file,
                                      const std::string& spec) {
  size_t dots = spec.find_first_not_of('.');
  if (dots == std::string::npos) dots = spec.size();
  auto dotted = spec.substr(dots);
  if (dots > 0) {
    fs::path dir = fs::path(file).parent_path();
    for (size_t i = 1; i < dots; ++i) dir = dir.parent_path();
    if (dotted.empty()) return true;
    return module_exists(root, dotted_path(dir, dotted));
  }
  auto first = dotted.substr(0, dotted.find('.'));
  if (first.empty()) return std::nullopt;
  // The repository's own top-level package or module, or one beside the file (sys.path[0]).
  for (auto base : {fs::path(), fs::path(file).parent_path()}) {
    if (!module_exists(root, base / first)) continue;
    std::error_code ec;
    // A top-level directory without __init__.py beside other code is often not a package at all
    // (a data or docs folder that shares the name): only a package or a module counts.
    bool pkg = fs::is_regular_file(root / base / first / "__init__.py", ec);
    bool mod = fs::is_regular_file(root / base / (first + ".py"), ec);
    if (!pkg && !mod) continue;
    return module_exists(root, dotted_path(base, dotted));
  }
  return std::nullopt;
}

// The file of `placed` that an absolute import of `dotted` means (its top-level name is the file's
// module name, or its package's folder), when `file` cannot reach it: "" when none.
std::string unreachable_placed(const fs::path& root, const std::string& file, const std::string& dotted,
                               const std::vector<std::string>& placed) {
  if (dotted.empty() || dotted.front() == '.') return "";
  auto first = dotted.substr(0, dotted.find('.'));
  for (auto& p : placed) {
    fs::path path(p);
    bool names_it = path.extension() == ".py" &&
                    (path.stem() == first ||
                     (path.filename() == "__init__.py" && path.parent_path().filename() == first));
    if (!names_it) continue;
    // It can be reached at the root or beside the file (repository_module said whether it is there).
    if (repository_module(root, file, dotted)) return "";
    return p;
  }
  return "";
}

}  // namespace

std::optional<std::string> unresolved_import(const fs::path& root, const std::string& file,
                                             const std::string& old, const std::string& now,
                                             const std::vector<std::string>& placed) {
  std::set<std::string> had;
  auto old_tree = scan::parse("python", old);
  scan::each_named_node(ts_tree_root_node(old_tree.get()), [&](TSNode n) {
    if (is(n, "import_statement") || is(n, "import_from_statement"))
      had.insert(squeeze(scan::node_text(n, old)));
  });
  auto tree = scan::parse("python", now);
  std::optional<std::string> reason;
  scan::each_named_node(ts_tree_root_node(tree.get()), [&](TSNode n) {
    if (reason || !(is(n, "import_statement") || is(n, "import_from_statement"))) return;
    if (had.count(squeeze(scan::node_text(n, now)))) return;
    std::vector<std::string> modules;
    if (is(n, "import_from_statement")) {
      modules.push_back(std::string(scan::node_text(field(n, "module_name"), now)));
    } else {
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        TSNode name = is(c, "aliased_import") ? field(c, "name") : c;
        if (is(name, "dotted_name")) modules.push_back(std::string(scan::node_text(name, now)));
      }
    }
    for (auto& m : modules) {
      auto found = repository_module(root, file, m);
      if (found && !*found) {
        reason = fmt::format("{}:{}: the change imports `{}`, a module of the repository that does not exist",
                             file, ts_node_start_point(n).row + 1, m);
        return;
      }
      if (auto at = unreachable_placed(root, file, m, placed); !at.empty()) {
        reason = fmt::format(
            "{}:{}: the change imports `{}` from {}, which it cannot reach: the change places that "
            "module at {}, neither at the repository's root nor beside {} (import it relatively from "
            "inside its package, or place it where the importing file can reach it)",
            file, ts_node_start_point(n).row + 1, m, file, at, file);
        return;
      }
    }
  });
  return reason;
}

std::optional<std::string> names_check(const fs::path& root, const std::string& file, const std::string& old,
                                       const std::string& now, const std::vector<std::string>& placed) {
  auto ext = fs::path(file).extension();
  if (ext != ".py") return std::nullopt;
  if (auto r = unresolved_import(root, file, old, now, placed)) return r;
  auto fresh = new_unbound_names(old, now);
  if (fresh.empty()) return std::nullopt;
  std::string list;
  for (size_t i = 0; i < fresh.size() && i < 8; ++i) {
    list += fmt::format("{}`{}` (line {})", i ? ", " : "", fresh[i].name, fresh[i].line);
  }
  if (fresh.size() > 8) list += fmt::format(" and {} more", fresh.size() - 8);
  return fmt::format("{}: the change leaves {} used but never defined or imported: {}", file,
                     fresh.size() == 1 ? "a name" : "names", list);
}

}  // namespace kcat::patch
