#pragma once
// Thin RAII layer over tree-sitter: the three pinned grammars, parse, query, syntax-error count.
#include <tree_sitter/api.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kcat::scan {

// "python", "cpp" or "cuda"; nullptr for any other name.
const TSLanguage* grammar(std::string_view language);

struct TreeDeleter {
  void operator()(TSTree* t) const { ts_tree_delete(t); }
};
using Tree = std::unique_ptr<TSTree, TreeDeleter>;

struct QueryDeleter {
  void operator()(TSQuery* q) const { ts_query_delete(q); }
};
using Query = std::unique_ptr<TSQuery, QueryDeleter>;

// Parses `source` with the named grammar. Throws Error(Internal) for an unknown language.
// One TSParser per thread is kept and reused.
Tree parse(std::string_view language, std::string_view source);

// Parses only `ranges` of `source` (sorted, not overlapping); the tree's positions are the
// source's. Each range must hold whole constructs of the language (python_partial.h).
Tree parse(std::string_view language, std::string_view source, const std::vector<TSRange>& ranges);

// Compiles a query; throws Error(Usage) with the offset and kind of the problem.
Query compile_query(std::string_view language, std::string_view source, const std::string& where);

// Number of ERROR and MISSING nodes in the tree (0 for a clean parse).
size_t count_syntax_errors(TSNode root);

inline std::string_view node_text(TSNode n, std::string_view source) {
  return source.substr(ts_node_start_byte(n), ts_node_end_byte(n) - ts_node_start_byte(n));
}

// Calls f on `root` and every named node below it, in source order (depth first, no recursion).
template <class F>
void each_named_node(TSNode root, F&& f) {
  std::vector<TSNode> stack{root};
  while (!stack.empty()) {
    TSNode n = stack.back();
    stack.pop_back();
    f(n);
    for (uint32_t i = ts_node_named_child_count(n); i-- > 0;) stack.push_back(ts_node_named_child(n, i));
  }
}

}  // namespace kcat::scan
