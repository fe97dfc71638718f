#include "kcat/core/text.h"
#include "kcat/core/utf8.h"

#include <sys/ioctl.h>
#include <unistd.h>
#include <cctype>

#include <cstdio>

#include <algorithm>

namespace kcat {

namespace {

// Length of the UTF-8 sequence starting at p (1 for an invalid lead or truncated sequence).
size_t utf8_length(std::string_view s, size_t p) {
  auto c = static_cast<unsigned char>(s[p]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (n == 1 || p + n > s.size()) return 1;
  for (size_t i = 1; i < n; ++i) {
    if ((static_cast<unsigned char>(s[p + i]) & 0xC0) != 0x80) return 1;
  }
  return n;
}

}  // namespace

LineIndex::LineIndex(std::string_view text) : text_(text) {
  bom_ = text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF";
  starts_.push_back(0);
  for (uint32_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') {
      starts_.push_back(i + 1);
    } else if (text[i] == '\r') {
      if (i + 1 < text.size() && text[i + 1] == '\n') {
        crlf_ = true;
        continue;  // the '\n' ends the line
      }
      starts_.push_back(i + 1);
    }
  }
}

Position LineIndex::position(uint32_t byte_offset) const {
  byte_offset = std::min<uint32_t>(byte_offset, static_cast<uint32_t>(text_.size()));
  auto it = std::upper_bound(starts_.begin(), starts_.end(), byte_offset);
  auto line = static_cast<uint32_t>(it - starts_.begin());
  uint32_t p = starts_[line - 1];
  if (line == 1 && bom_ && byte_offset >= 3) p = 3;
  uint32_t column = 1;
  while (p < byte_offset) {
    p += static_cast<uint32_t>(utf8_length(text_, p));
    ++column;
  }
  return {line, column};
}

uint32_t LineIndex::line_start(uint32_t line) const {
  if (line == 0) return 0;
  if (line > starts_.size()) return static_cast<uint32_t>(text_.size());
  return starts_[line - 1];
}

std::string_view LineIndex::line_text(uint32_t line) const {
  if (line == 0 || line > starts_.size()) return {};
  uint32_t b = starts_[line - 1];
  uint32_t e = line < starts_.size() ? starts_[line] : static_cast<uint32_t>(text_.size());
  while (e > b && (text_[e - 1] == '\n' || text_[e - 1] == '\r')) --e;
  if (line == 1 && bom_) b = std::min<uint32_t>(3, e);
  return text_.substr(b, e - b);
}

bool looks_binary(std::string_view bytes) {
  return bytes.substr(0, 8192).find('\0') != std::string_view::npos;
}

bool is_valid_utf8(std::string_view bytes) {
  for (size_t p = 0; p < bytes.size();) {
    auto c = static_cast<unsigned char>(bytes[p]);
    size_t n = utf8_length(bytes, p);
    if (n == 1 && c >= 0x80) return false;
    p += n;
  }
  return true;
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string trim(std::string_view s) { return std::string(trim_view(s)); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string last_line(std::string_view s) {
  auto t = trim_view(s);
  auto nl = t.rfind('\n');
  return trim(nl == std::string_view::npos ? t : t.substr(nl + 1));
}

std::string visible_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char buf[16];
  for (size_t p = 0; p < text.size();) {
    auto c = static_cast<unsigned char>(text[p]);
    size_t n = utf8_length(text, p);
    if (n == 1 && c >= 0x80) {  // not UTF-8
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (n == 1 && c == '\r' && !(p + 1 < text.size() && text[p + 1] == '\n')) {
      out += "\\r";
    } else if (n == 1 && ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)) {
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else if (n > 1) {
      uint32_t cp = c & (0xFF >> (n + 1));
      for (size_t i = 1; i < n; ++i) cp = (cp << 6) | (static_cast<unsigned char>(text[p + i]) & 0x3F);
      bool hidden = (cp >= 0x80 && cp <= 0x9F) ||      // C1 controls (CSI is 0x9B)
                    (cp >= 0x202A && cp <= 0x202E) ||  // embeddings and overrides
                    (cp >= 0x2066 && cp <= 0x2069) ||  // isolates
                    cp == 0x200E || cp == 0x200F || cp == 0x061C;
      if (hidden) {
        std::snprintf(buf, sizeof buf, "<U+%04X>", cp);
        out += buf;
      } else {
        out.append(text.substr(p, n));
      }
    } else {
      out += static_cast<char>(c);
    }
    p += n;
  }
  return out;
}

size_t utf8_floor(std::string_view s, size_t max) {
  if (max >= s.size()) return s.size();
  size_t n = max;
  // Back over continuation bytes (at most three) to the start of the character s[max] is part of.
  for (int i = 0; i < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80; ++i) --n;
  return n;
}

namespace {

// Length of the well-formed UTF-8 sequence at p, or 0 when there is none (RFC 3629 table 3-7).
size_t well_formed(std::string_view s, size_t p) {
  auto b = [&](size_t i) { return p + i < s.size() ? static_cast<unsigned char>(s[p + i]) : 0x100u; };
  auto in = [](unsigned v, unsigned lo, unsigned hi) { return v >= lo && v <= hi; };
  unsigned c = b(0);
  if (c < 0x80) return 1;
  if (in(c, 0xC2, 0xDF)) return in(b(1), 0x80, 0xBF) ? 2 : 0;
  if (in(c, 0xE0, 0xEF)) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return in(b(1), lo, hi) && in(b(2), 0x80, 0xBF) ? 3 : 0;
  }
  if (in(c, 0xF0, 0xF4)) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(b(1), lo, hi) && in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

}  // namespace

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t p = 0; p < s.size();) {
    size_t n = well_formed(s, p);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++p;
    } else {
      out.append(s.substr(p, n));
      p += n;
    }
  }
  return out;
}

}  // namespace kcat

namespace kcat {

size_t display_width(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string fit_width(std::string_view line, size_t width) {
  if (width == 0 || display_width(line) <= width) return std::string(line);
  // Keep width - 1 characters, then the ellipsis.
  size_t kept = 0, i = 0;
  for (; i < line.size(); ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80 && kept++ == width - 1) break;
  }
  return std::string(line.substr(0, i)) + "…";
}

size_t terminal_width(int fd) {
  if (::isatty(fd) == 0) return 0;
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

}  // namespace kcat
