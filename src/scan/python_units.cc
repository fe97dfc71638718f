#include "python_units.h"

#include <array>
#include <cstring>
#include <limits>

namespace kcat::scan::py {

namespace {

// Byte classes, so the hot loops cost one table lookup per byte.
// An identifier, keyword or number byte (any byte >= 0x80, since identifiers are UTF-8).
constexpr uint8_t kWord = 1;
// A byte a string or f-string body must look at: quotes, `\`, newlines, braces.
constexpr uint8_t kStop = 2;

constexpr std::array<uint8_t, 256> make_classes() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    bool word =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
    bool stop = c == '\'' || c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '{' || c == '}';
    t[c] = static_cast<uint8_t>((word ? kWord : 0) | (stop ? kStop : 0));
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClass = make_classes();

// Python's tokenizer stops at 200 nested brackets and 150 nested f-strings; a fixed stack deeper
// than both keeps the pass free of allocations.
constexpr int kMaxDepth = 256;

// Prefix flags of a string literal.
constexpr int kRaw = 1;
constexpr int kFormat = 2;  // f-string (or 3.14 t-string, which lexes the same way)

// The flags of a string prefix, or -1 when `w` is not one (then it is a name followed by a string,
// as for Python: `ur"x"` is the name ur and the string "x").
int string_prefix(std::string_view w) {
  if (w.empty() || w.size() > 2) return -1;
  bool r = false, b = false, u = false, f = false;
  for (char ch : w) {
    bool* seen = nullptr;
    switch (ch | 0x20) {  // ASCII lower case: only letters map to these
      case 'r':
        seen = &r;
        break;
      case 'b':
        seen = &b;
        break;
      case 'u':
        seen = &u;
        break;
      case 'f':
      case 't':
        seen = &f;
        break;
      default:
        return -1;
    }
    if (*seen) return -1;
    *seen = true;
  }
  if ((u && w.size() > 1) || (b && f)) return -1;  // u combines with nothing, b not with f or t
  return (r ? kRaw : 0) | (f ? kFormat : 0);
}

bool is_clause_keyword(std::string_view w) {
  return w == "else" || w == "elif" || w == "except" || w == "finally";
}

enum class First : uint8_t { Other, String, Word, At };

// What the lexer is inside of. Paren, Bracket, Brace and Field are code; FString and Spec are the
// literal text of an f-string (a Spec is the format spec after `:` in a replacement field).
struct Frame {
  enum class Kind : uint8_t { Paren, Bracket, Brace, Field, FString, Spec };
  Kind kind = Kind::Paren;
  char quote = 0;  // for Field, FString and Spec: the quote, triple-ness and rawness of the f-string
  bool triple = false;
  bool raw = false;
};

class Splitter {
 public:
  explicit Splitter(std::string_view s) : s_(s), n_(s.size()) {}

  bool run() {
    // Python rejects source with NUL bytes, and a tree-sitter scanner may take one for the end of input.
    if (n_ == 0) return true;
    if (std::memchr(s_.data(), 0, n_) != nullptr) return false;
    if (n_ >= 3 && s_[0] == '\xEF' && s_[1] == '\xBB' && s_[2] == '\xBF') i_ = bom_ = 3;
    while (i_ < n_) {
      if (depth_ > 0 && literal(top().kind)) {
        if (!literal_part()) return false;
        continue;
      }
      auto c = static_cast<unsigned char>(s_[i_]);
      switch (c) {
        case ' ':
        case '\t':
        case '\f':
          ++i_;
          break;
        case '\n':
        case '\r':
          if (!newline()) return false;
          break;
        case '#':
          while (i_ < n_ && s_[i_] != '\n' && s_[i_] != '\r') ++i_;
          break;
        case '\\':
          if (!continuation()) return false;
          break;
        case '\'':
        case '"':
          if (!token(i_, First::String) || !string_literal(0)) return false;
          break;
        case '(':
        case '[':
        case '{':
          if (!token(i_, First::Other)) return false;
          if (!push(c == '(' ? Frame::Kind::Paren : c == '[' ? Frame::Kind::Bracket : Frame::Kind::Brace))
            return false;
          ++i_;
          break;
        case ')':
        case ']':
        case '}':
          if (!token(i_, First::Other) || !close(c)) return false;
          ++i_;
          break;
        case ':':
          if (!token(i_, First::Other)) return false;
          ++i_;
          // At the top of a replacement field a colon starts the format spec, as in Python's
          // tokenizer (`f"{x:=5}"` formats x with "=5"); inside brackets it is code.
          if (depth_ > 0 && top().kind == Frame::Kind::Field) {
            Frame spec = top();
            spec.kind = Frame::Kind::Spec;
            if (!push(spec)) return false;
          } else {
            last_colon_ = true;
          }
          break;
        case '@':
          if (!token(i_, First::At)) return false;
          ++i_;
          break;
        default:
          if (kClass[c] & kWord) {
            if (!word()) return false;
          } else if (c < 0x20 || c == 0x7F) {
            return false;  // a control character Python rejects and tree-sitter may take for whitespace
          } else {
            if (!token(i_, First::Other)) return false;
            ++i_;
          }
      }
    }
    if (depth_ != 0 || after_continuation_) return false;
    if (line_open_) end_line();
    if (units_.empty()) {
      Unit u;
      u.begin = 0;
      units_.push_back(u);
    }
    units_.back().end = static_cast<uint32_t>(n_);
    return true;
  }

