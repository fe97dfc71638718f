// Python is resolved, not grepped: imports and aliases become qualified names, string literals
// are judged by what they are (a device string, an environment variable, a backend name) and by
// where they stand (code, comment, docstring), and only then are rules matched.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "kcat/core/glob.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/parser.h"
#include "kcat/scan/python_scope.h"
#include "python_literals.h"
#include "python_mask.h"
#include "python_partial.h"
#include "python_query.h"
#include "python_rules.h"
#include "python_ts.h"

namespace kcat::scan {

namespace {

using namespace py;  // NOLINT: the analyzer is made of the python_* files

// Specificity of a glob: its literal characters. "torch.cuda.amp.*" beats "torch.cuda.*".
size_t specificity(const std::string& pattern) {
  return static_cast<size_t>(std::count_if(pattern.begin(), pattern.end(), [](char c) { return c != '*'; }));
}

const RE2& device_re() {
  // 'cuda', 'cuda:0', f'cuda:{rank}', 'cuda:%d', 'cuda:{}', 'cuda:{0}'. f-string interpolations
  // are rendered as {}.
  static const RE2 re(R"(cuda(:(\d+|%d|%s|%i|\{[^{}]*\})?)?)");
  return re;
}

const RE2& mention_re() {
  // A word, or the head of an identifier such as NCCL_DEBUG or cuda_graph, never "cudaless".
  static const RE2 re(std::string(R"((?i)(^|[^a-z0-9_])()") + kMentionWords + R"()([^a-z0-9]|$))");
  return re;
}

// The Python grammar's symbols, looked up once.
const Symbols& python_symbols() {
  static const Symbols s(grammar("python"));
  return s;
}

class PythonAnalyzer {
 public:
  PythonAnalyzer(const SourceFile& file, const Compiled& rules)
      : file_(file), src_(file.bytes), rules_(rules) {
    // flash_attn/ops/x.py importing flash_attn.y is the package itself, not a user of it.
    auto slash = file.path.find('/');
    if (slash != std::string::npos) package_ = file.path.substr(0, slash);
  }

  // `whole`: parse every statement (a notebook cell always is: cells share their names).
  std::vector<Finding> run(AnalyzeStats* stats, PythonScope* scope = nullptr, bool whole = false) {
    if (scope) {
      bindings_.insert(scope->bindings.begin(), scope->bindings.end());
      guarded_names_.insert(scope->guarded.begin(), scope->guarded.end());
    }
    std::optional<PartialParse> partial;
    if (!scope && !whole && rules_.triggers) partial = PartialParse::plan(src_, *rules_.triggers);
    partial_ = partial.has_value();
    auto tree = partial ? parse("python", src_, partial->ranges()) : parse("python", src_);
    TSNode root = ts_tree_root_node(tree.get());
    walk(
        root,
        [&](TSNode n, const std::vector<TSNode>& parents) {
          if (is(n, S.import_statement) || is(n, S.import_from_statement))
            collect_import(n, guarded(parents));
        },
        [](TSNode n) { return may_hold_import(n); });
    if (partial) {
      // Every import was in the tree, so the bindings are the file's; the statements that use a
      // name bound to something CUDA-ish hold no literal themselves: parse again with them.
      std::vector<std::string> names;
      for (auto& [local, qualified] : bindings_) {
        if (rules_.triggers->interesting_binding(local, qualified)) names.push_back(local);
      }
      if (partial->include_naming(names)) {
        tree = parse("python", src_, partial->ranges());
        root = ts_tree_root_node(tree.get());
      }
    }
    if (stats) {
      stats->parsed = true;
      stats->syntax_errors = count_syntax_errors(root);
      stats->bytes_parsed = partial ? partial->included_bytes() : src_.size();
    }
    if (scope) {
      for (auto& [local, qualified] : bindings_) scope->bindings[local] = qualified;
      scope->guarded.insert(guarded_names_.begin(), guarded_names_.end());
    }
    walk(root, [&](TSNode n, const std::vector<TSNode>& parents) { visit(n, parents); });
    if (needs_whole_) return PythonAnalyzer(file_, rules_).run(stats, nullptr, true);
    run_queries(root);
    std::sort(out_.begin(), out_.end());
    // One finding per span and rule; two rules on the same bytes keep the first (most specific).
    out_.erase(std::unique(out_.begin(), out_.end(),
                           [](const Finding& a, const Finding& b) {
                             return a.span.begin == b.span.begin && a.span.end == b.span.end;
                           }),
               out_.end());
    return std::move(out_);
  }

