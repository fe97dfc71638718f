// The reference fallback (ref_fallback.h): the repository's modules read with tree-sitter, which
// top-level functions reach a kernel (through their own module, its classes and `from ... import`s
// of repository modules), their pure-PyTorch references by name, and the edits.
#include "kcat/patch/ref_fallback.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/patch/codemod.h"
#include "kcat/patch/worktree_safety.h"
#include "kcat/scan/parser.h"

namespace kcat::patch {

namespace {

bool is(TSNode n, const char* t) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), t) == 0; }

TSNode field(TSNode n, const char* name) {
  return ts_node_child_by_field_name(n, name, static_cast<uint32_t>(std::strlen(name)));
}

struct Def {
  TSNode node{};  // function_definition or class_definition
  bool is_class = false;
  std::set<std::string> idents;
  // A class passes on what it reaches only when it is an autograd.Function (`XFn.apply`): a model
  // class (nn.Module) using a kernel does not make every function building it a kernel entry point.
  bool passes_on = true;
  bool triton_kernel = false;  // @triton.jit / @triton.autotune ...: a kernel, not an entry point
};

struct ExtImport {
  TSNode stmt{};
  std::string ext, alias;
  bool guarded = false;    // already inside try/except ImportError
  bool sets_none = false;  // ... whose except sets the alias to None (what the dispatch tests)
};

struct Module {
  std::string file, dotted, bytes;
  scan::Tree tree;
  std::map<std::string, Def> defs;
  std::map<std::string, std::pair<std::string, std::string>> from_imports;  // local -> (module, symbol)
  std::map<std::string, std::string> kernel_alias;                          // local name -> ext | "triton"
  std::vector<ExtImport> ext_imports;
  std::set<std::string> optional_names;  // bound by an import inside try/except ImportError
  std::string text(TSNode n) const { return std::string(scan::node_text(n, bytes)); }
};

// The module a file is imported as. In the src layout (setuptools' `src/<package>/`) the package is
// imported without the `src.` (Liger-Kernel's src/liger_kernel is `liger_kernel`).
std::string dotted_of(const std::string& file) {
  auto s = file.substr(0, file.size() - 3);  // without .py
  if (s.starts_with("src/")) s.erase(0, 4);
  if (s.ends_with("/__init__")) s.resize(s.size() - 9);
  std::replace(s.begin(), s.end(), '/', '.');
  return s;
}

bool is_test_file(const std::string& file) {
  auto name = std::filesystem::path(file).filename().string();
  return name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py" ||
         file.starts_with("tests/") || file.starts_with("test/") || file.find("/tests/") != std::string::npos;
}

std::set<std::string> identifiers(TSNode n, const std::string& bytes) {
  std::set<std::string> out;
  scan::each_named_node(n, [&](TSNode c) {
    if (is(c, "identifier")) out.insert(std::string(scan::node_text(c, bytes)));
  });
  return out;
}

// `from a.b import c` / `from .b import c as d` in `m`: the absolute module named.
std::string import_source(const Module& m, TSNode stmt) {
  TSNode mod = field(stmt, "module_name");
  if (!is(mod, "relative_import")) return m.text(mod);
  std::string dots, rest;
  for (uint32_t i = 0; i < ts_node_named_child_count(mod); ++i) {
    TSNode c = ts_node_named_child(mod, i);
    if (is(c, "import_prefix")) dots = m.text(c);
    if (is(c, "dotted_name")) rest = m.text(c);
  }
  auto base = m.dotted;
  bool package = m.file.ends_with("__init__.py");
  for (size_t i = package ? 1 : 0; i < dots.size(); ++i) {
    auto p = base.rfind('.');
    base = p == std::string::npos ? "" : base.substr(0, p);
  }
  return rest.empty() ? base : base.empty() ? rest : base + "." + rest;
}

void read_import(Module& m, TSNode stmt, const std::set<std::string>& exts, bool guarded) {
  if (is(stmt, "import_from_statement")) {
    auto src = import_source(m, stmt);
    for (uint32_t i = 0; i < ts_node_named_child_count(stmt); ++i) {
      TSNode c = ts_node_named_child(stmt, i);
      if (ts_node_eq(c, field(stmt, "module_name"))) continue;
      if (is(c, "dotted_name")) m.from_imports[m.text(c)] = {src, m.text(c)};
      if (is(c, "aliased_import"))
        m.from_imports[m.text(field(c, "alias"))] = {src, m.text(field(c, "name"))};
    }
    return;
  }
  if (!is(stmt, "import_statement")) return;
  uint32_t names = ts_node_named_child_count(stmt);
  for (uint32_t i = 0; i < names; ++i) {
    TSNode c = ts_node_named_child(stmt, i);
    std::string name = m.text(is(c, "aliased_import") ? field(c, "name") : c);
    std::string alias = is(c, "aliased_import") ? m.text(field(c, "alias")) : name.substr(0, name.find('.'));
    if (name == "triton" || name.starts_with("triton.")) m.kernel_alias[alias] = "triton";
    if (!exts.count(name)) continue;
    m.kernel_alias[alias] = name;
    // Only `import X` alone on its statement can be rewritten; the rest is reported.
    m.ext_imports.push_back({stmt, name, names == 1 ? alias : "", guarded});
  }
}

bool catches_import_error(const Module& m, TSNode try_stmt) {
  for (uint32_t i = 0; i < ts_node_named_child_count(try_stmt); ++i) {
    TSNode c = ts_node_named_child(try_stmt, i);
    if (!is(c, "except_clause")) continue;
    auto t = m.text(c);
    auto colon = t.find(':');
    auto head = t.substr(0, colon);
    if (head.find("ImportError") != std::string::npos ||
        head.find("ModuleNotFoundError") != std::string::npos ||
        head.find("Exception") != std::string::npos || head == "except")
      return true;
  }
  return false;
}

