#pragma once
// A hand-written splitter of Python source into top-level statements (and the statements of
// top-level class bodies), so tree-sitter can parse only the statements that matter through
// ts_parser_set_included_ranges instead of the whole file. The ranges must be exact: a unit that
// cut a statement in two would make tree-sitter see different code. So the splitter lexes exactly
// what Python's tokenizer lexes (strings, f-strings, brackets, continuations) and, whenever it is
// unsure, returns std::nullopt and the caller parses the whole file.
// Where Python and tree-sitter-python read the bytes differently (a lone \r, a form feed in an
// indent, NUL bytes) it refuses too: the whole-file tree is the reference.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace kcat::scan::py {

struct Unit {
  enum class Kind : uint8_t { Statement, ClassHeader, ClassStatement };
  // Byte offset: start of the line of the unit's first token (0 for the first unit of the file).
  uint32_t begin = 0;
  // Byte offset: start of the line of the next unit's first token (src.size() for the last).
  uint32_t end = 0;
  Kind kind = Kind::Statement;
  // Index of the top-level statement it belongs to (a class's header and body statements share it).
  uint32_t group = 0;
  bool starts_with_string = false;  // its very first token (decorators included) is a string literal
  bool has_import = false;          // some logical line inside it starts with the token `import` or `from`
};

// Splits `src` into units covering it exactly, in order, without gaps or overlaps.
// std::nullopt when it cannot be split safely.
std::optional<std::vector<Unit>> split_units(std::string_view src);

}  // namespace kcat::scan::py
