// Python is resolved, not grepped: imports and aliases become qualified names, string literals
// are judged by what they are (a device string, an environment variable, a backend name) and by
// where they stand (code, comment, docstring), and only then are rules matched.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "kcat/core/error.h"
#include "kcat/core/glob.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/parser.h"

namespace kcat::scan {

namespace {

std::vector<std::string> strings_of(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  const auto& v = j.at(key);
  if (v.is_string()) out.push_back(v.get<std::string>());
  if (v.is_array()) {
    for (auto& s : v) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

// A "python" rule with its parameters read once.
struct PyRule {
  std::shared_ptr<const kb::Rule> rule;  // a copy: the compiled set outlives the caller's RuleSet
  std::string kind;
  std::vector<std::string> names;    // api / import / method / keyword / sdpa: globs or identifiers
  std::vector<std::string> values;   // string: exact literal contents
  std::string swap;                  // api: qualified prefix whose last segment the codemod replaces
  std::string name_replacement;      // import: replacement for `from X import <name>`
  bool call = false;                 // method: only when called
  std::optional<Severity> guarded;   // import inside try/except ImportError
  std::optional<Severity> in_comparison;  // string / device: severity when compared with ==
};

struct Compiled {
  std::vector<PyRule> rules;
  std::vector<std::pair<std::shared_ptr<const kb::Rule>, Query>> queries;
};

// Queries are expensive to compile: once per distinct rule content (the fingerprint), shared by
// every thread. Rules are copied in, so nothing points into the caller's RuleSet.
std::shared_ptr<const Compiled> compile(const kb::RuleSet& rules) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Compiled>> cache;
  auto key = rules.fingerprint();
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto c = std::make_shared<Compiled>();
  for (auto& r : rules.rules) {
    if (!r.applies_to("python")) continue;
    if (r.matcher == "query") {
      c->queries.emplace_back(std::make_shared<const kb::Rule>(r),
                              compile_query("python", r.query, r.origin + " (rule " + r.id + ")"));
      continue;
    }
    if (r.matcher != "python") continue;
    PyRule p;
    p.rule = std::make_shared<const kb::Rule>(r);
    p.kind = r.match.value("kind", "");
    p.names = strings_of(r.match, "names");
    p.values = strings_of(r.match, "values");
    p.swap = r.match.value("swap", "");
    p.name_replacement = r.match.value("name_replacement", "");
    p.call = r.match.value("call", false);
    if (r.match.contains("guarded_severity")) p.guarded = parse_severity(r.match.value("guarded_severity", ""));
    if (r.match.contains("comparison_severity")) {
      p.in_comparison = parse_severity(r.match.value("comparison_severity", ""));
    }
    static const std::vector<std::string> kinds = {"api", "import", "method", "device-string", "string", "env",
                                                   "keyword", "sdpa-mask", "mention"};
    if (std::find(kinds.begin(), kinds.end(), p.kind) == kinds.end()) {
      throw Error(ErrorKind::Usage, "unknown python match kind '" + p.kind + "'", r.origin + " (rule " + r.id + ")",
                  "use one of: api import method device-string string env keyword sdpa-mask mention");
    }
    c->rules.push_back(std::move(p));
  }
  cache.emplace(key, c);
  return c;
}

// Specificity of a glob: its literal characters. "torch.cuda.amp.*" beats "torch.cuda.*".
size_t specificity(const std::string& pattern) {
  return static_cast<size_t>(std::count_if(pattern.begin(), pattern.end(), [](char c) { return c != '*'; }));
}

bool is(TSNode n, const char* type) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), type) == 0; }

TSNode field(TSNode n, const char* name) {
  return ts_node_child_by_field_name(n, name, static_cast<uint32_t>(std::strlen(name)));
}

const RE2& device_re() {
  // 'cuda', 'cuda:0', f'cuda:{rank}', 'cuda:%d', 'cuda:{}'. Interpolations are rendered as {}.
  static const RE2 re(R"(cuda(:(\d+|%d|%s|%i|\{\})?)?)");
  return re;
}

const RE2& mention_re() {
  static const RE2 re(R"((?i)(^|[^a-z0-9_])(cuda|nccl|cudnn|nvidia|nvcc|cublas)([^a-z0-9_]|$))");
  return re;
}

class PythonAnalyzer {
 public:
  PythonAnalyzer(const SourceFile& file, const Compiled& rules) : file_(file), src_(file.bytes), rules_(rules) {}