void read_module(Module& m, const std::set<std::string>& exts) {
  TSNode root = ts_tree_root_node(m.tree.get());
  for (uint32_t i = 0; i < ts_node_named_child_count(root); ++i) {
    TSNode c = ts_node_named_child(root, i);
    bool triton_kernel = false;
    TSNode whole = c;  // with its decorators: @triton.jit makes a function reach Triton
    if (is(c, "decorated_definition")) {
      for (uint32_t j = 0; j < ts_node_named_child_count(c); ++j) {
        TSNode dec = ts_node_named_child(c, j);
        if (is(dec, "decorator") && m.text(dec).find("triton.") != std::string::npos) triton_kernel = true;
      }
      c = field(c, "definition");
    }
    if (is(c, "function_definition") || is(c, "class_definition")) {
      bool is_class = is(c, "class_definition");
      TSNode bases = field(c, "superclasses");
      bool passes_on =
          !is_class || (!ts_node_is_null(bases) && m.text(bases).find("Function") != std::string::npos);
      m.defs[m.text(field(c, "name"))] =
          Def{c, is_class, identifiers(whole, m.bytes), passes_on, triton_kernel};
    } else if (is(c, "try_statement")) {
      TSNode body = field(c, "body");
      bool guarded = catches_import_error(m, c);
      size_t first_ext = m.ext_imports.size();
      for (uint32_t j = 0; j < ts_node_named_child_count(body); ++j) {
        TSNode stmt = ts_node_named_child(body, j);
        read_import(m, stmt, exts, guarded);
        if (guarded && (is(stmt, "import_statement") || is(stmt, "import_from_statement"))) {
          auto bound = identifiers(stmt, m.bytes);
          m.optional_names.insert(bound.begin(), bound.end());
        }
      }
      // The repository's own guard counts only when its except sets the name to None: the dispatch
      // tests `is None` (an except that sets a flag leaves the name unbound on the NPU).
      std::string handlers;
      for (uint32_t j = 0; j < ts_node_named_child_count(c); ++j) {
        if (is(ts_node_named_child(c, j), "except_clause")) handlers += m.text(ts_node_named_child(c, j));
      }
      for (size_t k = first_ext; k < m.ext_imports.size(); ++k) {
        auto& imp = m.ext_imports[k];
        imp.sets_none =
            !imp.alias.empty() &&
            RE2::PartialMatch(handlers, "(?:^|[^.\\w])" + RE2::QuoteMeta(imp.alias) + "\\s*=\\s*None\\b");
      }
    } else {
      read_import(m, c, exts, false);
    }
  }
}

using Reach =
    std::map<std::pair<std::string, std::string>, std::set<std::string>>;  // (module, def) -> kernels

// What each definition reaches; a definition in `cut` passes nothing on (an entry point already
// routed to its reference).
Reach reach_of(const std::deque<Module>& mods,
               const std::set<std::pair<std::string, std::string>>& cut = {}) {
  std::map<std::string, const Module*> by_dotted;
  for (auto& m : mods) by_dotted[m.dotted] = &m;
  Reach reach;
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& m : mods) {
      for (auto& [name, d] : m.defs) {
        auto& mine = reach[{m.dotted, name}];
        auto before = mine.size();
        for (auto& id : d.idents) {
          if (auto k = m.kernel_alias.find(id); k != m.kernel_alias.end()) mine.insert(k->second);
          if (id != name && m.defs.count(id) && m.defs.at(id).passes_on && !cut.count({m.dotted, id})) {
            auto& other = reach[{m.dotted, id}];
            mine.insert(other.begin(), other.end());
          }
          auto imp = m.from_imports.find(id);
          if (imp == m.from_imports.end()) continue;
          auto src = by_dotted.find(imp->second.first);
          if (src == by_dotted.end() || !src->second->defs.count(imp->second.second) ||
              !src->second->defs.at(imp->second.second).passes_on || cut.count(imp->second))
            continue;
          auto& other = reach[{imp->second.first, imp->second.second}];
          mine.insert(other.begin(), other.end());
        }
        changed = changed || mine.size() != before;
      }
    }
  }
  return reach;
}

// ---- parameters ----

struct Param {
  std::string name;
  std::string kind;  // plain | default | star | starstar | kwsep | possep
  std::string default_text;
  TSNode default_node{};
};

std::vector<Param> params_of(const Module& m, TSNode fn) {
  std::vector<Param> out;
  TSNode ps = field(fn, "parameters");
  for (uint32_t i = 0; i < ts_node_named_child_count(ps); ++i) {
    TSNode c = ts_node_named_child(ps, i);
    Param p;
    if (is(c, "identifier")) {
      p = {m.text(c), "plain", "", {}};
    } else if (is(c, "typed_parameter")) {
      TSNode first = ts_node_named_child(c, 0);
      p = {m.text(first), is(first, "identifier") ? "plain" : "star", "", {}};
      if (is(first, "dictionary_splat_pattern")) p.kind = "starstar";
    } else if (is(c, "default_parameter") || is(c, "typed_default_parameter")) {
      p = {m.text(field(c, "name")), "default", m.text(field(c, "value")), field(c, "value")};
    } else if (is(c, "list_splat_pattern")) {
      p = {m.text(c), "star", "", {}};
    } else if (is(c, "dictionary_splat_pattern")) {
      p = {m.text(c), "starstar", "", {}};
    } else if (is(c, "keyword_separator")) {
      p = {"*", "kwsep", "", {}};
    } else if (is(c, "positional_separator")) {
      p = {"/", "possep", "", {}};
    } else {
      p = {m.text(c), "unknown", "", {}};
    }
    out.push_back(p);
  }
  return out;
}

// `p` is not at its default, as a Python condition; nullopt when the default is not a literal.
std::optional<std::string> not_default(const Param& p) {
  const auto& d = p.default_text;
  if (d == "None" || d == "True" || d == "False") return p.name + " is not " + d;
  if (is(p.default_node, "integer") || is(p.default_node, "float") || is(p.default_node, "string"))
    return p.name + " != " + d;
  if (is(p.default_node, "unary_operator") && (d.starts_with("-") || d.starts_with("+")) &&
      ts_node_named_child_count(p.default_node) == 1 &&
      (is(ts_node_named_child(p.default_node, 0), "integer") ||
       is(ts_node_named_child(p.default_node, 0), "float")))
    return p.name + " != " + d;
  return std::nullopt;
}

struct Dispatch {
  std::vector<std::string> kwargs;      // R's parameters passed through from F
  std::vector<std::string> conditions;  // (parameter, condition) flattened: name then condition
  std::vector<std::string> unsupported;
  std::string problem;  // why the signatures do not pair
};

