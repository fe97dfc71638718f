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

// A tree parsed inside a ParseScope lives in the scope's region and is dropped with it, not
// node by node.
struct TreeDeleter {
  void operator()(TSTree* t) const;
};
using Tree = std::unique_ptr<TSTree, TreeDeleter>;

struct QueryDeleter {
  void operator()(TSQuery* q) const { ts_query_delete(q); }
};
using Query = std::unique_ptr<TSQuery, QueryDeleter>;

// Parses `source` with the named grammar. Throws Error(Internal) for an unknown language.
// One TSParser per thread is kept and reused (one per ParseScope inside a scope).
Tree parse(std::string_view language, std::string_view source);

// Parses only `ranges` of `source` (sorted, not overlapping); the tree's positions are the
// source's. Each range must hold whole constructs of the language (python_partial.h).
Tree parse(std::string_view language, std::string_view source, const std::vector<TSRange>& ranges);

// While a ParseScope is alive, tree-sitter's allocations on this thread come from one region
// that is kept for the thread and reused: allocating is a pointer bump, freeing costs nothing,
// and a tree is dropped with the scope instead of node by node (malloc, free and the tree's
// release were a fifth of a cold scan). Everything tree-sitter made in the scope (trees, cursors,
// the scope's parser) must be gone, or never touched again, when it ends; queries are always
// compiled outside it (compile_query sees to that). Scopes nest; only the outermost one counts.
class ParseScope {
 public:
  ParseScope();
  ~ParseScope();
  ParseScope(const ParseScope&) = delete;
  ParseScope& operator=(const ParseScope&) = delete;
};

// Compiles a query; throws Error(Usage) with the offset and kind of the problem.
Query compile_query(std::string_view language, std::string_view source, const std::string& where);

// Number of ERROR and MISSING nodes in the tree (0 for a clean parse).
size_t count_syntax_errors(TSNode root);

inline std::string_view node_text(TSNode n, std::string_view source) {
  return source.substr(ts_node_start_byte(n), ts_node_end_byte(n) - ts_node_start_byte(n));
}

}  // namespace kcat::scan
