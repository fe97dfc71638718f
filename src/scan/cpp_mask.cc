#include "kcat/scan/cpp_mask.h"

#include <cstring>
#include <vector>

#include "kcat/scan/parser.h"

namespace kcat::scan {

namespace {

bool ident_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool ident_char(unsigned char c) { return ident_start(c) || (c >= '0' && c <= '9') || c == '$'; }
bool digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool word_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || digit(c);
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s), out_(s), n_(s.size()) {}

  std::string run() {
    bool line_start = true;  // only whitespace since the last newline: a '#' starts a directive
    while (i_ < n_) {
      unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '\n') {
        line_start = true;
        in_include_ = false;
        ++i_;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++i_;
      } else if (c == '\\' && continuation(i_)) {
        i_ = after_continuation(i_);
      } else if (c == '/' && peek(1) == '/') {
        line_comment();
        line_start = false;
      } else if (c == '/' && peek(1) == '*') {
        if (!block_comment()) ++i_;
        line_start = false;
      } else if (c == '#' && line_start) {
        directive();
        line_start = false;
      } else if (c == '"') {
        string_literal(i_, i_);
        line_start = false;
      } else if (c == '\'') {
        if (!char_literal(i_, i_)) ++i_;
        line_start = false;
      } else if (ident_start(c)) {
        identifier();
        line_start = false;
      } else if (digit(c) || (c == '.' && digit(static_cast<unsigned char>(peek(1))))) {
        number();
        line_start = false;
      } else {
        ++i_;
        line_start = false;
      }
    }
    return std::move(out_);
  }

 private:
  char peek(size_t k) const { return i_ + k < n_ ? s_[i_ + k] : '\0'; }
  char at(size_t j) const { return j < n_ ? s_[j] : '\0'; }

  // A backslash that ends its line: `\` then `\n` or `\r\n`.
  bool continuation(size_t j) const {
    return at(j) == '\\' && (at(j + 1) == '\n' || (at(j + 1) == '\r' && at(j + 2) == '\n'));
  }
  size_t after_continuation(size_t j) const { return j + (at(j + 1) == '\r' ? 3 : 2); }

  void blank(size_t begin, size_t end) {
    if (in_include_) return;  // a string or comment child of preproc_include stays as it is
    for (size_t k = begin; k < end && k < n_; ++k) {
      if (out_[k] != '\n' && out_[k] != '\r') out_[k] = ' ';
    }
  }

  // `//` to the end of the line; a backslash run carries it over the newline (tree-sitter's
  // comment token: `//(\\+(.|\r?\n)|[^\\\n])*`).
  void line_comment() {
    size_t j = i_ + 2;
    while (j < n_) {
      if (s_[j] == '\\') {
        while (j < n_ && s_[j] == '\\') ++j;
        if (j >= n_) break;
        if (s_[j] == '\r' && at(j + 1) == '\n') {
          j += 2;
        } else {
          ++j;  // any character, a newline included
        }
      } else if (s_[j] == '\n') {
        break;
      } else {
        ++j;
      }
    }
    blank(i_, j);
    i_ = j;
  }

  // `/* ... */`; an unterminated one is no comment token at all (false).
  bool block_comment() {
    auto end = s_.find("*/", i_ + 2);
    if (end == std::string_view::npos) return false;
    blank(i_, end + 2);
    i_ = end + 2;
    return true;
  }

  // From the opening quote at `quote` (the literal, with any prefix, starts at `begin`) to the
  // closing quote. Content is `[^\\"\n]` or an escape. Without a closing quote on its line it is
  // no literal (tree-sitter lexes what follows as code): nothing is blanked.
  void string_literal(size_t begin, size_t quote) {
    size_t j = quote + 1;
    while (j < n_ && s_[j] != '"' && s_[j] != '\n') {
      if (s_[j] == '\\' && j + 1 < n_) {
        j += (s_[j + 1] == '\r' && at(j + 2) == '\n') ? 3 : 2;
      } else {
        ++j;
      }
    }
    if (j >= n_ || s_[j] != '"') {
      i_ = quote + 1;
      return;
    }
    blank(begin, j + 1);
    i_ = j + 1;
  }

  // `'x'`, `'\n'`, `'ab'` (tree-sitter accepts several characters); false when no closing quote
  // follows on the line, or for `''`.
  bool char_literal(size_t begin, size_t quote) {
    size_t j = quote + 1;
    size_t chars = 0;
    while (j < n_ && s_[j] != '\'' && s_[j] != '\n') {
      if (s_[j] == '\\' && j + 1 < n_) {
        j += (s_[j + 1] == '\r' && at(j + 2) == '\n') ? 3 : 2;
      } else {
        ++j;
      }
      ++chars;
    }
    if (j >= n_ || s_[j] != '\'' || chars == 0) return false;
    blank(begin, j + 1);
    i_ = j + 1;
    return true;
  }

  // R"delim( ... )delim" from the opening quote; false when malformed (then it is lexed as an
  // ordinary string).
  bool raw_string(size_t begin, size_t quote) {
    size_t open = quote + 1;
    while (open < n_ && open - quote - 1 <= 16 && s_[open] != '(' && s_[open] != ')' && s_[open] != '\\' &&
           s_[open] != ' ' && s_[open] != '\t' && s_[open] != '\n' && s_[open] != '"') {
      ++open;
    }
    if (open >= n_ || s_[open] != '(') return false;
    std::string close = ")";
    close.append(s_.substr(quote + 1, open - quote - 1));
    close += '"';
    auto end = s_.find(close, open + 1);
    if (end == std::string_view::npos) return false;
    blank(begin, end + close.size());
    i_ = end + close.size();
    return true;
  }

  // An identifier, or the encoding prefix of a literal (L"", u8"", R"()", u'x', ...).
  void identifier() {
    size_t begin = i_;
    size_t j = i_;
    while (j < n_ && ident_char(static_cast<unsigned char>(s_[j]))) ++j;
    auto word = s_.substr(begin, j - begin);
    char next = at(j);
    if (next == '"') {
      if (word == "R" || word == "LR" || word == "uR" || word == "UR" || word == "u8R") {
        if (raw_string(begin, j)) return;
        string_literal(begin, j);
        return;
      }
      if (word == "L" || word == "u" || word == "U" || word == "u8") {
        string_literal(begin, j);
        return;
      }
    } else if (next == '\'' && (word == "L" || word == "u" || word == "U" || word == "u8")) {
      if (char_literal(begin, j)) return;
    }
    i_ = j;
  }

  // A pp-number: digits, letters, '.', digit separators (1'000'000) and an exponent's sign.
  void number() {
    size_t j = i_ + 1;
    while (j < n_) {
      char c = s_[j];
      if (word_char(static_cast<unsigned char>(c)) || c == '.') {
        ++j;
      } else if (c == '\'' && j + 1 < n_ && word_char(static_cast<unsigned char>(s_[j + 1]))) {
        j += 2;
      } else if ((c == '+' || c == '-') &&
                 (s_[j - 1] == 'e' || s_[j - 1] == 'E' || s_[j - 1] == 'p' || s_[j - 1] == 'P')) {
        ++j;
      } else {
        break;
      }
    }
    i_ = j;
  }

  // `#` at the start of a line. #include keeps its path; #define and other directives (#pragma,
  // #error, #undef, ...) end in a preproc_arg; conditionals are lexed as code.
  void directive() {
    size_t j = i_ + 1;
    while (j < n_ && (s_[j] == ' ' || s_[j] == '\t')) ++j;
    size_t w = j;
    while (j < n_ && word_char(static_cast<unsigned char>(s_[j]))) ++j;
    auto word = s_.substr(w, j - w);
    if (word.empty()) {
      ++i_;
      return;
    }
    i_ = j;
    if (word == "include") {
      in_include_ = true;
      return;
    }
    if (word == "if" || word == "ifdef" || word == "ifndef" || word == "elif" || word == "else" ||
        word == "endif" || word == "elifdef" || word == "elifndef") {
      return;
    }
    if (word == "define") {
      skip_blanks();
      while (i_ < n_ && ident_char(static_cast<unsigned char>(s_[i_]))) ++i_;
      if (i_ < n_ && s_[i_] == '(') {  // a function-like macro's parameters follow the name at once
        while (i_ < n_ && s_[i_] != ')' && s_[i_] != '\n') ++i_;
        if (i_ < n_ && s_[i_] == ')') ++i_;
      }
    }
    preproc_arg();
  }

  void skip_blanks() {
    while (i_ < n_) {
      if (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\f' || s_[i_] == '\v') {
        ++i_;
      } else if (continuation(i_)) {
        i_ = after_continuation(i_);
      } else {
        break;
      }
    }
  }

  // The rest of a directive as one opaque token: `\S([^/\n]|\/[^*]|\\\r?\n)*`, of which
  // nothing is blanked. Comments before it are blanked; a /* */ comment ends it, and the rest of
  // the line is lexed as code again (tree-sitter's error recovery does the same).
  void preproc_arg() {
    while (true) {
      skip_blanks();
      if (i_ >= n_ || s_[i_] == '\n') return;
      if (s_[i_] == '/' && peek(1) == '*') {
        if (block_comment()) continue;
        ++i_;
      } else if (s_[i_] == '/' && peek(1) == '/') {
        // A directive's argument that starts with `//` is a comment (it outranks preproc_arg).
        line_comment();
        return;
      }
      break;
    }
    while (i_ < n_ && s_[i_] != '\n') {
      if (s_[i_] == '\\' && continuation(i_)) {
        i_ = after_continuation(i_);
      } else if (s_[i_] == '/' && peek(1) == '*') {
        return;  // the main loop blanks the comment and lexes on
      } else if (s_[i_] == '/' && i_ + 1 < n_) {
        i_ += 2;
      } else {
        ++i_;
      }
    }
  }

  std::string_view s_;
  std::string out_;
  size_t n_;
  size_t i_ = 0;
  bool in_include_ = false;
};

}  // namespace