Dispatch match_signatures(const std::vector<Param>& f, const std::vector<Param>& r) {
  Dispatch d;
  std::map<std::string, const Param*> in_r, in_f;
  for (auto& p : r) in_r[p.name] = &p;
  for (auto& p : f) in_f[p.name] = &p;
  for (auto& p : f) {
    if (p.kind == "star" || p.kind == "starstar" || p.kind == "unknown") {
      d.problem =
          fmt::format("the entry point takes `{}`: its arguments cannot be passed on by name", p.name);
      return d;
    }
  }
  for (auto& p : r) {
    if (p.kind == "possep" || p.kind == "unknown") {
      d.problem = "the reference has positional-only or unparsed parameters";
      return d;
    }
    if (p.kind == "kwsep" || p.kind == "star" || p.kind == "starstar") continue;
    if (in_f.count(p.name)) {
      d.kwargs.push_back(p.name);
    } else if (p.kind != "default") {
      d.problem = fmt::format(
          "the reference's parameter `{}` has no default and the entry point has no such parameter", p.name);
      return d;
    }
  }
  for (auto& p : f) {
    if (p.kind == "kwsep" || p.kind == "possep" || in_r.count(p.name)) continue;
    if (p.kind != "default") {
      d.problem = fmt::format("the entry point's required parameter `{}` has no counterpart in the reference",
                              p.name);
      return d;
    }
    auto cond = not_default(p);
    if (!cond) {
      d.problem = fmt::format(
          "the entry point's parameter `{}` (default `{}`) is not in the reference and its "
          "default is not a literal kcat can compare against",
          p.name, p.default_text);
      return d;
    }
    d.unsupported.push_back(p.name);
    d.conditions.push_back(p.name);
    d.conditions.push_back(*cond);
  }
  return d;
}

// A file's bytes; nullopt when it cannot be read (gone, a permission): the analysis goes on without it.
std::optional<std::string> read_or_skip(const std::filesystem::path& path, std::string* why = nullptr) {
  try {
    return read_file(path);
  } catch (const Error& e) {
    if (why) *why = e.what();
    return std::nullopt;
  }
}

// A string literal's text between its quotes (prefixes such as f or r dropped); nullopt for a
// triple-quoted or concatenated string.
std::optional<std::string> literal_text(TSNode n, const std::string& bytes) {
  if (!is(n, "string")) return std::nullopt;
  auto s = std::string(scan::node_text(n, bytes));
  auto q = s.find_first_of("\"'");
  if (q == std::string::npos || s.size() < q + 2 || s.back() != s[q] ||
      s.compare(q, 3, std::string(3, s[q])) == 0)
    return std::nullopt;
  return s.substr(q + 1, s.size() - q - 2);
}

bool is_source(const std::string& s) {
  return s.ends_with(".cu") || s.ends_with(".cpp") || s.ends_with(".cc");
}

// Every string literal under `n`, in order.
std::vector<std::string> literals_under(TSNode n, const std::string& bytes) {
  std::vector<std::string> out;
  scan::each_named_node(n, [&](TSNode c) {
    if (auto t = literal_text(c, bytes); t && !t->empty() && t->find('\n') == std::string::npos)
      out.push_back(*t);
  });
  return out;
}

// `ext("name", ...)` after `ext = CUDAExtension if cond else CppExtension`: the later call's first
// literal, `{var}` filled from a top-level `var = "..."`.
std::string conditional_name(TSNode root, const std::string& bytes, const std::string& var) {
  std::string name;
  scan::each_named_node(root, [&](TSNode n) {
    if (!name.empty() || !is(n, "call") || scan::node_text(field(n, "function"), bytes) != var) return;
    TSNode args = field(n, "arguments");
    if (ts_node_named_child_count(args) == 0) return;
    if (auto t = literal_text(ts_node_named_child(args, 0), bytes)) name = *t;
  });
  for (uint32_t i = 0; i < ts_node_named_child_count(root) && name.find('{') != std::string::npos; ++i) {
    TSNode st = ts_node_named_child(root, i);
    TSNode as = is(st, "expression_statement") ? ts_node_named_child(st, 0) : TSNode{};
    if (!is(as, "assignment") || !is(field(as, "left"), "identifier")) continue;
    auto value = literal_text(field(as, "right"), bytes);
    auto hole = "{" + std::string(scan::node_text(field(as, "left"), bytes)) + "}";
    // Each hole once, searching on after the value put in: a value that holds its own hole
    // (`v = "x{v}"`, a hostile setup.py) must not loop or grow without end.
    for (auto p = name.find(hole); value && p != std::string::npos; p = name.find(hole, p + value->size()))
      name.replace(p, hole.size(), *value);
  }
  return name;
}

}  // namespace

std::vector<ExtensionCall> cuda_extension_calls(const std::string& bytes) {
  std::vector<ExtensionCall> out;
  if (bytes.find("CUDAExtension") == std::string::npos) return out;
  auto tree = scan::parse("python", bytes);
  TSNode root = ts_tree_root_node(tree.get());
  scan::each_named_node(root, [&](TSNode n) {
    ExtensionCall c;
    if (is(n, "call") &&
        scan::node_text(field(n, "function"), bytes).find("CUDAExtension") != std::string_view::npos) {
      TSNode args = field(n, "arguments");
      c.line = static_cast<int>(ts_node_start_point(n).row) + 1;
      c.literals = literals_under(args, bytes);
      for (uint32_t i = 0; i < ts_node_named_child_count(args); ++i) {
        TSNode a = ts_node_named_child(args, i);
        if (is(a, "keyword_argument") && scan::node_text(field(a, "name"), bytes) == "name") {
          if (auto t = literal_text(field(a, "value"), bytes)) c.name = *t;
        }
      }
      if (c.name.empty() && ts_node_named_child_count(args) > 0) {
        auto first = literal_text(ts_node_named_child(args, 0), bytes);
        if (first && !is_source(*first)) c.name = *first;
      }
      out.push_back(std::move(c));
    } else if (is(n, "conditional_expression") && ts_node_named_child_count(n) == 3 &&
               scan::node_text(ts_node_named_child(n, 0), bytes) == "CUDAExtension") {
      c.line = static_cast<int>(ts_node_start_point(n).row) + 1;
      c.conditional = true;
      TSNode parent = ts_node_parent(n);
      if (is(parent, "assignment") && is(field(parent, "left"), "identifier"))
        c.name = conditional_name(root, bytes, std::string(scan::node_text(field(parent, "left"), bytes)));
      out.push_back(std::move(c));
    }
  });
  return out;
}

std::vector<std::string> built_extensions(const std::filesystem::path& root,
                                          const std::vector<std::string>& python_files) {
  std::set<std::string> out;
  for (auto& file : python_files) {
    auto read = read_or_skip(root / file);
    if (!read) continue;
    // A conditional CUDAExtension may be built as a C++ extension without CUDA: the module is
    // there on the NPU, and a fallback testing for its absence would never run.
    for (auto& c : cuda_extension_calls(*read)) {
      if (!c.conditional && !c.name.empty() &&
          c.name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") ==
              std::string::npos)
        out.insert(c.name);
    }
  }
  return {out.begin(), out.end()};
}

std::string fallback_key(const FallbackPair& e) { return e.file + ":" + e.entry; }

