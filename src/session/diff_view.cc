#include "kcat/session/diff_view.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ostream>

#include "kcat/core/text.h"

namespace kcat::session {

namespace {

// git's defaults: meta bold, hunk header cyan, removed red, added green.
const char* colour_of(std::string_view line) {
  for (std::string_view meta : {"diff ", "index ", "--- ", "+++ ", "new file", "deleted file", "rename "}) {
    if (line.rfind(meta, 0) == 0) return "\x1b[1m";
  }
  if (line.rfind("@@", 0) == 0) return "\x1b[36m";
  if (!line.empty() && line[0] == '-') return "\x1b[31m";
  if (!line.empty() && line[0] == '+') return "\x1b[32m";
  return nullptr;
}

size_t screen_rows() {
  winsize ws{};
  if (::ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return ws.ws_row;
  return 24;
}

// True when the pager took the text (it ran and exited 0).
bool page(const std::string& text) {
  const char* env = std::getenv("PAGER");
  std::string pager = env && *env ? env : "less -R";
  std::fflush(nullptr);
  std::FILE* p = ::popen(pager.c_str(), "w");
  if (!p) return false;
  std::fwrite(text.data(), 1, text.size(), p);
  int status = ::pclose(p);
  return status == 0;
}

}  // namespace

DiffStyle diff_style(bool colour, bool ci) { return {colour, !ci && ::isatty(0) != 0 && ::isatty(1) != 0}; }

std::string render_diff(std::string_view diff, bool colour) {
  // Visible first: a control character in the file is shown as text, never sent to the terminal,
  // and the only escapes written are kcat's own colours.
  auto text = visible_text(diff);
  if (!colour) return text;
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    auto end = nl == std::string::npos ? text.size() : nl;
    std::string_view line(text.data() + start, end - start);
    if (const char* c = colour_of(line)) {
      out += c;
      out += line;
      out += "\x1b[m";
    } else {
      out += line;
    }
    if (nl != std::string::npos) out += '\n';
    start = end + 1;
  }
  return out;
}

void show_diff(std::ostream& out, std::string_view diff, const DiffStyle& style) {
  auto text = render_diff(diff, style.colour);
  if (!text.empty() && text.back() != '\n') text += '\n';
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  if (style.pager && lines + 2 > screen_rows()) {
    out.flush();
    if (page(text)) return;
  }
  out << text << std::flush;
}

}  // namespace kcat::session