 private:
  std::string_view text(TSNode n) const { return node_text(n, src_); }

  // Depth-first with a tree cursor (linear: ts_node_child(n, i) would rescan siblings) and an
  // explicit parent stack, so deeply nested or broken code cannot overflow ours.
  // `enter(n)` false: n's children are not visited.
  template <class F, class E = bool (*)(TSNode)>
  void walk(
      TSNode root, F&& f, E enter = [](TSNode) { return true; }) {
    std::vector<TSNode> parents;
    TSTreeCursor cur = ts_tree_cursor_new(root);
    while (true) {
      TSNode n = ts_tree_cursor_current_node(&cur);
      f(n, parents);
      if (enter(n) && ts_tree_cursor_goto_first_child(&cur)) {
        parents.push_back(n);
        continue;
      }
      bool done = false;
      while (!ts_tree_cursor_goto_next_sibling(&cur)) {
        if (!ts_tree_cursor_goto_parent(&cur)) {
          done = true;
          break;
        }
        parents.pop_back();
      }
      if (done) break;
    }
    ts_tree_cursor_delete(&cur);
  }

  // An import statement stands only in a module, a block, or (broken code) an ERROR node: these
  // error-free statements and expressions never hold one, and make up most of a tree. Skipping
  // them is what makes the import pass cheap.
  static bool may_hold_import(TSNode n) {
    if (ts_node_has_error(n)) return true;
    static const std::vector<bool> leaves = [] {
      static constexpr const char* names[] = {"expression_statement",
                                              "return_statement",
                                              "assert_statement",
                                              "raise_statement",
                                              "delete_statement",
                                              "decorator",
                                              "parameters",
                                              "argument_list",
                                              "string",
                                              "comment",
                                              "call",
                                              "assignment",
                                              "comparison_operator",
                                              "boolean_operator",
                                              "attribute"};
      const Symbols& syms = python_symbols();
      std::vector<bool> v(ts_language_symbol_count(syms.language), false);
      for (const char* name : names) {
        TSSymbol sym = syms.of(name);
        if (sym < v.size()) v[sym] = true;
      }
      return v;
    }();
    TSSymbol sym = ts_node_symbol(n);
    return sym >= leaves.size() || !leaves[sym];
  }

  void bind(std::string local, std::string qualified) {
    if (binding_guarded_) guarded_names_.insert(local);
    bindings_[std::move(local)] = std::move(qualified);
  }

  // Imports bind names to qualified module paths; a name bound inside try/except ImportError is
  // remembered, since its uses sit on a path with a fallback.
  void collect_import(TSNode n, bool is_guarded) {
    binding_guarded_ = is_guarded;
    if (is(n, S.import_statement)) {
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        if (is(c, S.dotted_name)) {
          auto name = std::string(text(c));
          auto head = name.substr(0, name.find('.'));
          bind(head, head);
        } else if (is(c, S.aliased_import)) {
          bind(std::string(text(field(c, "alias"))), std::string(text(field(c, "name"))));
        }
      }
    } else if (is(n, S.import_from_statement)) {
      TSNode mod = field(n, "module_name");
      if (!is(mod, S.dotted_name)) return;  // relative imports name the project's own modules
      auto module = std::string(text(mod));
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        if (ts_node_eq(c, mod)) continue;
        if (is(c, S.dotted_name)) {
          bind(std::string(text(c)), module + "." + std::string(text(c)));
        } else if (is(c, S.aliased_import)) {
          bind(std::string(text(field(c, "alias"))), module + "." + std::string(text(field(c, "name"))));
        }
      }
    }
  }