namespace {

// ---- the analysis shared by the steps below ----

// A test function of the repository: what it calls, and whether it compares results.
struct TestFn {
  std::string where;            // "tests/test_x.py::test_y"
  std::set<std::string> calls;  // names called (`f(...)`, `mod.f(...)`)
  std::string compares;         // "allclose", "==" ... ("" when it compares nothing)
};

struct Analysis {
  std::deque<Module> mods;
  Reach reach;
  std::vector<TestFn> tests;
  std::set<std::string> exts;
  std::map<std::string, std::string> unguardable;        // ext -> why an import of it cannot be guarded
  std::map<std::string, std::vector<Edit>> guard_edits;  // ext -> its import guards
};

// The test functions of a test module (top level and in classes).
void read_tests(const Module& m, std::vector<TestFn>& out) {
  static const RE2 compare(
      R"((allclose|assert_close|assert_allclose|assert_equal|assert_array_equal|array_equal)\b|\bassert\b[^\n]*(==))");
  scan::each_named_node(ts_tree_root_node(m.tree.get()), [&](TSNode n) {
    if (!is(n, "function_definition") || !m.text(field(n, "name")).starts_with("test")) return;
    TestFn t;
    t.where = m.file + "::" + m.text(field(n, "name"));
    TSNode body = field(n, "body");
    scan::each_named_node(body, [&](TSNode c) {
      if (!is(c, "call")) return;
      TSNode f = field(c, "function");
      if (is(f, "attribute")) f = field(f, "attribute");
      if (is(f, "identifier")) t.calls.insert(m.text(f));
    });
    std::string word, eq;
    if (RE2::PartialMatch(m.text(body), compare, &word, &eq)) t.compares = word.empty() ? eq : word;
    out.push_back(std::move(t));
  });
}

// The test functions that call both `f` and `r` and compare results.
std::vector<const TestFn*> comparing_tests(const std::vector<TestFn>& tests, const std::string& f,
                                           const std::string& r) {
  std::vector<const TestFn*> out;
  for (auto& t : tests) {
    if (!t.compares.empty() && t.calls.count(f) && t.calls.count(r)) out.push_back(&t);
  }
  return out;
}

// A use of `alias` in `m` that runs at import time (outside every function body); nullopt if none.
std::optional<int> import_time_use(const Module& m, const std::string& alias, TSNode import_stmt) {
  std::optional<int> line;
  scan::each_named_node(ts_tree_root_node(m.tree.get()), [&](TSNode n) {
    if (line || !is(n, "identifier") || m.text(n) != alias) return;
    if (ts_node_start_byte(n) >= ts_node_start_byte(import_stmt) &&
        ts_node_end_byte(n) <= ts_node_end_byte(import_stmt))
      return;
    for (TSNode p = ts_node_parent(n); !ts_node_is_null(p); p = ts_node_parent(p)) {
      TSNode body = is(p, "function_definition") ? field(p, "body")
                    : is(p, "lambda")            ? field(p, "body")
                                                 : TSNode{};
      if (!ts_node_is_null(body) && ts_node_start_byte(n) >= ts_node_start_byte(body) &&
          ts_node_end_byte(n) <= ts_node_end_byte(body))
        return;
    }
    line = static_cast<int>(ts_node_start_point(n).row) + 1;
  });
  return line;
}

std::string eol_of(const std::string& bytes) {
  auto p = bytes.find('\n');
  return p != std::string::npos && p > 0 && bytes[p - 1] == '\r' ? "\r\n" : "\n";
}

// An import of the extension kcat may turn into a guard: inside the path given and not in a test
// file. A test that imports the extension itself tests the kernel: it is reported, not edited. An
// import elsewhere outside the path would still fail on the NPU: the extension is not guardable.
void plan_guards(Analysis& a, FallbackPlan& out, const std::string& within) {
  for (auto& m : a.mods) {
    for (auto& imp : m.ext_imports) {
      auto where = fmt::format("{}:{}", m.file, ts_node_start_point(imp.stmt).row + 1);
      if (!imp.guarded && is_test_file(m.file)) {
        out.notes.push_back(fmt::format(
            "not guarded: {}: a test file imports `{}` itself; kcat does not edit tests for the fallback "
            "(on the NPU this test file does not import)",
            where, imp.ext));
        continue;
      }
      if (!imp.guarded && !within_path(m.file, within)) {
        if (!a.unguardable.count(imp.ext)) {
          a.unguardable[imp.ext] = fmt::format(
              "{}: `{}` is outside the path given ({}): not guarded, so the fallback could not load", where,
              m.text(imp.stmt), within);
          out.notes.push_back("not guarded: " + a.unguardable[imp.ext]);
        }
        continue;
      }
      if (imp.guarded) {
        if (!imp.sets_none && !a.unguardable.count(imp.ext)) {
          a.unguardable[imp.ext] = where + ": the repository's own try/except around `" + m.text(imp.stmt) +
                                   "` does not set `" + imp.alias + " = None`, which the dispatch would test";
          out.notes.push_back("not guarded: " + a.unguardable[imp.ext]);
        }
        continue;
      }
      auto line_end = m.bytes.find('\n', ts_node_end_byte(imp.stmt));
      auto rest = m.bytes.substr(
          ts_node_end_byte(imp.stmt),
          (line_end == std::string::npos ? m.bytes.size() : line_end) - ts_node_end_byte(imp.stmt));
      auto code_after = rest.substr(0, rest.find('#')).find_first_not_of(" \t\r") != std::string::npos;
      if (imp.alias.empty() || ts_node_start_point(imp.stmt).column != 0 || code_after) {
        a.unguardable[imp.ext] = where + ": `" + m.text(imp.stmt) + "` imports more than the extension";
      } else if (auto line = import_time_use(m, imp.alias, imp.stmt)) {
        a.unguardable[imp.ext] = fmt::format(
            "{}: `{}` is used at import time (line {}), outside any function", where, imp.alias, *line);
      } else {
        auto eol = eol_of(m.bytes);
        auto text = fmt::format(
            "try:{0}    {1}{0}except ModuleNotFoundError:  # {2}: the CUDA extension is not built on the "
            "NPU{0}    "
            "{3} = None",
            eol, m.text(imp.stmt), kFallbackMarker, imp.alias);
        a.guard_edits[imp.ext].push_back(Edit{m.file, ts_node_start_byte(imp.stmt),
                                              ts_node_end_byte(imp.stmt), text, "reference-fallback"});
        continue;
      }
      out.notes.push_back("not guarded: " + a.unguardable[imp.ext]);
    }
  }
}

// The names F's reference may have. `F_fn` also pairs with `F_ref`, unless the package has a function
// `F` too: then `F_fn` is a helper of `F` (causal_conv1d_update_function of causal_conv1d_update), and
// `F_ref` is F's.
std::vector<std::string> reference_names(const std::string& f,
                                         const std::set<std::string>& package_functions) {
  std::vector<std::string> bases{f};
  for (auto suffix : {"_fn", "_func", "_function"}) {
    if (f.ends_with(suffix) && f.size() > std::strlen(suffix) &&
        !package_functions.count(f.substr(0, f.size() - std::strlen(suffix))))
      bases.push_back(f.substr(0, f.size() - std::strlen(suffix)));
  }
  std::vector<std::string> out;
  for (auto& b : bases) {
    for (auto& n : {b + "_ref", "ref_" + b, b + "_reference", "naive_" + b, b + "_torch", b + "_naive"})
      out.push_back(n);
  }
  return out;
}

bool looks_like_reference(const std::string& name) {
  return name.ends_with("_ref") || name.starts_with("ref_") || name.ends_with("_reference") ||
         name.starts_with("naive_") || name.ends_with("_torch") || name.ends_with("_naive");
}

std::string top_package(const std::string& dotted) { return dotted.substr(0, dotted.find('.')); }

// The first statement of F's body after its docstring; null when the body is on the `def` line.
TSNode first_statement(const Module& m, TSNode fn) {
  TSNode body = field(fn, "body");
  if (ts_node_start_point(body).row == ts_node_start_point(fn).row) return TSNode{};
  for (uint32_t i = 0; i < ts_node_named_child_count(body); ++i) {
    TSNode c = ts_node_named_child(body, i);
    if (is(c, "comment")) continue;
    if (i == 0 && is(c, "expression_statement") && ts_node_named_child_count(c) == 1 &&
        (is(ts_node_named_child(c, 0), "string") || is(ts_node_named_child(c, 0), "concatenated_string")))
      continue;
    (void)m;
    return c;
  }
  return TSNode{};
}

}  // namespace

