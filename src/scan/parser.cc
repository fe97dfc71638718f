#include "kcat/scan/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

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

// ---- the allocation region of ParseScope --------------------------------------------------------

// Blocks are kept for the thread and reused by the next scope. Plain data (no destructor), so a
// tree-sitter free that runs during thread exit still finds a valid (empty) block list; the
// Reaper below returns the blocks when the thread ends.
void arm_reaper();  // below: the thread's blocks are returned when it ends

struct Region {
  static constexpr size_t kMaxBlocks = 40;
  static constexpr size_t kHeader = 16;  // the allocation's size, keeping 16-byte alignment
  struct Block {
    char* base;
    size_t size;
  };
  Block blocks[kMaxBlocks];
  size_t count;  // blocks held
  size_t block;  // the block being filled
  size_t used;   // bytes of it taken
  char* last;    // the latest allocation (grown in place by realloc)
  int depth;     // open ParseScopes

  bool owns(const void* p) const {
    auto* c = static_cast<const char*>(p);
    for (size_t i = 0; i < count; ++i) {
      if (c >= blocks[i].base && c < blocks[i].base + blocks[i].size) return true;
    }
    return false;
  }
  static size_t size_of(const void* p) {
    size_t n;
    std::memcpy(&n, static_cast<const char*>(p) - kHeader, sizeof n);
    return n;
  }
  static size_t round(size_t n) { return (n + 15) & ~size_t{15}; }

  void* take(size_t n) {
    size_t need = kHeader + round(n);
    while (block < count && used + need > blocks[block].size) {
      ++block;
      used = 0;
    }
    if (block == count) {
      if (count == kMaxBlocks) return nullptr;  // caller falls back to the heap
      size_t size = std::max<size_t>({size_t{1} << 20, count ? blocks[count - 1].size * 2 : 0, need});
      auto* base = static_cast<char*>(std::malloc(size));
      if (!base) return nullptr;
      arm_reaper();
      blocks[count++] = {base, size};
      used = 0;
    }
    char* h = blocks[block].base + used;
    used += need;
    std::memcpy(h, &n, sizeof n);
    last = h + kHeader;
    return last;
  }
  // Grows the latest allocation where it lies when the block has room.
  bool grow_in_place(void* p, size_t n) {
    if (p != last || block >= count) return false;
    size_t start = static_cast<size_t>(static_cast<char*>(p) - blocks[block].base);
    if (start + round(n) > blocks[block].size) return false;
    used = start + round(n);
    std::memcpy(static_cast<char*>(p) - kHeader, &n, sizeof n);
    return true;
  }
  void reset() {
    block = 0;
    used = 0;
    last = nullptr;
  }
  void release() {
    for (size_t i = 0; i < count; ++i) std::free(blocks[i].base);
    count = 0;
    reset();
  }
};

thread_local Region region{};

struct Reaper {
  bool armed = false;
  ~Reaper() { region.release(); }
};
// A thread_local with a destructor is only made (and so destroyed) in a thread that uses it:
// every thread that takes a block arms its own.
thread_local Reaper reaper;

void arm_reaper() { reaper.armed = true; }

[[noreturn]] void out_of_memory() {
  std::fputs("kcat: out of memory in tree-sitter\n", stderr);
  std::abort();
}

void* ts_alloc(size_t n) {
  if (region.depth > 0) {
    if (void* p = region.take(n)) return p;
  }
  void* p = std::malloc(n ? n : 1);
  if (!p) out_of_memory();
  return p;
}
void* ts_calloc(size_t count, size_t size) {
  if (region.depth > 0) {
    size_t n = count * size;
    if (void* p = region.take(n)) return std::memset(p, 0, n);
  }
  void* p = std::calloc(count ? count : 1, size ? size : 1);
  if (!p) out_of_memory();
  return p;
}
void* ts_realloc(void* p, size_t n) {
  if (!p) return ts_alloc(n);
  if (region.owns(p)) {
    size_t old = Region::size_of(p);
    if (n <= old) return p;
    if (region.depth > 0 && region.grow_in_place(p, n)) return p;
    void* q = ts_alloc(n);
    std::memcpy(q, p, old);
    return q;
  }
  void* q = std::realloc(p, n ? n : 1);
  if (!q) out_of_memory();
  return q;
}
void ts_dealloc(void* p) {
  if (p && !region.owns(p)) std::free(p);
}

// Installed once, before the first tree-sitter object is made: every allocation then goes through
// these functions, which hand heap memory to the heap and ignore the region's.
void install_allocator() {
  static std::once_flag once;
  std::call_once(once, [] { ts_set_allocator(ts_alloc, ts_calloc, ts_realloc, ts_dealloc); });
}

struct ParserDeleter {
  void operator()(TSParser* p) const { ts_parser_delete(p); }
};

// The thread's parser for parses outside a scope (made outside one, so on the heap), and the
// parser of the open scope: a parser keeps freed nodes for reuse, which must not outlive the
// region they were taken from.
thread_local TSParser* scope_parser = nullptr;

TSParser* thread_parser() {
  install_allocator();
  if (region.depth > 0) {
    if (!scope_parser) scope_parser = ts_parser_new();
    return scope_parser;
  }
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

void TreeDeleter::operator()(TSTree* t) const {
  if (!region.owns(t)) ts_tree_delete(t);  // a scope's tree goes with its region
}

ParseScope::ParseScope() {
  install_allocator();
  ++region.depth;
}

ParseScope::~ParseScope() {
  if (--region.depth > 0) return;
  if (scope_parser) {
    ts_parser_delete(scope_parser);  // frees the external scanner's state, which is on the heap
    scope_parser = nullptr;
  }
  region.reset();
}

Query compile_query(std::string_view language, std::string_view source, const std::string& where) {
  install_allocator();
  // A query outlives any scope: compile it on the heap.
  struct Outside {
    int depth = region.depth;
    Outside() { region.depth = 0; }
    ~Outside() { region.depth = depth; }
  } outside;
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
