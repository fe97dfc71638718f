#pragma once
// Small tree-sitter helpers shared by the Python analyzer's files.
#include <tree_sitter/api.h>

#include <cstring>
#include <iterator>

namespace kcat::scan::py {

inline bool is(TSNode n, const char* type) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), type) == 0; }

// `name` must be a string literal: its field id is remembered by address, because
// ts_node_child_by_field_name searches the grammar's field names on every call (a tenth of the
// analysis). An unknown name has id 0, which gives the null node, as the search would.
inline TSNode field(TSNode n, const char* name) {
  if (ts_node_is_null(n)) return n;
  struct Known {
    const char* name;
    const TSLanguage* language;
    TSFieldId id;
  };
  thread_local Known known[32];
  thread_local size_t count = 0;
  const TSLanguage* language = ts_tree_language(n.tree);
  for (size_t i = 0; i < count; ++i) {
    if (known[i].name == name && known[i].language == language) return ts_node_child_by_field_id(n, known[i].id);
  }
  TSFieldId id = ts_language_field_id_for_name(language, name, static_cast<uint32_t>(std::strlen(name)));
  if (count < std::size(known)) known[count++] = {name, language, id};
  return ts_node_child_by_field_id(n, id);
}

}  // namespace kcat::scan::py