namespace {

struct Builder {
  const std::filesystem::path& root;
  const std::string& within;
  Analysis& a;
  FallbackPlan& out;
  // What the entry point being routed needs besides its dispatch: probes (file, extension, alias)
  // for extensions its module does not import, and the extensions whose imports must be guarded.
  std::vector<std::tuple<std::string, std::string, std::string>> probes;
  std::set<std::string> exts;
  const Reach* ref_reach = nullptr;  // the second pass: reach with the routed entry points cut
  const std::map<std::string, std::string>* rejected = nullptr;  // refused by the gate: never routed
};

struct Routed {
  FallbackPair e;
  std::optional<Edit> edit;
  std::vector<std::tuple<std::string, std::string, std::string>> probes;
  std::set<std::string> exts;
};

std::optional<std::pair<const Module*, std::string>> find_reference(Builder& b, const Module& m,
                                                                    const std::string& f, FallbackPair& e) {
  std::vector<std::pair<const Module*, std::string>> found;
  std::set<std::string> package_functions;
  for (auto& mm : b.a.mods) {
    if (top_package(mm.dotted) != top_package(m.dotted) || is_test_file(mm.file)) continue;
    for (auto& [n, d] : mm.defs)
      if (!d.is_class) package_functions.insert(n);
  }
  for (auto& cand : reference_names(f, package_functions)) {
    for (auto& mm : b.a.mods) {
      if (top_package(mm.dotted) != top_package(m.dotted) || is_test_file(mm.file)) continue;
      auto d = mm.defs.find(cand);
      if (d != mm.defs.end() && !d->second.is_class) found.emplace_back(&mm, cand);
    }
  }
  if (found.empty()) {
    // Paired by the tests where the names differ: the test functions that call F and compare it
    // with exactly one reference-looking function, all naming the same one, defined once in F's package.
    std::set<std::string> by_test;
    for (auto& t : b.a.tests) {
      if (t.compares.empty() || !t.calls.count(f)) continue;
      std::set<std::string> refs;
      for (auto& c : t.calls)
        if (looks_like_reference(c) && package_functions.count(c)) refs.insert(c);
      if (refs.size() == 1) by_test.insert(*refs.begin());
      if (refs.size() > 1) by_test.insert("");  // not sure which one
    }
    if (by_test.size() == 1 && !by_test.begin()->empty()) {
      for (auto& mm : b.a.mods) {
        if (top_package(mm.dotted) != top_package(m.dotted) || is_test_file(mm.file)) continue;
        auto d = mm.defs.find(*by_test.begin());
        if (d != mm.defs.end() && !d->second.is_class) found.emplace_back(&mm, d->first);
      }
      if (found.size() == 1) {
        e.why.push_back("by test: the names differ; the repository's tests compare the two");
        return found[0];
      }
      found.clear();
    }
  }
  if (found.empty()) {
    bool triton_only = std::all_of(e.kernels.begin(), e.kernels.end(), [](auto& k) { return k == "triton"; });
    e.reason = fmt::format(
        "{}no pure-PyTorch reference by name in package `{}` (looked for {}_ref, ref_{}, naive_{}, ...){}",
        triton_only ? "Triton path (it runs on triton-ascend, the Triton port); " : "", top_package(m.dotted),
        f, f, f, triton_only ? "" : ": the kernel needs a port");
    return std::nullopt;
  }
  // Several: the one in F's own module, when there is exactly one there.
  if (found.size() > 1 &&
      std::count_if(found.begin(), found.end(), [&](auto& c) { return c.first == &m; }) == 1)
    found.erase(std::remove_if(found.begin(), found.end(), [&](auto& c) { return c.first != &m; }),
                found.end());
  if (found.size() > 1) {
    e.reason = "several candidate references (";
    for (auto& [mm, n] : found)
      e.reason += fmt::format("{}{} in {}", &n == &found[0].second ? "" : ", ", n, mm->file);
    e.reason += "): not sure which one, not patched";
    return std::nullopt;
  }
  return found[0];
}

std::string condition_alias(Builder& b, const Module& m, const std::string& ext) {
  for (auto& imp : m.ext_imports) {
    if (imp.ext == ext && !imp.alias.empty()) return imp.alias;
  }
  std::string alias = "_kcat_" + ext;
  std::replace(alias.begin(), alias.end(), '.', '_');
  b.probes.emplace_back(m.file, ext, alias);
  return alias;
}

std::string dispatch_text(const Module& m, const FallbackPair& e, const Dispatch& d, const std::string& cond,
                          const std::string& ind, const std::string& ref_module) {
  auto eol = eol_of(m.bytes);
  std::vector<std::string> exts;
  for (auto& k : e.kernels)
    if (k != "triton") exts.push_back(k);
  auto ext_list = fmt::format("{}", fmt::join(exts, ", "));
  std::string t = fmt::format("{}if {}:  # {}: {} not importable (the NPU): run the repository's {}{}", ind,
                              cond, kFallbackMarker, ext_list, e.reference, eol);
  for (size_t i = 0; i + 1 < d.conditions.size(); i += 2) {
    t += fmt::format("{}    if {}:{}", ind, d.conditions[i + 1], eol);
    t += fmt::format(
        "{}        raise NotImplementedError(\"{}: `{}` is not supported by the reference {}, which runs "
        "when {} "
        "is not importable; leave `{}` at its default\"){}",
        ind, e.entry, d.conditions[i], e.reference, ext_list, d.conditions[i], eol);
  }
  if (!ref_module.empty()) t += fmt::format("{}    from {} import {}{}", ind, ref_module, e.reference, eol);
  std::vector<std::string> args;
  for (auto& k : d.kwargs) args.push_back(k + "=" + k);
  t += fmt::format("{}    return {}({}){}", ind, e.reference, fmt::join(args, ", "), eol);
  return t;
}

// Why a dispatch at the top of F would not keep F's meaning, or would not run R as written: F is a
// generator (its `return R(...)` yields nothing), declares globals (a statement before `global` is a
// SyntaxError), binds the extension's name itself (the test would read an unbound local on CUDA),
// or has a parameter named like R or the extension (the call would take the argument); R is async
// (F would return an un-awaited coroutine), or uses a name its module imports only when available.
std::optional<std::string> dispatch_problem(const Module& m, TSNode fn, const Module& rm, TSNode ref,
                                            const std::string& rname,
                                            const std::vector<std::string>& aliases) {
  std::optional<std::string> why;
  std::set<std::string> bound;
  auto bind = [&](TSNode n) {
    if (ts_node_is_null(n)) return;
    auto ids = identifiers(n, m.bytes);
    bound.insert(ids.begin(), ids.end());
  };
  scan::each_named_node(field(fn, "body"), [&](TSNode n) {
    if (why) return;
    if (is(n, "yield"))
      why = "the entry point is a generator: a `return` of the reference would yield nothing";
    if (is(n, "global_statement") || is(n, "nonlocal_statement"))
      why = "the entry point declares `global`/`nonlocal`: no statement may come before it";
    if (is(n, "assignment") || is(n, "augmented_assignment") || is(n, "for_statement") ||
        is(n, "for_in_clause"))
      bind(field(n, "left"));
    if (is(n, "named_expression")) bind(field(n, "name"));
    if (is(n, "import_statement") || is(n, "import_from_statement") || is(n, "delete_statement") ||
        is(n, "as_pattern_target") || is(n, "function_definition") || is(n, "class_definition"))
      bind(is(n, "function_definition") || is(n, "class_definition") ? field(n, "name") : n);
    if (is(n, "except_clause")) {
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        if (!is(ts_node_named_child(n, i), "block")) bind(ts_node_named_child(n, i));
      }
    }
  });
  if (why) return why;
  for (auto& a : aliases) {
    if (bound.count(a))
      return "the entry point binds `" + a + "` itself: the dispatch's test would read it unbound";
  }
  auto params = identifiers(field(fn, "parameters"), m.bytes);
  for (auto& n : aliases) {
    if (params.count(n)) return "a parameter of the entry point is named `" + n + "`";
  }
  if (params.count(rname))
    return "a parameter of the entry point is named like the reference `" + rname + "`";
  if (rm.text(ref).starts_with("async"))
    return std::string("the reference is async: F would return it un-awaited");
  for (auto& id : identifiers(field(ref, "body"), rm.bytes)) {
    if (rm.optional_names.count(id))
      return "the reference uses `" + id +
             "`, which its module imports only when available (try/except ImportError): not a pure-PyTorch "
             "fallback on the NPU";
  }
  return std::nullopt;
}