std::string mask_cpp(std::string_view bytes) { return Lexer(bytes).run(); }

std::string mask_cpp_tree_sitter(const SourceFile& file, AnalyzeStats* stats) {
  std::string masked = file.bytes;
  auto tree = parse(file.language, file.bytes);
  TSNode root = ts_tree_root_node(tree.get());
  if (stats) {
    stats->parsed = true;
    stats->syntax_errors = count_syntax_errors(root);
  }
  std::vector<TSNode> stack{root};
  while (!stack.empty()) {
    TSNode n = stack.back();
    stack.pop_back();
    const char* t = ts_node_type(n);
    bool blank = std::strcmp(t, "comment") == 0 || std::strcmp(t, "string_literal") == 0 ||
                 std::strcmp(t, "raw_string_literal") == 0 || std::strcmp(t, "char_literal") == 0;
    if (blank) {
      TSNode p = ts_node_parent(n);
      if (!ts_node_is_null(p) && std::strcmp(ts_node_type(p), "preproc_include") == 0) continue;
      for (uint32_t i = ts_node_start_byte(n); i < ts_node_end_byte(n) && i < masked.size(); ++i) {
        if (masked[i] != '\n' && masked[i] != '\r') masked[i] = ' ';
      }
      continue;
    }
    for (uint32_t i = 0; i < ts_node_child_count(n); ++i) stack.push_back(ts_node_child(n, i));
  }
  return masked;
}

}  // namespace kcat::scan