  std::vector<Finding> run(AnalyzeStats* stats) {
    auto tree = parse("python", src_);
    TSNode root = ts_tree_root_node(tree.get());
    if (stats) {
      stats->parsed = true;
      stats->syntax_errors = count_syntax_errors(root);
    }
    walk(root, [&](TSNode n, const std::vector<TSNode>&) { collect_import(n); });
    walk(root, [&](TSNode n, const std::vector<TSNode>& parents) { visit(n, parents); });
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

  // Depth-first with an explicit stack: deeply nested (or broken) code must not overflow ours.
  template <class F>
  void walk(TSNode root, F&& f) {
    std::vector<TSNode> parents;
    std::vector<std::pair<TSNode, size_t>> stack{{root, 0}};
    while (!stack.empty()) {
      auto [n, depth] = stack.back();
      stack.pop_back();
      parents.resize(depth);
      f(n, parents);
      parents.push_back(n);
      uint32_t count = ts_node_child_count(n);
      for (uint32_t i = count; i > 0; --i) stack.emplace_back(ts_node_child(n, i - 1), depth + 1);
    }
  }

  void bind(std::string local, std::string qualified) { bindings_[std::move(local)] = std::move(qualified); }

  void collect_import(TSNode n) {
    if (is(n, "import_statement")) {
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        if (is(c, "dotted_name")) {
          auto name = std::string(text(c));
          auto head = name.substr(0, name.find('.'));
          bind(head, head);
        } else if (is(c, "aliased_import")) {
          bind(std::string(text(field(c, "alias"))), std::string(text(field(c, "name"))));
        }
      }
    } else if (is(n, "import_from_statement")) {
      TSNode mod = field(n, "module_name");
      if (!is(mod, "dotted_name")) return;  // relative imports name the project's own modules
      auto module = std::string(text(mod));
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        if (ts_node_eq(c, mod)) continue;
        if (is(c, "dotted_name")) {
          bind(std::string(text(c)), module + "." + std::string(text(c)));
        } else if (is(c, "aliased_import")) {
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

  bool inside(const std::vector<TSNode>& parents, const char* type) const {
    return std::any_of(parents.begin(), parents.end(), [&](TSNode p) { return is(p, type); });
  }

  // ---- strings --------------------------------------------------------------------------------

  struct StringParts {
    std::string rendered;       // content with each interpolation rendered as {}
    uint32_t content_begin = 0; // byte offset of the first content byte
    bool has_content = false;
  };

  StringParts string_parts(TSNode s) const {
    StringParts p;
    for (uint32_t i = 0; i < ts_node_child_count(s); ++i) {
      TSNode c = ts_node_child(s, i);
      if (is(c, "string_content")) {
        if (!p.has_content && p.rendered.empty()) p.content_begin = ts_node_start_byte(c);
        p.has_content = true;
        p.rendered += text(c);
      } else if (is(c, "interpolation")) {
        if (!p.has_content && p.rendered.empty()) p.content_begin = ts_node_start_byte(c);
        p.rendered += "{}";
      } else if (is(c, "escape_sequence")) {
        p.rendered += text(c);
      }
    }
    return p;
  }

  bool is_docstring(const std::vector<TSNode>& parents) const {
    if (parents.empty()) return false;
    TSNode stmt = parents.back();
    if (is(stmt, "concatenated_string") && parents.size() >= 2) stmt = parents[parents.size() - 2];
    if (!is(stmt, "expression_statement") || ts_node_named_child_count(stmt) != 1) return false;
    TSNode body = ts_node_parent(stmt);
    if (ts_node_is_null(body)) return false;
    if (!is(body, "module") && !is(body, "block")) return false;
    // The first statement (comments aside) of a module, class or function.
    for (uint32_t i = 0; i < ts_node_named_child_count(body); ++i) {
      TSNode c = ts_node_named_child(body, i);
      if (is(c, "comment")) continue;
      if (!ts_node_eq(c, stmt)) return false;
      break;
    }
    if (is(body, "module")) return true;
    TSNode owner = ts_node_parent(body);
    return is(owner, "function_definition") || is(owner, "class_definition");
  }

  std::optional<Severity> comparison_severity(const PyRule& r, const std::vector<TSNode>& parents) const {
    if (!parents.empty() && is(parents.back(), "comparison_operator")) return r.in_comparison;
    return std::nullopt;
  }

  void visit_string(TSNode s, const std::vector<TSNode>& parents) {
    if (inside(parents, "import_statement") || inside(parents, "import_from_statement")) return;
    auto parts = string_parts(s);
    bool doc = is_docstring(parents);
    bool matched = false;
    if (!doc && parts.has_content) {
      for (auto& r : rules_.rules) {
        if (r.kind == "device-string" && RE2::FullMatch(parts.rendered, device_re())) {
          add(r, parts.content_begin, parts.content_begin + 4, parts.rendered, Context::Code,
              comparison_severity(r, parents));
          matched = true;
          break;
        }
        if (r.kind == "string" &&
            std::find(r.values.begin(), r.values.end(), parts.rendered) != r.values.end()) {
          add(r, parts.content_begin, parts.content_begin + static_cast<uint32_t>(parts.rendered.size()),
              parts.rendered, Context::Code, comparison_severity(r, parents));
          matched = true;
          break;
        }
        if (r.kind == "env" && parts.rendered.find('{') == std::string::npos &&
            std::any_of(r.names.begin(), r.names.end(), [&](auto& g) { return glob_match(g, parts.rendered); })) {
          add(r, parts.content_begin, parts.content_begin + static_cast<uint32_t>(parts.rendered.size()),
              parts.rendered);
          matched = true;
          break;
        }
      }
    }
    if (!matched) mention(s, doc ? Context::Docstring : Context::String);
  }

  void mention(TSNode n, Context ctx) {
    auto t = text(n);
    re2::StringPiece sp(t.data(), t.size());
    re2::StringPiece word;
    if (!RE2::PartialMatch(sp, mention_re(), nullptr, &word)) return;
    for (auto& r : rules_.rules) {
      if (r.kind != "mention") continue;
      auto begin = static_cast<uint32_t>(ts_node_start_byte(n) + (word.data() - t.data()));
      add(r, begin, begin + static_cast<uint32_t>(word.size()), std::string(word.data(), word.size()), ctx);
      return;
    }
  }

  // ---- names ----------------------------------------------------------------------------------

  // The dotted chain of an attribute or identifier, with the nodes of each prefix. Empty when the
  // chain starts at something other than a name (a call, a subscript, a literal).
  struct Chain {
    std::vector<TSNode> nodes;     // nodes[0] = head identifier, nodes[i] = attribute for prefix i
    std::vector<std::string> parts;
  };

  Chain chain_of(TSNode n) const {
    Chain c;
    while (is(n, "attribute")) {
      c.nodes.push_back(n);
      c.parts.push_back(std::string(text(field(n, "attribute"))));
      n = field(n, "object");
    }
    if (!is(n, "identifier")) return {};
    c.nodes.push_back(n);
    c.parts.push_back(std::string(text(n)));
    std::reverse(c.nodes.begin(), c.nodes.end());
    std::reverse(c.parts.begin(), c.parts.end());
    return c;
  }

  // Qualified name of the first k parts, through the import bindings ("" when the head is unbound).
  std::string qualified(const Chain& c, size_t k) const {
    auto it = bindings_.find(c.parts[0]);
    if (it == bindings_.end()) return {};
    std::string q = it->second;
    for (size_t i = 1; i < k; ++i) q += "." + c.parts[i];
    return q;
  }

  void visit_name(TSNode n, const std::vector<TSNode>& parents) {
    if (!parents.empty()) {
      TSNode p = parents.back();
      // Only the whole chain is matched, never its object part on its own.
      if (is(p, "attribute") && ts_node_eq(field(p, "object"), n)) return;
      if (is(p, "attribute") && ts_node_eq(field(p, "attribute"), n)) return;
      if (is(p, "keyword_argument") && ts_node_eq(field(p, "name"), n)) return;
      if ((is(p, "function_definition") || is(p, "class_definition")) && ts_node_eq(field(p, "name"), n)) return;
      if (is(p, "parameters") || is(p, "default_parameter") || is(p, "typed_parameter")) return;
    }
    if (inside(parents, "import_statement") || inside(parents, "import_from_statement")) return;
    auto c = chain_of(n);
    if (c.parts.empty()) return;
    auto q = qualified(c, c.parts.size());
    if (q.empty()) return;
    const PyRule* best = nullptr;
    size_t best_spec = 0;
    for (auto& r : rules_.rules) {
      if (r.kind != "api") continue;
      for (auto& g : r.names) {
        if (glob_match(g, q) && (!best || specificity(g) > best_spec)) {
          best = &r;
          best_spec = specificity(g);
        }
      }
    }
    if (!best) return;
    // The codemod swaps one segment written in the source, e.g. `cuda` of `torch.cuda`.
    for (size_t k = 2; k <= c.parts.size() && !best->swap.empty(); ++k) {
      if (qualified(c, k) == best->swap && c.parts[0] != c.parts[k - 1]) {
        TSNode seg = field(c.nodes[k - 1], "attribute");
        add(*best, ts_node_start_byte(seg), ts_node_end_byte(seg), q);
        return;
      }
    }
    add(*best, ts_node_start_byte(n), ts_node_end_byte(n), q, Context::Code, std::nullopt, false);
  }

  void visit_method(TSNode n, const std::vector<TSNode>& parents) {
    TSNode attr = field(n, "attribute");
    auto name = text(attr);
    for (auto& r : rules_.rules) {
      if (r.kind != "method" || std::find(r.names.begin(), r.names.end(), name) == r.names.end()) continue;
      bool called = !parents.empty() && is(parents.back(), "call") && ts_node_eq(field(parents.back(), "function"), n);
      if (r.call && !called) continue;
      // `torch.cuda` is a module attribute (an api rule's business), not a tensor method.
      auto c = chain_of(field(n, "object"));
      if (!c.parts.empty() && !qualified(c, c.parts.size()).empty()) continue;
      add(r, ts_node_start_byte(attr), ts_node_end_byte(attr), "." + std::string(name) + (called ? "()" : ""));
      return;
    }
  }

  void visit_keyword(TSNode n) {
    auto name = text(field(n, "name"));
    for (auto& r : rules_.rules) {
      if (r.kind == "keyword" && std::find(r.names.begin(), r.names.end(), name) != r.names.end()) {
        TSNode key = field(n, "name");
        add(r, ts_node_start_byte(key), ts_node_end_byte(n), std::string(text(n)));
      }
    }
  }

  // ---- imports --------------------------------------------------------------------------------

  bool guarded(const std::vector<TSNode>& parents) const {
    for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
      if (!is(*it, "try_statement")) continue;
      for (uint32_t i = 0; i < ts_node_named_child_count(*it); ++i) {
        TSNode c = ts_node_named_child(*it, i);
        if (!is(c, "except_clause")) continue;
        TSNode v = field(c, "value");
        if (ts_node_is_null(v)) return true;  // bare except
        auto t = text(v);
        if (t.find("ImportError") != std::string_view::npos || t.find("ModuleNotFoundError") != std::string_view::npos ||
            t.find("Exception") != std::string_view::npos) {
          return true;
        }
      }
    }
    return false;
  }

  const PyRule* import_rule(const std::string& module, size_t* spec) const {
    const PyRule* best = nullptr;
    for (auto& r : rules_.rules) {
      if (r.kind != "import") continue;
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
      add(r, ts_node_start_byte(span), ts_node_end_byte(span), module, Context::Code, sev, true, std::move(replacement));
    };
    if (is(n, "import_statement")) {
      for (uint32_t i = 0; i < ts_node_named_child_count(n); ++i) {
        TSNode c = ts_node_named_child(n, i);
        TSNode name = is(c, "aliased_import") ? field(c, "name") : c;
        if (!is(name, "dotted_name")) continue;
        size_t spec = 0;
        auto module = std::string(text(name));
        if (auto* r = import_rule(module, &spec)) report(*r, name, module, {});
      }
      return;
    }
    TSNode mod = field(n, "module_name");
    if (!is(mod, "dotted_name")) return;
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
      bool aliased = is(c, "aliased_import");
      TSNode name = aliased ? field(c, "name") : c;
      if (!is(name, "dotted_name")) continue;
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

  enum class MaskKind { Bool, Float, Unknown };

  MaskKind classify(TSNode e, TSNode scope, int depth = 0) const {
    if (ts_node_is_null(e) || depth > 4) return MaskKind::Unknown;
    auto t = text(e);
    if (is(e, "none") || is(e, "comparison_operator") || is(e, "not_operator") || is(e, "boolean_operator")) {
      return MaskKind::Bool;
    }
    if (is(e, "unary_operator") && t.size() && t[0] == '~') return MaskKind::Bool;
    if (is(e, "parenthesized_expression")) return classify(ts_node_named_child(e, 0), scope, depth + 1);
    if (t.find(".bool()") != std::string_view::npos || t.find("torch.bool") != std::string_view::npos) {
      return MaskKind::Bool;
    }
    if (is(e, "binary_operator")) {
      auto op = text(ts_node_child(e, 1));
      if (op == "&" || op == "|" || op == "^") return MaskKind::Unknown;
      return MaskKind::Float;  // arithmetic yields a float bias
    }
    if (is(e, "identifier")) {
      auto name = std::string(t);
      if (name.find("bias") != std::string::npos) return MaskKind::Float;
      // The last assignment to this name in the enclosing function decides.
      MaskKind kind = MaskKind::Unknown;
      std::vector<TSNode> stack{scope};
      while (!stack.empty()) {
        TSNode n = stack.back();
        stack.pop_back();
        if (ts_node_start_byte(n) >= ts_node_start_byte(e)) continue;
        if (is(n, "assignment") && text(field(n, "left")) == name) {
          kind = classify(field(n, "right"), scope, depth + 1);
        }
        for (uint32_t i = ts_node_named_child_count(n); i > 0; --i) stack.push_back(ts_node_named_child(n, i - 1));
      }
      return kind;
    }
    if (t.find("bias") != std::string_view::npos || t.find("dtype") != std::string_view::npos ||
        t.find(".float()") != std::string_view::npos || t.find(".half()") != std::string_view::npos ||
        t.find("-inf") != std::string_view::npos || t.find("masked_fill") != std::string_view::npos) {
      return MaskKind::Float;
    }
    return MaskKind::Unknown;
  }

  void visit_call(TSNode n, const std::vector<TSNode>& parents) {
    TSNode fn = field(n, "function");
    auto c = chain_of(fn);
    if (c.parts.empty()) return;
    auto q = qualified(c, c.parts.size());
    for (auto& r : rules_.rules) {
      if (r.kind != "sdpa-mask") continue;
      if (!std::any_of(r.names.begin(), r.names.end(), [&](auto& g) { return glob_match(g, q); })) continue;
      TSNode args = field(n, "arguments");
      TSNode mask{};
      bool causal = false;
      uint32_t positional = 0;
      for (uint32_t i = 0; i < ts_node_named_child_count(args); ++i) {
        TSNode a = ts_node_named_child(args, i);
        if (is(a, "keyword_argument")) {
          auto k = text(field(a, "name"));
          if (k == "attn_mask") mask = field(a, "value");
          if (k == "is_causal" && text(field(a, "value")) == "True") causal = true;
        } else if (!is(a, "comment")) {
          if (++positional == 4) mask = a;
        }
      }
      if (ts_node_is_null(mask) || causal) return;
      TSNode scope = n;
      for (auto it = parents.rbegin(); it != parents.rend(); ++it) {
        if (is(*it, "function_definition") || is(*it, "module")) {
          scope = *it;
          break;
        }
      }
      auto kind = classify(mask, scope);
      if (kind == MaskKind::Bool) return;
      auto f_sev = kind == MaskKind::Float ? Severity::Blocking : Severity::Warning;
      add(r, ts_node_start_byte(mask), ts_node_end_byte(mask), q + "(attn_mask=" + std::string(text(mask)) + ")",
          Context::Code, f_sev, false);
      return;
    }
  }

  void visit(TSNode n, const std::vector<TSNode>& parents) {
    const char* type = ts_node_type(n);
    if (std::strcmp(type, "comment") == 0) {
      mention(n, Context::Comment);
    } else if (std::strcmp(type, "string") == 0) {
      visit_string(n, parents);
    } else if (std::strcmp(type, "attribute") == 0) {
      visit_method(n, parents);
      visit_name(n, parents);
    } else if (std::strcmp(type, "identifier") == 0) {
      visit_name(n, parents);
    } else if (std::strcmp(type, "keyword_argument") == 0) {
      visit_keyword(n);
    } else if (std::strcmp(type, "import_statement") == 0 || std::strcmp(type, "import_from_statement") == 0) {
      visit_import(n, parents);
    } else if (std::strcmp(type, "call") == 0) {
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
        for (uint16_t i = 0; i < m.capture_count; ++i) {
          uint32_t len = 0;
          const char* name = ts_query_capture_name_for_id(q.get(), m.captures[i].index, &len);
          if (std::string_view(name, len) != "match") continue;
          TSNode node = m.captures[i].node;
          out_.push_back(make_finding(*rule, file_, ts_node_start_byte(node), ts_node_end_byte(node)));
        }
      }
    }
    ts_query_cursor_delete(cur);
  }

  const SourceFile& file_;
  std::string_view src_;
  const Compiled& rules_;
  std::unordered_map<std::string, std::string> bindings_;
  std::vector<Finding> out_;
};

}  // namespace

std::vector<Finding> analyze_python(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats) {
  auto compiled = compile(rules);
  PythonAnalyzer a(file, *compiled);
  return a.run(stats);
}

}  // namespace kcat::scan