// F's own path without the kernel, which the reference must not replace: a parameter that switches
// the kernel (`use_cuda_kernel`), or a branch of F's body on the device or on the kernel's
// availability (`if x.is_cuda: ... else: ...`, `... if ext is not None else ...`) of which one
// branch is not a rejection (raise/assert). The reason, or nullopt.
std::optional<std::string> own_path(const Module& m, TSNode fn, const std::vector<std::string>& exts) {
  // The switch itself, not a parameter that says where a step happens (fla's use_qk_l2norm_in_kernel).
  static const RE2 flag(
      R"((?i)^use_(cuda|cuda_kernels?|kernels?|cuda_ext|cuda_extension|ext|extension|triton|triton_kernels?)$)");
  for (auto& p : params_of(m, fn)) {
    if (RE2::FullMatch(p.name, flag))
      return fmt::format("the entry point has its own switch `{}`: it already has a path without the kernel",
                         p.name);
  }
  std::string names =
      R"(\.is_cuda\b|\.device\.type\b|\bdevice\s*==|cuda\.is_available\s*\(|(?i:\buse_\w*(cuda|kernel)\w*)|(?i:\bhas_(?:\w*_)?(?:cuda|kernel|ext)(?:_\w*)?\b))";
  for (auto& x : exts) names += "|\\b" + RE2::QuoteMeta(x) + "\\s+is\\s+(not\\s+)?None\\b";
  RE2 device(names);
  auto rejects = [&](TSNode block) {
    if (ts_node_is_null(block)) return true;
    TSNode first = ts_node_named_child(block, 0);
    return is(first, "raise_statement") || is(first, "assert_statement");
  };
  std::optional<std::string> why;
  scan::each_named_node(field(fn, "body"), [&](TSNode n) {
    if (why) return;
    bool branch = false;
    TSNode cond = field(n, "condition");
    if (is(n, "if_statement") && RE2::PartialMatch(m.text(cond), device)) {
      bool has_else = false, all_reject = rejects(field(n, "consequence"));
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        if (is(c, "elif_clause")) all_reject = all_reject && rejects(field(c, "consequence"));
        if (is(c, "else_clause")) {
          has_else = true;
          all_reject = all_reject && rejects(field(c, "body"));
        }
      }
      // `if not x.is_cuda: raise`: a rejection, not a path. Without an else, the rest of the body is
      // the other branch only when the consequence returns (`if x.is_cuda: return kernel(...)`).
      TSNode body = field(n, "consequence");
      TSNode last = ts_node_named_child(body, ts_node_named_child_count(body) - 1);
      branch = has_else ? !all_reject : is(last, "return_statement");
    } else if (is(n, "conditional_expression") && ts_node_named_child_count(n) == 3 &&
               RE2::PartialMatch(m.text(ts_node_named_child(n, 1)), device)) {
      branch = true;
      cond = ts_node_named_child(n, 1);
    }
    if (branch)
      why = fmt::format(
          "the entry point has its own branch on the device or the kernel (`{}`, line {}): it already has a "
          "path without the kernel; left as it is",
          m.text(cond), ts_node_start_point(n).row + 1);
  });
  return why;
}

