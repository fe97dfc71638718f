#include "matching.h"

#include <algorithm>
#include <functional>

namespace kcat::agent {

namespace {

// `s` with CRLF as LF; `at[i]` is the offset in `s` of the normalized text's byte i (a LF that was a
// CRLF maps to its CR), and at[size] is s.size().
std::string normalize(const std::string& s, std::vector<size_t>* at) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') {
      if (at) at->push_back(i);
      out += '\n';
      ++i;
      continue;
    }
    if (at) at->push_back(i);
    out += s[i];
  }
  if (at) at->push_back(s.size());
  return out;
}

struct Line {
  size_t begin, end;  // without the '\n'
};

std::vector<Line> lines_of(const std::string& s) {
  std::vector<Line> out;
  size_t b = 0;
  while (b < s.size()) {
    auto e = s.find('\n', b);
    if (e == std::string::npos) e = s.size();
    out.push_back({b, e});
    b = e + 1;
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  for (auto& l : lines_of(s)) out.push_back(s.substr(l.begin, l.end - l.begin));
  return out;
}

std::string join(const std::vector<std::string>& lines, bool final_newline) {
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    if (i + 1 < lines.size() || final_newline) out += '\n';
  }
  return out;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\f\v") == std::string::npos; }

std::string rstrip(const std::string& s) {
  auto e = s.find_last_not_of(" \t\f\v");
  return e == std::string::npos ? "" : s.substr(0, e + 1);
}

size_t indent_of(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  return b == std::string::npos ? s.size() : b;
}

std::string squeeze(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\f' && c != '\v') out += c;
  }
  return out;
}

// "   12| text" (the numbered views of read_file): every non-blank line of `lines` has the prefix.
bool numbered(const std::vector<std::string>& lines) {
  bool any = false;
  for (auto& l : lines) {
    if (blank(l)) continue;
    size_t i = 0;
    while (i < l.size() && l[i] == ' ') ++i;
    size_t d = i;
    while (i < l.size() && l[i] >= '0' && l[i] <= '9') ++i;
    if (i == d || i >= l.size() || l[i] != '|') return false;
    any = true;
  }
  return any;
}

std::vector<std::string> unnumber(std::vector<std::string> lines) {
  for (auto& l : lines) {
    auto bar = l.find('|');
    if (bar == std::string::npos) continue;
    l = l.substr(bar + 1);
    if (!l.empty() && l[0] == ' ') l.erase(0, 1);
  }
  return lines;
}

// Re-indents non-blank lines by `delta` columns, with `unit` (' ' or '\t') when adding.
std::vector<std::string> reindent(std::vector<std::string> lines, long delta, char unit) {
  for (auto& l : lines) {
    if (blank(l) || delta == 0) continue;
    if (delta > 0) {
      l.insert(0, static_cast<size_t>(delta), unit);
    } else {
      auto strip = std::min(indent_of(l), static_cast<size_t>(-delta));
      l.erase(0, strip);
    }
  }
  return lines;
}

}  // namespace

EditLocation locate_edit(const std::string& file, const std::string& search_in,
                         const std::string& replace_in) {
  std::vector<size_t> at;
  const std::string text = normalize(file, &at);
  const bool crlf = text.size() != file.size();
  std::string search = normalize(search_in, nullptr), replace = normalize(replace_in, nullptr);
  EditLocation out;
  std::vector<std::string> notes;
  {
    auto s = split(search);
    if (numbered(s) && text.find(search) == std::string::npos) {
      bool nl = !search.empty() && search.back() == '\n';
      search = join(unnumber(s), nl);
      auto r = split(replace);
      if (numbered(r)) replace = join(unnumber(r), !replace.empty() && replace.back() == '\n');
      notes.push_back("without the line-number prefixes copied from a numbered view");
    }
  }
  auto finish = [&](std::vector<EditMatch> found, const std::string& how) {
    if (!how.empty()) notes.push_back(how);
    for (auto& m : found) {
      m.line =
          1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(m.begin), '\n'));
      m.begin = at[m.begin];
      m.end = at[m.end];
      if (crlf) {
        std::string r;
        for (char c : m.replacement) r += c == '\n' ? std::string("\r\n") : std::string(1, c);
        m.replacement = std::move(r);
      }
    }
    out.matches = std::move(found);
    for (size_t i = 0; i < notes.size(); ++i) out.how += (i ? "; " : "") + notes[i];
    return out;
  };
  if (search.empty()) return out;
  // 1. exact
  std::vector<EditMatch> found;
  for (auto p = text.find(search); p != std::string::npos; p = text.find(search, p + 1)) {
    found.push_back({p, p + search.size(), replace, 0});
  }
  if (!found.empty()) return finish(std::move(found), "");
  // 2-4. line by line
  const auto want = split(search);
  const bool want_nl = search.back() == '\n';
  const auto lines = lines_of(text);
  const auto repl = split(replace);
  const bool repl_nl = !replace.empty() && replace.back() == '\n';
  auto line_text = [&](size_t i) { return text.substr(lines[i].begin, lines[i].end - lines[i].begin); };
  auto first_code = [&](const std::vector<std::string>& ls) {
    for (size_t i = 0; i < ls.size(); ++i)
      if (!blank(ls[i])) return i;
    return ls.size();
  };
  const size_t anchor = first_code(want);
  if (anchor == want.size()) return finish({}, "");
  struct Tier {
    const char* how;
    std::function<bool(const std::string& have, const std::string& wanted)> eq;
    bool reindent;
    bool uniform;  // every line shifted by the same amount
  };
  const Tier tiers[] = {
      {"ignoring trailing whitespace", [](auto& a, auto& b) { return rstrip(a) == rstrip(b); }, false, false},
      {"ignoring a uniform change of indentation (the replacement was re-indented to match)",
       [](auto& a, auto& b) {
         return blank(a) == blank(b) && rstrip(a).substr(indent_of(a)) == rstrip(b).substr(indent_of(b));
       },
       true, true},
      {"ignoring whitespace (the replacement was re-indented to match its first line)",
       [](auto& a, auto& b) { return squeeze(a) == squeeze(b); }, true, false},
  };
  for (const auto& tier : tiers) {
    for (size_t i = 0; i + want.size() <= lines.size(); ++i) {
      bool ok = true;
      long delta = 0;
      bool have_delta = false;
      for (size_t j = 0; j < want.size() && ok; ++j) {
        auto have = line_text(i + j);
        ok = tier.eq(have, want[j]);
        if (!ok || blank(want[j]) || !tier.reindent) continue;
        long d = static_cast<long>(indent_of(have)) - static_cast<long>(indent_of(want[j]));
        // the indentation tier needs one shift for every line; the whitespace tier takes the first's
        if (!have_delta) {
          delta = d;
          have_delta = true;
        } else if (d != delta && tier.uniform) {
          ok = false;
        }
      }
      if (!ok) continue;
      size_t b = lines[i].begin, e = lines[i + want.size() - 1].end;
      if (want_nl && e < text.size()) ++e;
      auto first = line_text(i + anchor);
      char unit = indent_of(first) > 0 && first[0] == '\t' ? '\t' : ' ';
      auto r = tier.reindent ? reindent(repl, delta, unit) : repl;
      found.push_back({b, e, join(r, repl_nl), 0});
    }
    if (!found.empty()) return finish(std::move(found), tier.how);
  }
  return finish({}, "");
}

}  // namespace kcat::agent