  void add(const PyRule& r, uint32_t begin, uint32_t end, std::string matched, Context ctx = Context::Code,
           std::optional<Severity> severity = {}, bool codemod = true, std::string replacement = {}) {
    auto f = make_finding(*r.rule, file_, begin, end);
    f.matched = std::move(matched);
    f.context = ctx;
    if (severity) f.severity = *severity;
    if (ctx != Context::Code) {
      f.severity = Severity::Info;  // a mention never blocks
      codemod = false;
    }
    if (!codemod) f.codemod.clear();
    if (!replacement.empty()) f.replacement = std::move(replacement);
    if (f.codemod == "replace" && f.replacement.empty()) f.codemod.clear();
    out_.push_back(std::move(f));
  }

  bool inside(const std::vector<TSNode>& parents, TSSymbol type) const {
    return std::any_of(parents.begin(), parents.end(), [&](TSNode p) { return is(p, type); });
  }

  // ---- strings --------------------------------------------------------------------------------

  struct StringParts {
    std::string rendered;        // content with each interpolation rendered as {}
    uint32_t content_begin = 0;  // byte offset of the first content byte
    bool has_content = false;
  };

  StringParts string_parts(TSNode s) const {
    StringParts p;
    for (uint32_t i = 0; i < ts_node_child_count(s); ++i) {
      TSNode c = ts_node_child(s, i);
      if (is(c, S.string_content)) {
        if (!p.has_content && p.rendered.empty()) p.content_begin = ts_node_start_byte(c);
        p.has_content = true;
        p.rendered += text(c);
      } else if (is(c, S.interpolation)) {
        if (!p.has_content && p.rendered.empty()) p.content_begin = ts_node_start_byte(c);
        p.rendered += "{}";
      } else if (is(c, S.escape_sequence)) {
        p.rendered += text(c);
      }
    }
    return p;
  }

  bool is_docstring(const std::vector<TSNode>& parents) const {
    if (parents.empty()) return false;
    TSNode stmt = parents.back();
    if (is(stmt, S.concatenated_string) && parents.size() >= 2) stmt = parents[parents.size() - 2];
    if (!is(stmt, S.expression_statement) || ts_node_named_child_count(stmt) != 1) return false;
    TSNode body = ts_node_parent(stmt);
    if (ts_node_is_null(body)) return false;
    if (!is(body, S.module) && !is(body, S.block)) return false;
    // The first statement (comments aside) of a module, class or function.
    for (uint32_t i = 0; i < ts_node_named_child_count(body); ++i) {
      TSNode c = ts_node_named_child(body, i);
      if (is(c, S.comment)) continue;
      if (!ts_node_eq(c, stmt)) return false;
      break;
    }
    if (is(body, S.module)) return true;
    TSNode owner = ts_node_parent(body);
    return is(owner, S.function_definition) || is(owner, S.class_definition);
  }

  // "nvidia-smi --query-gpu=name": the rule's word when the literal starts with it as a word.
  static std::string leading_word(const PyRule& r, const std::string& s) {
    for (auto& w : r.words) {
      if (s.compare(0, w.size(), w) == 0 && (s.size() == w.size() || s[w.size()] == ' ')) return w;
    }
    return {};
  }

  // An environment variable's name: upper-case letters, digits and underscores only.
  static bool env_name(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
  }

  // getattr(obj, "CUDA_IMPL"): the string names an attribute, not a variable.
  bool attribute_name_argument(const std::vector<TSNode>& parents) const {
    if (parents.size() < 2 || !is(parents.back(), S.argument_list)) return false;
    TSNode call = parents[parents.size() - 2];
    if (!is(call, S.call)) return false;
    auto fn = text(field(call, "function"));
    return fn == "getattr" || fn == "hasattr" || fn == "setattr" || fn == "delattr";
  }

  std::optional<Severity> comparison_severity(const PyRule& r, const std::vector<TSNode>& parents) const {
    if (!parents.empty() && is(parents.back(), "comparison_operator")) return r.in_comparison;
    return std::nullopt;
  }

