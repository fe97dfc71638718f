#include "python_partial.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "python_rules.h"

namespace kcat::scan::py {

Triggers::Triggers(const std::vector<std::string>& literals, bool usable) : usable_(usable) {
  std::string pattern = std::string("(?i:") + kMentionWords + ")";
  for (auto& l : literals) {
    if (l.empty()) continue;
    pattern += "|" + RE2::QuoteMeta(l);
    // "torch.ops._" can be completed by a name bound to "torch.ops": keep "torch." and "torch.ops.".
    // A literal that starts with '.' (".whl") completes no bound name: its prefix "." would make every
    // aliased binding interesting, and most statements of a file worth parsing.
    for (size_t dot = l.find('.', 1); dot != std::string::npos; dot = l.find('.', dot + 1)) {
      dotted_prefixes_.push_back(l.substr(0, dot + 1));
    }
  }
  RE2::Options opt;
  opt.set_log_errors(false);
  opt.set_max_mem(64 << 20);
  re_ = std::make_unique<RE2>(pattern, opt);
  if (!re_->ok()) re_.reset();
}

Triggers::~Triggers() = default;

bool Triggers::interesting_binding(std::string_view local, std::string_view qualified) const {
  if (RE2::PartialMatch(re2::StringPiece(qualified.data(), qualified.size()), *re_)) return true;
  // Written as itself (`import torch`), the chain in the source holds the whole literal.
  if (local == qualified) return false;
  std::string dotted = std::string(qualified) + ".";
  return std::any_of(dotted_prefixes_.begin(), dotted_prefixes_.end(),
                     [&](const std::string& p) { return dotted.ends_with(p); });
}

std::optional<PartialParse> PartialParse::plan(std::string_view src, const Triggers& triggers) {
  if (!triggers.usable()) return std::nullopt;
  auto units = split_units(src);
  if (!units || units->size() < 2) return std::nullopt;
  PartialParse p(src, std::move(*units));
  size_t n = p.units_.size();
  p.wanted_.assign(n, false);
  for (size_t i = 0; i < n; ++i) p.wanted_[i] = p.units_[i].has_import;
  // Every statement where a trigger is written: one pass over the file, skipping to the end of a
  // statement once it is wanted. A literal holds no newline, so it never spans two statements.
  re2::StringPiece rest(src.data(), src.size());
  while (!rest.empty()) {
    re2::StringPiece found;
    if (!triggers.re().Match(rest, 0, rest.size(), RE2::UNANCHORED, &found, 1)) break;
    auto at = static_cast<uint32_t>(found.data() - src.data());
    auto it = std::upper_bound(p.units_.begin(), p.units_.end(), at,
                               [](uint32_t b, const Unit& u) { return b < u.begin; });
    size_t i = static_cast<size_t>(it - p.units_.begin()) - 1;
    p.wanted_[i] = true;
    uint32_t next = p.units_[i].end;
    if (next >= src.size()) break;
    rest = re2::StringPiece(src.data() + next, src.size() - next);
  }
  p.close();
  if (p.included_bytes() == src.size()) return std::nullopt;  // nothing to skip: the plain parse
  return p;
}

void PartialParse::close() {
  size_t n = units_.size();
  included_ = wanted_;
  // A string statement first in the module is its docstring: keep it, so that no later string
  // statement becomes first (and a docstring) in the smaller tree.
  if (units_[0].starts_with_string) included_[0] = true;
  bool later_string = false;
  for (size_t i = 1; i < n; ++i) {
    if (units_[i].kind == Unit::Kind::Statement && included_[i] && units_[i].starts_with_string)
      later_string = true;
  }
  if (later_string) included_[0] = true;
  // A class: its header with any of its statements, and at least one statement with the header.
  for (size_t i = 0; i < n; ++i) {
    if (units_[i].kind != Unit::Kind::ClassHeader) continue;
    size_t first = i + 1, end = first;
    while (end < n && units_[end].kind == Unit::Kind::ClassStatement && units_[end].group == units_[i].group)
      ++end;
    bool any = false, string_after_first = false;
    for (size_t j = first; j < end; ++j) {
      if (!included_[j]) continue;
      any = true;
      if (j > first && units_[j].starts_with_string) string_after_first = true;
    }
    if (!any && !included_[i]) continue;
    included_[i] = true;
    if (first < end && (!any || units_[first].starts_with_string || string_after_first))
      included_[first] = true;
    i = end - 1;
  }
  // A class header pulled in as the module's first statement needs its body too.
  if (included_[0] && units_[0].kind == Unit::Kind::ClassHeader && n > 1 &&
      units_[1].kind == Unit::Kind::ClassStatement) {
    bool any = false;
    for (size_t j = 1; j < n && units_[j].kind == Unit::Kind::ClassStatement; ++j) any = any || included_[j];
    if (!any) included_[1] = true;
  }
}

bool PartialParse::include_naming(const std::vector<std::string>& names) {
  if (names.empty()) return false;
  std::set<std::string_view> wanted_names(names.begin(), names.end());
  // Identifiers as RE2's \b sees words: ASCII letters, digits and '_' (any other byte ends one, so
  // a name next to a non-ASCII letter is still found: more statements, never fewer).
  auto word = [](unsigned char c) { return std::isalnum(c) || c == '_'; };
  bool added = false;
  for (size_t i = 0; i < units_.size(); ++i) {
    if (wanted_[i]) continue;
    std::string_view text = src_.substr(units_[i].begin, units_[i].end - units_[i].begin);
    for (size_t p = 0; p < text.size();) {
      if (!word(static_cast<unsigned char>(text[p]))) {
        ++p;
        continue;
      }
      size_t q = p;
      while (q < text.size() && word(static_cast<unsigned char>(text[q]))) ++q;
      if (wanted_names.count(text.substr(p, q - p))) {
        wanted_[i] = true;
        added = true;
        break;
      }
      p = q;
    }
  }
  if (added) close();
  return added;
}

size_t PartialParse::included_bytes() const {
  size_t total = 0;
  for (size_t i = 0; i < units_.size(); ++i) {
    if (included_[i]) total += units_[i].end - units_[i].begin;
  }
  return total;
}

std::vector<TSRange> PartialParse::ranges() const {
  std::vector<TSRange> out;
  // Tree-sitter counts rows at '\n' only (a lone '\r' does not end its row), and columns in bytes.
  uint32_t row = 0, counted = 0, line_start = 0;
  auto point_at = [&](uint32_t byte) {
    for (; counted < byte; ++counted) {
      if (src_[counted] == '\n') {
        ++row;
        line_start = counted + 1;
      }
    }
    return TSPoint{row, byte - line_start};
  };
  for (size_t i = 0; i < units_.size(); ++i) {
    if (!included_[i]) continue;
    size_t j = i;
    while (j + 1 < units_.size() && included_[j + 1]) ++j;
    TSRange r{};
    r.start_byte = units_[i].begin;
    r.end_byte = units_[j].end;
    r.start_point = point_at(r.start_byte);
    r.end_point = point_at(r.end_byte);
    out.push_back(r);
    i = j;
  }
  return out;
}

}  // namespace kcat::scan::py
