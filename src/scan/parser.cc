#include "kcat/scan/parser.h"

#include <fmt/format.h>

#include "kcat/core/error.h"

extern "C" {
const TSLanguage* tree_sitter_python();
const TSLanguage* tree_sitter_cpp();
const TSLanguage* tree_sitter_cuda();
}

namespace kcat::scan {

const TSLanguage* grammar(std::string_view language) {
  if (language == "python") return tree_sitter_python();
  if (language == "cpp") return tree_sitter_cpp();
  if (language == "cuda") return tree_sitter_cuda();
  return nullptr;
}

namespace {

struct ParserDeleter {
  void operator()(TSParser* p) const { ts_parser_delete(p); }
};

// One parser per thread, kept and reused.
TSParser* thread_parser() {
  thread_local std::unique_ptr<TSParser, ParserDeleter> parser(ts_parser_new());
  return parser.get();
}

const char* query_error_name(TSQueryError e) {
  switch (e) {
    case TSQueryErrorSyntax:
      return "syntax error";
    case TSQueryErrorNodeType:
      return "unknown node type";
    case TSQueryErrorField:
      return "unknown field";
    case TSQueryErrorCapture:
      return "unknown capture";
    case TSQueryErrorStructure:
      return "impossible pattern";
    case TSQueryErrorLanguage:
      return "language mismatch";
    default:
      return "error";
  }
}

}  // namespace

Tree parse(std::string_view language, std::string_view source) { return parse(language, source, {}); }

Tree parse(std::string_view language, std::string_view source, const std::vector<TSRange>& ranges) {
  const TSLanguage* lang = grammar(language);
  if (!lang) throw Error(ErrorKind::Internal, fmt::format("no tree-sitter grammar for '{}'", language));
  TSParser* parser = thread_parser();
  if (!ts_parser_set_language(parser, lang)) {
    throw Error(ErrorKind::Environment,
                fmt::format("the {} grammar's ABI is not supported by this libtree-sitter", language), "",
                "rebuild kcat after tools/install.sh (grammars must be ABI 14)");
  }
  if (!ranges.empty() &&
      !ts_parser_set_included_ranges(parser, ranges.data(), static_cast<uint32_t>(ranges.size()))) {
    throw Error(ErrorKind::Internal, "tree-sitter refused the ranges to parse");
  }
  TSTree* tree = ts_parser_parse_string(parser, nullptr, source.data(), static_cast<uint32_t>(source.size()));
  if (!ranges.empty()) ts_parser_set_included_ranges(parser, nullptr, 0);  // the next parse takes all
  if (!tree) throw Error(ErrorKind::Internal, "tree-sitter returned no tree");
  return Tree(tree);
}

Query compile_query(std::string_view language, std::string_view source, const std::string& where) {
  const TSLanguage* lang = grammar(language);
  if (!lang) throw Error(ErrorKind::Usage, fmt::format("no tree-sitter grammar for '{}'", language), where);
  uint32_t offset = 0;
  TSQueryError err = TSQueryErrorNone;
  TSQuery* q = ts_query_new(lang, source.data(), static_cast<uint32_t>(source.size()), &offset, &err);
  if (!q) {
    auto snippet = source.substr(offset, 40);
    throw Error(
        ErrorKind::Usage,
        fmt::format("tree-sitter query: {} at offset {} near '{}'", query_error_name(err), offset, snippet),
        where, "check the node names against the grammar (tree-sitter-" + std::string(language) + ")");
  }
  return Query(q);
}

namespace {
// libtree-sitter 0.20 has no ts_node_is_error: an ERROR node has the builtin error symbol.
bool is_error_node(TSNode n) { return ts_node_symbol(n) == static_cast<TSSymbol>(-1); }
}  // namespace

size_t count_syntax_errors(TSNode root) {
  if (!ts_node_has_error(root)) return 0;
  size_t n = 0;
  TSTreeCursor cur = ts_tree_cursor_new(root);
  bool more = true;
  while (more) {
    TSNode node = ts_tree_cursor_current_node(&cur);
    if (is_error_node(node) || ts_node_is_missing(node)) {
      ++n;
    }
    if (ts_node_has_error(node) && !is_error_node(node) && ts_tree_cursor_goto_first_child(&cur)) continue;
    while (!ts_tree_cursor_goto_next_sibling(&cur)) {
      if (!ts_tree_cursor_goto_parent(&cur)) {
        more = false;
        break;
      }
    }
  }
  ts_tree_cursor_delete(&cur);
  return n;
}

}  // namespace kcat::scan
