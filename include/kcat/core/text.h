#pragma once
// Byte offsets <-> line:column for source text as it is on disk: CRLF, lone CR, a UTF-8 BOM and
// bytes that are not valid UTF-8 all give the line:column an editor shows.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kcat {

struct Position {
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in characters (UTF-8 code points; an invalid byte counts as one)
  bool operator==(const Position&) const = default;
};

class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  Position position(uint32_t byte_offset) const;
  // Byte offset of the start of 1-based `line` (clamped to the text's end).
  uint32_t line_start(uint32_t line) const;
  // The text of 1-based `line` without its line ending.
  std::string_view line_text(uint32_t line) const;
  uint32_t line_count() const { return static_cast<uint32_t>(starts_.size()); }
  bool has_bom() const { return bom_; }
  bool has_crlf() const { return crlf_; }

 private:
  std::string_view text_;
  std::vector<uint32_t> starts_;
  bool bom_ = false;
  bool crlf_ = false;
};

// `s` without leading and trailing whitespace (std::isspace in the C locale); trim_view for a
// parser that keeps pointing into the text.
std::string_view trim_view(std::string_view s);
std::string trim(std::string_view s);
// `s` with its ASCII letters in lower case.
std::string lower(std::string_view s);
// The last line of `s` that is not blank, trimmed: the answer after what a chatty ~/.bashrc or a
// tool printed before it ("" when there is none).
std::string last_line(std::string_view s);

// True when the bytes look like a binary file (a NUL byte in the first 8 KiB).
bool looks_binary(std::string_view bytes);
// True when every byte sequence is valid UTF-8.
bool is_valid_utf8(std::string_view bytes);
// `text` made safe to show a person on a terminal: control characters other than newline and tab
// (ESC, CR, backspace, DEL, C1), Unicode direction overrides and isolates, and bytes that are not
// UTF-8 are written as visible escapes (`\x1b`, `\r`, `<U+202E>`), so a file cannot hide a line
// from the person asked to approve it (issue 14 §5).
std::string visible_text(std::string_view text);

// The columns `s` takes on a terminal: one per UTF-8 character (an invalid byte counts as one).
size_t display_width(std::string_view s);
// `line` cut to `width` columns, its last one "…" when something was cut; whole when width is 0.
std::string fit_width(std::string_view line, size_t width);
// The columns of the terminal on fd (TIOCGWINSZ); 0 when fd is not a terminal, so files and pipes
// get whole lines.
size_t terminal_width(int fd);

}  // namespace kcat