// The pair's dispatch edit, or the reason it is left (in e.reason).
std::optional<Edit> route(Builder& b, const Module& m, const std::string& f, FallbackPair& e) {
  TSNode fn = m.defs.at(f).node;
  auto ref = find_reference(b, m, f, e);
  if (!ref) return std::nullopt;
  auto [rm, rname] = *ref;
  e.reference = rname;
  e.reference_file = rm->file;
  bool by_test = !e.why.empty() && e.why.back().starts_with("by test");
  if (by_test) e.why.pop_back();
  if (!by_test) e.why.push_back(fmt::format("name: `{}` is named as the reference of `{}`", rname, f));
  auto tests = comparing_tests(b.a.tests, f, rname);
  std::string test_list;
  for (size_t i = 0; i < tests.size() && i < 3; ++i) test_list += (i ? ", " : "") + tests[i]->where;
  if (tests.size() > 3) test_list += fmt::format(" and {} more", tests.size() - 3);
  if (!tests.empty()) {
    auto file = tests[0]->where.substr(0, tests[0]->where.find("::"));
    e.why.push_back(fmt::format("test: {} calls both and compares them ({}, with {})", file, test_list,
                                tests[0]->compares));
  }
  e.paired_by = by_test ? fmt::format("paired by a test that compares them ({}) and by signature", test_list)
                : tests.empty()
                    ? std::string("paired by name and signature (no repository test compares the two)")
                    : fmt::format("paired by name and signature; compared by {}", test_list);
  const auto& reach = b.ref_reach ? *b.ref_reach : b.a.reach;
  if (auto rk = reach.find({rm->dotted, rname}); rk != reach.end() && !rk->second.empty()) {
    e.reason = fmt::format("the reference {} itself reaches {}: not a pure-PyTorch fallback", rname,
                           *rk->second.begin());
    return std::nullopt;
  }
  if (b.ref_reach && b.a.reach.count({rm->dotted, rname}) && !b.a.reach.at({rm->dotted, rname}).empty())
    e.why.push_back(fmt::format("the reference reaches a kernel only through entry points routed to theirs"));
  TSNode first = first_statement(m, fn);
  if (!ts_node_is_null(first) && is(first, "if_statement") &&
      m.text(first).find(kFallbackMarker) != std::string::npos) {
    e.status = "routed";
    e.why.push_back("routed by an earlier run (its dispatch is in place)");
    return std::nullopt;
  }
  std::vector<std::string> exts;
  for (auto& k : e.kernels)
    if (k != "triton") exts.push_back(k);
  std::vector<std::string> known_aliases;
  for (auto& imp : m.ext_imports)
    if (!imp.alias.empty()) known_aliases.push_back(imp.alias);
  if (exts.empty()) {
    e.reason =
        "Triton path: the kernels are Triton, imported when the module loads; they run on triton-ascend "
        "(the Triton port), so no fallback is patched";
    return std::nullopt;
  }
  if (auto why = own_path(m, fn, known_aliases)) {
    e.reason = *why;
    return std::nullopt;
  }
  for (auto& x : exts) {
    if (auto u = b.a.unguardable.find(x); u != b.a.unguardable.end()) {
      e.reason = "the extension's import cannot be guarded: " + u->second;
      return std::nullopt;
    }
  }
  if (!within_path(m.file, b.within)) {
    e.reason = "outside the path given (" + b.within + ")";
    return std::nullopt;
  }
  auto d = match_signatures(params_of(m, fn), params_of(*rm, rm->defs.at(rname).node));
  if (!d.problem.empty()) {
    e.reason = "the signatures do not pair: " + d.problem;
    return std::nullopt;
  }
  if (ts_node_is_null(first)) {
    e.reason = "the entry point's body is on its `def` line: not patched";
    return std::nullopt;
  }
  std::vector<std::string> aliases;
  for (auto& x : exts) aliases.push_back(condition_alias(b, m, x));
  if (auto why = dispatch_problem(m, fn, *rm, rm->defs.at(rname).node, rname, aliases)) {
    e.reason = *why;
    return std::nullopt;
  }
  auto line_start = m.bytes.rfind('\n', ts_node_start_byte(first) - 1);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  auto ind = m.bytes.substr(line_start, ts_node_start_byte(first) - line_start);
  if (ind.find_first_not_of(" \t") != std::string::npos) {
    e.reason = "the entry point's first statement does not start its line: not patched";
    return std::nullopt;
  }
  e.why.push_back(
      fmt::format("signature: every parameter of {} is a parameter of {} or has a default", rname, f));
  e.unsupported = d.unsupported;
  std::vector<std::string> conds;
  for (auto& x : exts) {
    conds.push_back(condition_alias(b, m, x) + " is None");
    b.exts.insert(x);
  }
  e.status = "routed";
  auto text = dispatch_text(m, e, d, fmt::format("{}", fmt::join(conds, " or ")), ind,
                            rm == &m ? std::string() : rm->dotted);
  return Edit{m.file, static_cast<uint32_t>(line_start), static_cast<uint32_t>(line_start), text,
              "reference-fallback"};
}

// The probe `lines` inserted after the module's leading imports (the last import statement before
// the first definition), where a reader looks for them; as insert_after_torch_import when there is none.
Edit insert_after_imports(const std::string& file, const std::string& bytes,
                          const std::vector<std::string>& lines) {
  auto tree = scan::parse("python", bytes);
  TSNode root = ts_tree_root_node(tree.get());
  std::optional<uint32_t> end;
  for (uint32_t i = 0; i < ts_node_named_child_count(root); ++i) {
    TSNode c = ts_node_named_child(root, i);
    if (is(c, "function_definition") || is(c, "class_definition") || is(c, "decorated_definition")) break;
    if (is(c, "import_statement") || is(c, "import_from_statement") || is(c, "future_import_statement"))
      end = ts_node_end_byte(c);
  }
  if (!end) {
    auto edits = insert_after_torch_import(file, bytes, lines, false);
    if (!edits.empty()) return edits[0];
  }
  auto eol = eol_of(bytes);
  std::string block;
  for (auto& l : lines) block += l + eol;
  uint32_t at = end.value_or(0);
  while (at < bytes.size() && bytes[at] != '\n') ++at;
  if (at < bytes.size()) {
    ++at;
  } else {
    block = eol + block;
  }
  return Edit{file, at, at, block, "reference-fallback"};
}