  void visit_string(TSNode s, const std::vector<TSNode>& parents) {
    if (inside(parents, S.import_statement) || inside(parents, S.import_from_statement)) return;
    auto parts = string_parts(s);
    bool doc = is_docstring(parents);
    bool matched = false;
    if (!doc && parts.has_content) {
      for (auto& r : rules_.rules) {
        if (r.kind == Kind::DeviceString && RE2::FullMatch(parts.rendered, device_re())) {
          add(r, parts.content_begin, parts.content_begin + 4, parts.rendered, Context::Code,
              comparison_severity(r, parents));
          matched = true;
          break;
        }
        if (r.kind == Kind::String &&
            std::find(r.values.begin(), r.values.end(), parts.rendered) != r.values.end()) {
          add(r, parts.content_begin, parts.content_begin + static_cast<uint32_t>(parts.rendered.size()),
              parts.rendered, Context::Code, comparison_severity(r, parents));
          matched = true;
          break;
        }
        if (r.kind == Kind::String && !r.words.empty()) {
          auto w = leading_word(r, parts.rendered);
          if (!w.empty()) {
            add(r, parts.content_begin, parts.content_begin + static_cast<uint32_t>(w.size()), w,
                Context::Code, comparison_severity(r, parents));
            matched = true;
            break;
          }
        }
        if (r.kind == Kind::String && std::any_of(r.globs.begin(), r.globs.end(),
                                                  [&](auto& g) { return glob_match(g, parts.rendered); })) {
          add(r, parts.content_begin, parts.content_begin + static_cast<uint32_t>(parts.rendered.size()),
              parts.rendered, Context::Code, comparison_severity(r, parents));
          matched = true;
          break;
        }
        if (r.kind == Kind::Env && env_name(parts.rendered) && !attribute_name_argument(parents) &&
            std::any_of(r.names.begin(), r.names.end(),
                        [&](auto& g) { return glob_match(g, parts.rendered); })) {
          add(r, parts.content_begin, parts.content_begin + static_cast<uint32_t>(parts.rendered.size()),
              parts.rendered);
          matched = true;
          break;
        }
      }
    }
    if (!matched) mention(s, doc ? Context::Docstring : Context::String);
  }

  // One info finding per line of a comment, docstring or message that names CUDA.
  // An f-string's interpolations are code (visited as such), not words of the message: only its
  // other parts are read. A mention there took the span of the code's own finding (`cuda` of
  // `f"{torch.cuda.memory_reserved()}"`) and, one finding per span, hid it from the port.
  void mention(TSNode n, Context ctx) {
    if (!is(n, S.string)) {
      uint32_t last_line = 0;
      mention_text(n, ctx, last_line);
      return;
    }
    uint32_t last_line = 0;
    for (uint32_t i = 0; i < ts_node_child_count(n); ++i) {
      TSNode c = ts_node_child(n, i);
      if (!is(c, S.interpolation)) mention_text(c, ctx, last_line);
    }
  }

  void mention_text(TSNode n, Context ctx, uint32_t& last_line) {
    const PyRule* it = rules_.mention;
    if (!it) return;
    auto t = text(n);
    re2::StringPiece rest(t.data(), t.size());
    re2::StringPiece word;
    while (RE2::FindAndConsume(&rest, mention_re(), nullptr, &word)) {
      auto begin = static_cast<uint32_t>(ts_node_start_byte(n) + (word.data() - t.data()));
      auto line = file_.index.position(begin).line;
      if (line != last_line) {
        add(*it, begin, begin + static_cast<uint32_t>(word.size()), std::string(word.data(), word.size()),
            ctx);
        last_line = line;
      }
      // The pattern consumed the character after the word: step back so "cuda cuda" finds both.
      const char* word_end = word.data() + word.size();
      rest = re2::StringPiece(word_end, static_cast<size_t>(t.data() + t.size() - word_end));
    }
  }

  // ---- names ----------------------------------------------------------------------------------

  // The dotted chain of an attribute or identifier, with the nodes of each prefix. Empty when the
  // chain starts at something other than a name (a call, a subscript, a literal).
  struct Chain {
    std::vector<TSNode> nodes;  // nodes[0] = head identifier, nodes[i] = attribute for prefix i
    std::vector<std::string> parts;
  };