  std::vector<Unit> take() { return std::move(units_); }

 private:
  static bool literal(Frame::Kind k) { return k == Frame::Kind::FString || k == Frame::Kind::Spec; }
  Frame& top() { return stack_[depth_ - 1]; }
  char at(size_t j) const { return j < n_ ? s_[j] : '\0'; }

  bool push(Frame::Kind k) {
    Frame f;
    f.kind = k;
    return push(f);
  }
  bool push(const Frame& f) {
    if (depth_ == kMaxDepth) return false;
    stack_[depth_++] = f;
    return true;
  }

  // The end of a bracket or of a replacement field; anything unbalanced is refused.
  bool close(unsigned char c) {
    if (depth_ == 0) return false;
    Frame::Kind k = top().kind;
    bool ok = (c == ')' && k == Frame::Kind::Paren) || (c == ']' && k == Frame::Kind::Bracket) ||
              (c == '}' && (k == Frame::Kind::Brace || k == Frame::Kind::Field));
    if (!ok) return false;
    --depth_;
    return true;
  }

  // Past a backslash escape inside a string: the escaped byte (or \r\n) never ends the string, in
  // raw strings too, as in Python's tokenizer.
  size_t skip_escape(size_t j) const {
    if (at(j + 1) == '\r' && at(j + 2) == '\n') return j + 3;
    return j + 2 <= n_ ? j + 2 : n_;
  }

  bool newline() {
    size_t e = i_ + 1;
    if (s_[i_] == '\r') {
      // Python reads a lone \r as a newline, but tree-sitter-python's scanner takes it for
      // indentation whitespace and its comments run to \n: the two disagree on where lines are.
      if (at(e) != '\n') return false;
      ++e;
    }
    // Inside brackets or a replacement field a newline is whitespace.
    if (depth_ == 0) {
      if (line_open_) end_line();
      line_pending_ = true;
      after_continuation_ = false;
    }
    line_begin_ = e;
    i_ = e;
    return true;
  }

  bool continuation() {
    size_t j = i_ + 1;
    if (at(j) == '\n') {
      ++j;
    } else if (at(j) == '\r' && at(j + 1) == '\n') {
      j += 2;
    } else {
      return false;  // a backslash not ending its line: a syntax error, the end of the file or a lone \r
    }
    // A continuation before the first token of a logical line makes the line's indent and its
    // first token sit on different lines: rare enough to refuse.
    if (line_pending_) return false;
    after_continuation_ = true;
    i_ = j;
    return true;
  }

  // A name, keyword or number, or the prefix of a string literal.
  bool word() {
    size_t b = i_;
    while (i_ < n_ && (kClass[static_cast<unsigned char>(s_[i_])] & kWord)) ++i_;
    std::string_view w = s_.substr(b, i_ - b);
    if (i_ < n_ && (s_[i_] == '\'' || s_[i_] == '"')) {
      int flags = string_prefix(w);
      if (flags >= 0) return token(b, First::String) && string_literal(flags);
    }
    return token(b, First::Word, w);
  }

