#pragma once
// Small tree-sitter helpers shared by the Python analyzer's files.
#include <tree_sitter/api.h>

#include <cstring>
#include <iterator>

namespace kcat::scan::py {

inline bool is(TSNode n, const char* type) {
  return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), type) == 0;
}

// The same test by symbol: a number comparison where `is` looks up the type's name and compares
// text, for the node types the analyzer tests on every node.
inline bool is(TSNode n, TSSymbol s) { return !ts_node_is_null(n) && ts_node_symbol(n) == s; }

// Symbols of the Python grammar's named node types (public symbols, as ts_node_symbol returns).
struct Symbols {
  explicit Symbols(const TSLanguage* l)
      : language(l),
        comment(of("comment")),
        string(of("string")),
        attribute(of("attribute")),
        identifier(of("identifier")),
        keyword_argument(of("keyword_argument")),
        import_statement(of("import_statement")),
        import_from_statement(of("import_from_statement")),
        call(of("call")),
        concatenated_string(of("concatenated_string")),
        expression_statement(of("expression_statement")),
        module(of("module")),
        block(of("block")),
        function_definition(of("function_definition")),
        class_definition(of("class_definition")),
        parameters(of("parameters")),
        default_parameter(of("default_parameter")),
        typed_parameter(of("typed_parameter")),
        argument_list(of("argument_list")),
        string_content(of("string_content")),
        interpolation(of("interpolation")),
        escape_sequence(of("escape_sequence")),
        dotted_name(of("dotted_name")),
        aliased_import(of("aliased_import")) {}

  TSSymbol of(const char* name) const {
    return ts_language_symbol_for_name(language, name, static_cast<uint32_t>(std::strlen(name)), true);
  }

  const TSLanguage* language;
  TSSymbol comment, string, attribute, identifier, keyword_argument, import_statement, import_from_statement,
      call, concatenated_string, expression_statement, module, block, function_definition, class_definition,
      parameters, default_parameter, typed_parameter, argument_list, string_content, interpolation,
      escape_sequence, dotted_name, aliased_import;
};

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
    if (known[i].name == name && known[i].language == language)
      return ts_node_child_by_field_id(n, known[i].id);
  }
  TSFieldId id = ts_language_field_id_for_name(language, name, static_cast<uint32_t>(std::strlen(name)));
  if (count < std::size(known)) known[count++] = {name, language, id};
  return ts_node_child_by_field_id(n, id);
}

}  // namespace kcat::scan::py