  Chain chain_of(TSNode n) const {
    Chain c;
    while (is(n, S.attribute)) {
      c.nodes.push_back(n);
      c.parts.push_back(std::string(text(field(n, "attribute"))));
      n = field(n, "object");
    }
    if (!is(n, S.identifier)) return {};
    c.nodes.push_back(n);
    c.parts.push_back(std::string(text(n)));
    std::reverse(c.nodes.begin(), c.nodes.end());
    std::reverse(c.parts.begin(), c.parts.end());
    return c;
  }

  // Qualified name of the first k parts, through the import bindings ("" when the head is unbound).
  std::string qualified(const Chain& c, size_t k) const {
    auto it = bindings_.find(c.parts[0]);
    std::string q;
    if (it != bindings_.end()) {
      q = it->second;
    } else if (c.parts[0] == "torch") {
      q = "torch";  // a notebook cell or a snippet uses torch imported elsewhere
    } else {
      return {};
    }
    for (size_t i = 1; i < k; ++i) q += "." + c.parts[i];
    return q;
  }

  void visit_name(TSNode n, const std::vector<TSNode>& parents) {
    // A chain whose head is no bound name resolves to nothing (qualified() is ""): checked first
    // (every check here only returns), since most names in a file are such.
    TSNode head = n;
    while (is(head, S.attribute)) head = field(head, "object");
    if (!is(head, S.identifier)) return;
    if (auto h = text(head); h != "torch" && bindings_.find(h) == bindings_.end()) return;
    if (!parents.empty()) {
      TSNode p = parents.back();
      // Only the whole chain is matched, never its object part on its own.
      if (is(p, S.attribute) && ts_node_eq(field(p, "object"), n)) return;
      if (is(p, S.attribute) && ts_node_eq(field(p, "attribute"), n)) return;
      if (is(p, S.keyword_argument) && ts_node_eq(field(p, "name"), n)) return;
      if ((is(p, S.function_definition) || is(p, S.class_definition)) && ts_node_eq(field(p, "name"), n))
        return;
      if (is(p, S.parameters) || is(p, S.default_parameter) || is(p, S.typed_parameter)) return;
    }
    if (inside(parents, S.import_statement) || inside(parents, S.import_from_statement)) return;
    auto c = chain_of(n);
    if (c.parts.empty()) return;
    // The longest prefix that a rule names: `torch.version.cuda.split(".")` is `torch.version.cuda`.
    for (size_t k = c.parts.size(); k >= 1; --k) {
      auto q = qualified(c, k);
      if (q.empty() || own_package(q)) return;
      const PyRule* best = nullptr;
      size_t best_spec = 0;
      for (auto& r : rules_.rules) {
        if (r.kind != Kind::Api || excluded(r, q)) continue;
        if (r.cuda_sources && (k != c.parts.size() || !names_cuda_sources(n, parents))) continue;
        for (auto& g : r.names) {
          if (glob_match(g, q) && (!best || specificity(g) > best_spec)) {
            best = &r;
            best_spec = specificity(g);
          }
        }
      }
      if (!best) continue;
      report_api(*best, c, k, std::move(q));
      if (k == c.parts.size()) name_cuda_sources(n, parents);
      return;
    }
  }

  void report_api(const PyRule& rule, const Chain& c, size_t k, std::string q) {
    std::optional<Severity> sev;
    if (rule.guarded && guarded_names_.count(c.parts[0])) sev = rule.guarded;
    // The codemod swaps one segment written in the source, e.g. `cuda` of `torch.cuda`.
    for (size_t i = 2; i <= k && !rule.swap.empty(); ++i) {
      if (qualified(c, i) == rule.swap && c.parts[0] != c.parts[i - 1]) {
        TSNode seg = field(c.nodes[i - 1], "attribute");
        add(rule, ts_node_start_byte(seg), ts_node_end_byte(seg), std::move(q), Context::Code, sev);
        return;
      }
    }
    TSNode whole = c.nodes[k - 1];
    // `whole`: the codemod rewrites the entire chain (torch.backends.cuda.matmul.allow_tf32 ->
    // torch_npu.npu.matmul.allow_hf32), which is right whatever alias the chain starts from.
    add(rule, ts_node_start_byte(whole), ts_node_end_byte(whole), std::move(q), Context::Code, sev,
        rule.whole);
  }