  // A string literal whose opening quote is at i_. An f-string only opens a frame: its text is
  // lexed by literal_part, its replacement fields by the main loop.
  bool string_literal(int flags) {
    char q = s_[i_];
    bool triple = at(i_ + 1) == q && at(i_ + 2) == q;
    i_ += triple ? 3 : 1;
    if (flags & kFormat) {
      Frame f;
      f.kind = Frame::Kind::FString;
      f.quote = q;
      f.triple = triple;
      f.raw = (flags & kRaw) != 0;
      return push(f);
    }
    while (i_ < n_) {
      char c = s_[i_];
      if (!(kClass[static_cast<unsigned char>(c)] & kStop)) {
        ++i_;
      } else if (c == q) {
        if (!triple) {
          ++i_;
          return true;
        }
        if (at(i_ + 1) == q && at(i_ + 2) == q) {
          i_ += 3;
          return true;
        }
        ++i_;
      } else if (c == '\\') {
        i_ = skip_escape(i_);
      } else if (c == '\n' || c == '\r') {
        if (!triple) return false;  // unterminated single-quoted string
        ++i_;
      } else {
        ++i_;
      }
    }
    return false;  // unterminated at the end of the file
  }

  // The literal text of the f-string (or format spec) on top of the stack, up to the end of the
  // string or the start of a replacement field.
  bool literal_part() {
    const Frame f = top();
    bool spec = f.kind == Frame::Kind::Spec;
    while (i_ < n_) {
      char c = s_[i_];
      if (!(kClass[static_cast<unsigned char>(c)] & kStop)) {
        ++i_;
        continue;
      }
      switch (c) {
        case '\'':
        case '"':
          if (c != f.quote || (f.triple && !(at(i_ + 1) == c && at(i_ + 2) == c))) {
            ++i_;
            break;
          }
          if (spec) return false;  // the string ends inside a replacement field
          i_ += f.triple ? 3 : 1;
          --depth_;
          return true;
        case '\n':
        case '\r':
          if (!f.triple) return false;  // a newline in the text of a single-quoted f-string
          ++i_;
          break;
        case '\\': {
          char next = at(i_ + 1);
          if (next == '{' || next == '}') {
            ++i_;  // Python's tokenizer: a backslash does not escape a brace
          } else if (!f.raw && next == 'N' && at(i_ + 2) == '{') {
            // \N{NAME}: the braces belong to the escape, not to a replacement field.
            size_t j = i_ + 3;
            while (j < n_ && s_[j] != '}' && s_[j] != f.quote && s_[j] != '\n' && s_[j] != '\r' &&
                   s_[j] != '{')
              ++j;
            if (at(j) != '}') return false;
            i_ = j + 1;
          } else {
            i_ = skip_escape(i_);
          }
          break;
        }
        case '{':
          // `{{` is a literal brace, except in a format spec where every `{` opens a field.
          if (!spec && at(i_ + 1) == '{') {
            i_ += 2;
            break;
          }
          {
            Frame field = f;
            field.kind = Frame::Kind::Field;
            if (!push(field)) return false;
          }
          ++i_;
          return true;
        case '}':
          if (spec) {
            depth_ -= 2;  // the end of the spec is the end of its replacement field
            ++i_;
            return true;
          }
          if (at(i_ + 1) != '}') return false;  // a single `}` in an f-string is a syntax error
          i_ += 2;
          break;
        default:
          ++i_;
      }
    }
    return false;  // unterminated f-string at the end of the file
  }

  // Every token goes through here: the first one after a newline starts a logical line.
  bool token(size_t pos, First kind, std::string_view w = {}) {
    after_continuation_ = false;
    last_colon_ = false;
    if (!line_pending_) return true;
    line_pending_ = false;
    line_open_ = true;
    return start_line(pos, kind, w);
  }

  void open_unit(size_t begin, Unit::Kind kind, First first, uint32_t group) {
    if (!units_.empty()) units_.back().end = static_cast<uint32_t>(begin);
    Unit u;
    u.begin = static_cast<uint32_t>(begin);
    u.kind = kind;
    u.group = group;
    u.starts_with_string = first == First::String;
    units_.push_back(u);
  }