// A reference left because it reaches a kernel only through entry points this plan routes
// (mamba_inner_ref calls selective_scan_fn) is a pure fallback after all: route again with those cut.
void reroute_through_routed(Builder& b, std::vector<Routed>& routed) {
  std::set<std::pair<std::string, std::string>> cut;
  for (auto& r : routed) {
    if (r.e.status == "routed") cut.insert({dotted_of(r.e.file), r.e.entry});
  }
  if (cut.empty()) return;
  auto reach = reach_of(b.a.mods, cut);
  b.ref_reach = &reach;
  for (auto& r : routed) {
    if (r.e.status == "routed" || !r.e.reason.starts_with("the reference ")) continue;
    const Module* m = nullptr;
    for (auto& mm : b.a.mods)
      if (mm.file == r.e.file) m = &mm;
    if (!m) continue;
    FallbackPair e = r.e;
    e.why.clear();
    e.reason.clear();
    b.probes.clear();
    b.exts.clear();
    auto edit = route(b, *m, e.entry, e);
    if (e.status != "routed" || (b.rejected && b.rejected->count(fallback_key(e)))) continue;
    r = Routed{e, edit, b.probes, b.exts};
  }
  b.ref_reach = nullptr;
}

// A reference two entry points pair with: the one named exactly after it keeps it (F with F_ref
// over F_fn); when none is, or several are, none does.
void drop_shared_references(std::vector<Routed>& routed) {
  std::map<std::pair<std::string, std::string>, std::vector<Routed*>> claims;
  for (auto& r : routed) {
    if (!r.e.reference.empty()) claims[{r.e.reference_file, r.e.reference}].push_back(&r);
  }
  for (auto& [ref, who] : claims) {
    if (who.size() < 2) continue;
    std::vector<Routed*> exact;
    for (auto* r : who) {
      if (r->e.reference.find(r->e.entry) != std::string::npos) exact.push_back(r);
    }
    for (auto* r : who) {
      if (exact.size() == 1 && exact[0] == r) continue;
      std::string names;
      for (auto* o : who) names += (names.empty() ? "" : ", ") + o->e.entry;
      r->e.status = "left";
      r->e.reason =
          fmt::format("the reference {} pairs by name with several entry points ({}): not sure, not patched",
                      ref.second, names);
      r->edit.reset();
    }
  }
}

}  // namespace

FallbackPlan reference_fallbacks(const std::filesystem::path& root,
                                 const std::vector<std::string>& python_files, const std::string& within,
                                 const std::map<std::string, std::string>& rejected,
                                 const std::set<std::string>& only) {
  FallbackPlan out;
  Analysis a;
  auto exts = built_extensions(root, python_files);
  a.exts = {exts.begin(), exts.end()};
  for (auto& file : python_files) {
    if (!file.ends_with(".py")) continue;
    std::string why;
    auto bytes = read_or_skip(root / file, &why);
    if (!bytes) {
      out.notes.push_back(fmt::format("not read: {}: {}", file, why));
      continue;
    }
    auto& m = a.mods.emplace_back();
    m.file = file;
    m.dotted = dotted_of(file);
    m.bytes = std::move(*bytes);
    m.tree = scan::parse("python", m.bytes);
    read_module(m, a.exts);
    if (is_test_file(file)) read_tests(m, a.tests);
  }
  a.reach = reach_of(a.mods);
  plan_guards(a, out, within);
  Builder b{root, within, a, out, {}, {}, nullptr, &rejected};
  std::vector<Routed> routed;
  for (auto& m : a.mods) {
    if (is_test_file(m.file) || ts_node_has_error(ts_tree_root_node(m.tree.get()))) continue;
    for (auto& [name, d] : m.defs) {
      if (d.is_class || d.triton_kernel || name.starts_with("_") || name.starts_with("test_") ||
          name.starts_with("benchmark_") || looks_like_reference(name))
        continue;
      auto& kernels = a.reach[{m.dotted, name}];
      if (kernels.empty()) continue;
      FallbackPair e;
      e.entry = name;
      e.file = m.file;
      e.line = static_cast<int>(ts_node_start_point(d.node).row) + 1;
      e.kernels = {kernels.begin(), kernels.end()};
      e.status = "left";
      b.probes.clear();
      b.exts.clear();
      auto edit = route(b, m, name, e);
      if (e.status == "routed") e.reason.clear();
      if (auto r = rejected.find(fallback_key(e)); r != rejected.end() && edit) {
        e.status = "left";
        e.reason = r->second;
        edit.reset();
      }
      routed.push_back({e, edit, b.probes, b.exts});
    }
  }
  reroute_through_routed(b, routed);
  drop_shared_references(routed);
  std::set<std::string> used_exts;
  std::map<std::string, std::vector<std::string>> probes;  // file -> probe lines
  for (auto& r : routed) {
    out.entries.push_back(r.e);
    if (!r.edit || (!only.empty() && !only.count(fallback_key(r.e)))) continue;
    out.patch.edits.push_back(*r.edit);
    used_exts.insert(r.exts.begin(), r.exts.end());
    for (auto& [file, ext, alias] : r.probes) {
      auto& lines = probes[file];
      if (std::find(lines.begin(), lines.end(), fmt::format("    import {} as {}", ext, alias)) !=
          lines.end())
        continue;
      for (auto& l :
           {std::string("try:"), fmt::format("    import {} as {}", ext, alias),
            fmt::format("except ModuleNotFoundError:  # {}: the CUDA extension is not built on the NPU",
                        kFallbackMarker),
            fmt::format("    {} = None", alias)})
        lines.push_back(l);
    }
  }
  // Guards only for the extensions a routed entry point needs: elsewhere an import error at load
  // time says more than a None at the first call.
  std::vector<std::string> guarded;
  for (auto& [ext, edits] : a.guard_edits) {
    if (!used_exts.count(ext)) {
      out.notes.push_back(
          fmt::format("not guarded: `import {}`: no entry point reaching it has a reference", ext));
      continue;
    }
    out.patch.edits.insert(out.patch.edits.end(), edits.begin(), edits.end());
    for (auto& ed : edits) guarded.push_back(fmt::format("{}: import {}", ed.file, ext));
  }
  out.guarded = guarded;
  for (auto& [file, lines] : probes) {
    auto bytes = read_file(root / file);
    out.patch.edits.push_back(insert_after_imports(file, bytes, lines));
  }
  return out;
}

}  // namespace kcat::patch