  void visit_method(TSNode n, const std::vector<TSNode>& parents) {
    TSNode attr = field(n, "attribute");
    auto name = text(attr);
    if (!rules_.method_names.count(name)) return;
    for (auto& r : rules_.rules) {
      if (r.kind != Kind::Method || std::find(r.names.begin(), r.names.end(), name) == r.names.end())
        continue;
      bool called =
          !parents.empty() && is(parents.back(), S.call) && ts_node_eq(field(parents.back(), "function"), n);
      if (r.call && !called) continue;
      // `torch.cuda` is a module attribute (an api rule's business), not a tensor method.
      auto c = chain_of(field(n, "object"));
      if (!c.parts.empty() && !qualified(c, c.parts.size()).empty()) continue;
      add(r, ts_node_start_byte(attr), ts_node_end_byte(attr),
          "." + std::string(name) + (called ? "()" : ""));
      return;
    }
  }

  void visit_keyword(TSNode n) {
    auto name = text(field(n, "name"));
    if (!rules_.keyword_names.count(name)) return;
    for (auto& r : rules_.rules) {
      if (r.kind == Kind::Keyword && std::find(r.names.begin(), r.names.end(), name) != r.names.end()) {
        // `values`: only these written values (tf32=True raises off CUDA; tf32=False does not).
        auto value = text(field(n, "value"));
        if (!r.values.empty() && std::find(r.values.begin(), r.values.end(), value) == r.values.end())
          continue;
        TSNode key = field(n, "name");
        add(r, ts_node_start_byte(key), ts_node_end_byte(n), std::string(text(n)));
      }
    }
  }

  bool own_package(const std::string& q) const {
    return !package_.empty() && q.compare(0, package_.size(), package_) == 0 &&
           (q.size() == package_.size() || q[package_.size()] == '.');
  }

  static bool excluded(const PyRule& r, const std::string& q) {
    return std::any_of(r.excludes.begin(), r.excludes.end(), [&](auto& g) { return glob_match(g, q); });
  }

