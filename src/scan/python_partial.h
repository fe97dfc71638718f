#pragma once
// Parsing only the statements of a Python file that can hold a finding.
//
// Tree-sitter's parse is two thirds of a cold scan, and most statements of a file that mentions
// CUDA somewhere hold nothing a rule can match. A rule matches only where one of its literals
// (its `prefilter`) is written, or through a name bound by an import to something that holds one
// (`from torch.cuda.amp import autocast`, then `autocast()`). So the file is cut into statements
// (python_units.h: top-level statements, and the statements of a top-level class body), and the
// parser is given (ts_parser_set_included_ranges) only:
//   - the statements where a trigger is written: a rule literal, a name of a method / keyword
//     rule, or (any letter case) a word a comment or docstring mention is found by;
//   - every statement holding an import, so the bindings are those of the whole file;
//   - the statements that name an "interesting" binding (one whose qualified name holds a
//     literal, or could complete one, as `ops` -> `torch.ops` completes `torch.ops._`);
//   - what keeps the tree's shape: a class's header with any of its statements, the first
//     statement of a body or of the module when it is a string (a docstring stays first).
// The positions in the tree are those of the file. When the file cannot be cut exactly (python_units
// refuses), or a rule could match without a literal (a rule with no prefilter, a tree-sitter
// query rule, a glob with no literal), the whole file is parsed, as before.
#include <tree_sitter/api.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "python_units.h"

namespace re2 {
class RE2;
}

namespace kcat::scan::py {

struct PyRule;

// What makes a statement worth parsing, compiled once per rule set.
class Triggers {
 public:
  // `literals`: every prefilter literal of the Python rules; `usable` false when some rule can
  // match without one (then every file is parsed whole).
  Triggers(const std::vector<std::string>& literals, bool usable);
  ~Triggers();
  Triggers(const Triggers&) = delete;
  Triggers& operator=(const Triggers&) = delete;

  bool usable() const { return usable_ && re_ != nullptr; }
  const re2::RE2& re() const { return *re_; }
  // True when a name bound to `qualified` (and written as `local`) can lead to a finding in a
  // statement that holds no literal.
  bool interesting_binding(std::string_view local, std::string_view qualified) const;

 private:
  bool usable_;
  std::unique_ptr<re2::RE2> re_;
  std::vector<std::string> dotted_prefixes_;  // "torch." of "torch.ops._", "version." of "version.cuda"
};

class PartialParse {
 public:
  // nullopt: parse the whole file.
  static std::optional<PartialParse> plan(std::string_view src, const Triggers& triggers);

  // The included ranges, adjacent statements merged; positions are the file's.
  std::vector<TSRange> ranges() const;
  // Includes the statements that name one of `names` as a word; true when one was added.
  bool include_naming(const std::vector<std::string>& names);
  // Bytes given to the parser (for statistics and tests).
  size_t included_bytes() const;

 private:
  PartialParse(std::string_view src, std::vector<Unit> units) : src_(src), units_(std::move(units)) {}
  void close();  // adds what keeps the tree's shape

  std::string_view src_;
  std::vector<Unit> units_;
  std::vector<bool> wanted_;    // by the triggers, imports and names
  std::vector<bool> included_;  // wanted_ plus structure
};

}  // namespace kcat::scan::py
