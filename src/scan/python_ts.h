#pragma once
// Small tree-sitter helpers shared by the Python analyzer's files.
#include <tree_sitter/api.h>

#include <cstring>

namespace kcat::scan::py {

inline bool is(TSNode n, const char* type) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), type) == 0; }

inline TSNode field(TSNode n, const char* name) {
  return ts_node_child_by_field_name(n, name, static_cast<uint32_t>(std::strlen(name)));
}

}  // namespace kcat::scan::py