  // `load(name, sources=[...])` builds CUDA when a source is .cu or CUDA flags are passed.
  // A call given CUDA sources (CUDAExtension(name, ['a.cu', 'b.cu'])): its one finding names them, so a
  // person sees the extension's kernels on one line instead of a finding per string.
  void name_cuda_sources(TSNode n, const std::vector<TSNode>& parents) {
    if (parents.empty() || !is(parents.back(), S.call) || !ts_node_eq(field(parents.back(), "function"), n))
      return;
    static const RE2 cu_re(R"re(["']([^"'\n]+\.cuh?)["'])re");
    auto args = text(field(parents.back(), "arguments"));
    re2::StringPiece rest(args.data(), args.size());
    std::string path;
    std::vector<std::string> sources;
    while (RE2::FindAndConsume(&rest, cu_re, &path)) sources.push_back(path);
    if (sources.empty() || out_.empty()) return;
    std::string list;
    for (size_t i = 0; i < sources.size() && i < 6; ++i) list += (i ? ", " : "") + sources[i];
    if (sources.size() > 6) list += fmt::format(" and {} more", sources.size() - 6);
    out_.back().message += fmt::format(" ({} CUDA source(s): {})", sources.size(), list);
  }

  bool names_cuda_sources(TSNode n, const std::vector<TSNode>& parents) const {
    if (parents.empty() || !is(parents.back(), S.call) || !ts_node_eq(field(parents.back(), "function"), n)) {
      return false;
    }
    auto args = text(field(parents.back(), "arguments"));
    auto has = [&](std::initializer_list<std::string_view> needles) {
      return std::any_of(needles.begin(), needles.end(),
                         [&](std::string_view x) { return args.find(x) != std::string_view::npos; });
    };
    if (has({".cu'", ".cu\"", "cuda_sources", "with_cuda=True", "extra_cuda_cflags"})) return true;
    // Sources held in a variable may be .cu: only plainly C++-only calls are let go.
    return !has({".cpp'", ".cpp\"", ".cc'", ".cc\""});
  }

  // ---- imports --------------------------------------------------------------------------------

  // Inside try/except ImportError, or under `if is_flash_attn_2_available():` (transformers'
  // style) or an importlib find_spec check: the code has a path without the package.
  bool guarded(const std::vector<TSNode>& parents) const {
    for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
      if (is(*it, "if_statement")) {
        auto cond = text(field(*it, "condition"));
        if (cond.find("available") != std::string_view::npos ||
            cond.find("find_spec") != std::string_view::npos) {
          return true;
        }
      }
      if (!is(*it, "try_statement")) continue;
      for (uint32_t i = 0; i < ts_node_named_child_count(*it); ++i) {
        TSNode c = ts_node_named_child(*it, i);
        if (!is(c, "except_clause")) continue;
        TSNode v = field(c, "value");
        if (ts_node_is_null(v)) return true;  // bare except
        auto t = text(v);
        if (t.find("ImportError") != std::string_view::npos ||
            t.find("ModuleNotFoundError") != std::string_view::npos ||
            t.find("Exception") != std::string_view::npos) {
          return true;
        }
      }
    }
    return false;
  }

  const PyRule* import_rule(const std::string& module, size_t* spec) const {
    if (own_package(module)) return nullptr;
    const PyRule* best = nullptr;
    for (auto& r : rules_.rules) {
      if (r.kind != Kind::Import || excluded(r, module)) continue;
      for (auto& g : r.names) {
        // "flash_attn" also covers "flash_attn.flash_attn_interface".
        if ((glob_match(g, module) || glob_match(g + ".*", module)) && (!best || specificity(g) > *spec)) {
          best = &r;
          *spec = specificity(g);
        }
      }
    }
    return best;
  }

  void visit_import(TSNode n, const std::vector<TSNode>& parents) {
    bool is_guarded = guarded(parents);
    auto report = [&](const PyRule& r, TSNode span, const std::string& module, std::string replacement) {
      std::optional<Severity> sev;
      if (is_guarded) sev = r.guarded;
      add(r, ts_node_start_byte(span), ts_node_end_byte(span), module, Context::Code, sev, true,
          std::move(replacement));
    };
    if (is(n, S.import_statement)) {
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        TSNode name = is(c, S.aliased_import) ? field(c, "name") : c;
        if (!is(name, S.dotted_name)) continue;
        size_t spec = 0;
        auto module = std::string(text(name));
        if (auto* r = import_rule(module, &spec)) report(*r, name, module, {});
      }
      return;
    }
    TSNode mod = field(n, "module_name");
    if (!is(mod, S.dotted_name)) return;
    auto module = std::string(text(mod));
    size_t spec = 0;
    if (auto* r = import_rule(module, &spec)) {
      report(*r, mod, module, {});
      return;
    }
    // `from torch import cuda`: the imported name is the CUDA module.
    for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
      TSNode c = ts_node_named_child(n, i);
      if (ts_node_eq(c, mod)) continue;
      bool aliased = is(c, S.aliased_import);
      TSNode name = aliased ? field(c, "name") : c;
      if (!is(name, S.dotted_name)) continue;
      auto full = module + "." + std::string(text(name));
      size_t s2 = 0;
      auto* r = import_rule(full, &s2);
      if (!r) continue;
      std::string repl;
      if (!r->name_replacement.empty()) {
        repl = aliased ? r->name_replacement : r->name_replacement + " as " + std::string(text(name));
      }
      report(*r, name, full, repl);
    }
  }

  // ---- scaled_dot_product_attention masks ------------------------------------------------------

  void visit_call(TSNode n, const std::vector<TSNode>& parents) {
    TSNode fn = field(n, "function");
    auto c = chain_of(fn);
    if (c.parts.empty()) return;
    auto q = qualified(c, c.parts.size());
    for (auto& r : rules_.rules) {
      if (r.kind != Kind::SdpaMask) continue;
      if (!std::any_of(r.names.begin(), r.names.end(), [&](auto& g) { return glob_match(g, q); })) continue;
      TSNode args = field(n, "arguments");
      TSNode mask{};
      bool causal = false;
      uint32_t positional = 0;
      for (uint32_t i = 0; i < ts_node_named_child_count(args); ++i) {
        TSNode a = ts_node_named_child(args, i);
        if (is(a, S.keyword_argument)) {
          auto k = text(field(a, "name"));
          if (k == "attn_mask") mask = field(a, "value");
          if (k == "is_causal" && text(field(a, "value")) == "True") causal = true;
        } else if (!is(a, S.comment)) {
          if (++positional == 4) mask = a;
        }
      }
      if (ts_node_is_null(mask) || causal) return;
      TSNode scope = n;
      for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
        if (is(*it, S.function_definition) || is(*it, S.module)) {
          scope = *it;
          break;
        }
      }
      if (partial_ && is(scope, S.module)) {
        needs_whole_ = true;  // the mask may be assigned in a statement that was not parsed
        return;
      }
      auto kind = classify_mask(mask, scope, src_);
      if (kind == MaskKind::Bool) return;
      auto f_sev = kind == MaskKind::Float ? Severity::Blocking : Severity::Warning;
      add(r, ts_node_start_byte(mask), ts_node_end_byte(mask),
          q + "(attn_mask=" + std::string(text(mask)) + ")", Context::Code, f_sev, false);
      return;
    }
  }

  void visit(TSNode n, const std::vector<TSNode>& parents) {
    TSSymbol type = ts_node_symbol(n);
    if (type == S.comment) {
      mention(n, Context::Comment);
    } else if (type == S.string) {
      visit_string(n, parents);
    } else if (type == S.attribute) {
      visit_method(n, parents);
      visit_name(n, parents);
    } else if (type == S.identifier) {
      visit_name(n, parents);
    } else if (type == S.keyword_argument) {
      visit_keyword(n);
    } else if (type == S.import_statement || type == S.import_from_statement) {
      visit_import(n, parents);
    } else if (type == S.call) {
      visit_call(n, parents);
    }
  }

  void run_queries(TSNode root) {
    if (rules_.queries.empty()) return;
    TSQueryCursor* cur = ts_query_cursor_new();
    for (auto& [rule, q] : rules_.queries) {
      ts_query_cursor_exec(cur, q.get(), root);
      TSQueryMatch m;
      while (ts_query_cursor_next_match(cur, &m)) {
        if (!predicates_hold(q.get(), m, src_)) continue;
        for (uint16_t i = 0; i < m.capture_count; ++i) {
          uint32_t len = 0;
          const char* name = ts_query_capture_name_for_id(q.get(), m.captures[i].index, &len);
          if (std::string_view(name, len) != "match") continue;
          TSNode node = m.captures[i].node;
          auto f = make_finding(*rule, file_, ts_node_start_byte(node), ts_node_end_byte(node));
          if (is(node, S.comment)) {  // a user's query may capture one: a comment never blocks
            f.context = Context::Comment;
            f.severity = Severity::Info;
            f.codemod.clear();
          }
          out_.push_back(std::move(f));
        }
      }
    }
    ts_query_cursor_delete(cur);
  }

  const Symbols& S = python_symbols();
  const SourceFile& file_;
  std::string_view src_;
  const Compiled& rules_;
  std::string package_;  // the top folder of the file's path: the package it belongs to
  // Looked up by string_view (every identifier of the file is), without making a string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view v) const { return std::hash<std::string_view>{}(v); }
  };
  std::unordered_map<std::string, std::string, Hash, std::equal_to<>> bindings_;
  std::unordered_set<std::string> guarded_names_;
  bool binding_guarded_ = false;
  bool partial_ = false;      // the tree holds only some statements (python_partial.h)
  bool needs_whole_ = false;  // something in it depends on a statement that may be missing
  std::vector<Finding> out_;
};

}  // namespace

std::vector<Finding> analyze_python(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats,
                                    PythonParse how) {
  auto compiled = py::compile_python_rules(rules);
  PythonAnalyzer a(file, *compiled);
  auto found = a.run(stats, nullptr, how == PythonParse::Whole);
  py::judge_literals(file.bytes, found);
  return found;
}

std::vector<Finding> analyze_python(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats,
                                    PythonScope& scope) {
  auto compiled = py::compile_python_rules(rules);
  PythonAnalyzer a(file, *compiled);
  auto found = a.run(stats, &scope);
  py::judge_literals(file.bytes, found);
  return found;
}

}  // namespace kcat::scan