  // A logical line whose first token `w` (of kind `kind`) is at `pos`: decides which unit it
  // belongs to.
  bool start_line(size_t pos, First kind, std::string_view w) {
    size_t b = line_begin_;
    size_t ib = b == 0 ? bom_ : b;
    std::string_view indent = s_.substr(ib, pos - ib);
    // Python and tree-sitter reset the indent column at a form feed; an exact indent string
    // cannot say what that means, so such a line is refused.
    if (indent.find('\f') != std::string_view::npos) return false;
    bool is_word = kind == First::Word;
    bool deco = kind == First::At;
    bool clause = is_word && is_clause_keyword(w);
    bool imports = is_word && (w == "import" || w == "from");
    class_line_ = false;

    if (class_ == ClassState::AwaitBody) {
      if (!indent.empty()) {
        // The first statement of the body: what came before is the class header.
        units_.back().kind = Unit::Kind::ClassHeader;
        body_indent_ = indent;
        class_ = ClassState::InBody;
        open_unit(b, Unit::Kind::ClassStatement, kind, units_.back().group);
        body_after_decorator_ = deco;
        if (imports) units_.back().has_import = true;
        return true;
      }
      class_ = ClassState::None;
    }
    if (class_ == ClassState::InBody) {
      if (!indent.empty()) {
        if (indent == body_indent_) {
          if (!clause && !body_after_decorator_) {
            open_unit(b, Unit::Kind::ClassStatement, kind, units_.back().group);
          }
          body_after_decorator_ = deco;
        } else if (!indent.starts_with(body_indent_)) {
          return false;  // inconsistent dedent, or tabs and spaces mixed differently
        }
        if (imports) units_.back().has_import = true;
        return true;
      }
      // else/except/finally right after a class body is invalid; a ClassStatement unit must not
      // swallow a top-level clause.
      if (clause) return false;
      class_ = ClassState::None;
    }

    bool first = units_.empty();
    if (indent.empty() || first) {
      if (first || (!clause && !top_after_decorator_)) {
        open_unit(first ? 0 : b, Unit::Kind::Statement, kind, group_++);
        top_seen_statement_ = false;
      }
      top_after_decorator_ = deco;
      if (!deco && !top_seen_statement_) {
        // The unit's statement after its decorators: a class when its first token is `class`.
        top_seen_statement_ = true;
        class_line_ = indent.empty() && is_word && w == "class";
      }
    }
    if (imports) units_.back().has_import = true;
    return true;
  }

  // The newline ending a logical line at bracket depth 0 (or the end of the file).
  void end_line() {
    line_open_ = false;
    // A class header ending with `:` has its body on the next lines (if the next logical line is
    // indented); `class A: pass` keeps its body on the header line.
    if (class_line_ && last_colon_) class_ = ClassState::AwaitBody;
    class_line_ = false;
  }

  enum class ClassState : uint8_t { None, AwaitBody, InBody };

  std::string_view s_;
  size_t n_;
  size_t i_ = 0;
  size_t bom_ = 0;  // the first line's indent starts after a UTF-8 BOM
  std::array<Frame, kMaxDepth> stack_{};
  int depth_ = 0;

  size_t line_begin_ = 0;            // the start of the current physical line
  bool line_pending_ = true;         // a newline at depth 0 was seen, no token since: the next starts a line
  bool line_open_ = false;           // inside a logical line
  bool after_continuation_ = false;  // a backslash continuation with no token after it yet
  bool last_colon_ = false;          // the last token was `:`

  std::vector<Unit> units_;
  uint32_t group_ = 0;
  bool top_after_decorator_ = false;  // the last top-level logical line was a decorator
  bool top_seen_statement_ = false;   // the current top-level unit has a line other than decorators
  bool class_line_ = false;           // the current logical line is the `class` line of a top-level unit
  ClassState class_ = ClassState::None;
  std::string_view body_indent_;
  bool body_after_decorator_ = false;  // the last body-level line of the class was a decorator
};

}  // namespace

std::optional<std::vector<Unit>> split_units(std::string_view src) {
  if (src.size() > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  Splitter splitter(src);
  if (!splitter.run()) return std::nullopt;
  return splitter.take();
}

}  // namespace kcat::scan::py
