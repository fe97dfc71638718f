// PEP 440 versions and specifiers, PEP 508 requirements and markers: small recursive-descent
// parsers over the grammars the PEPs give, and the comparison rules of PEP 440 (as pip's vendored
// `packaging` applies them).
#include "kcat/env/pep508.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "kcat/core/error.h"
#include "kcat/core/text.h"

namespace kcat::env::pep {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
bool is_space(char c) { return c == ' ' || c == '\t'; }

[[noreturn]] void fail(std::string_view what, std::string_view text, size_t at) {
  throw Error(ErrorKind::Usage, fmt::format("{}: `{}` (at column {})", what, text, at + 1));
}

// A cursor over lower-cased version text.
struct VersionCursor {
  std::string s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek(size_t k = 0) const { return i + k < s.size() ? s[i + k] : '\0'; }
  bool sep() const { return peek() == '.' || peek() == '-' || peek() == '_'; }
  std::optional<long> number() {
    if (!is_digit(peek())) return std::nullopt;
    long n = 0;
    while (is_digit(peek())) {
      if (n > (std::numeric_limits<long>::max() - 9) / 10) return std::nullopt;
      n = n * 10 + (s[i++] - '0');
    }
    return n;
  }
  // Consumes one of `words` (longest first), optionally after a separator; returns its index.
  std::optional<size_t> word(std::initializer_list<std::string_view> words) {
    size_t start = i;
    if (sep()) ++i;
    size_t best = std::string::npos, best_len = 0;
    size_t k = 0;
    for (auto w : words) {
      if (s.compare(i, w.size(), w) == 0 && w.size() > best_len) best = k, best_len = w.size();
      ++k;
    }
    if (best == std::string::npos) {
      i = start;
      return std::nullopt;
    }
    i += best_len;
    return best;
  }
  // The number after a pre/post/dev word: an optional separator, then digits (implicit 0).
  long implicit_number() {
    size_t start = i;
    if (sep()) ++i;
    if (auto n = number()) return *n;
    i = start;
    return 0;
  }
};

int cmp_long(long a, long b) { return a < b ? -1 : a > b ? 1 : 0; }

// Local parts: segments compared numerically when both are numbers, a number above a word,
// words as strings; a longer local with an equal prefix sorts later.
int compare_local(const std::string& a, const std::string& b) {
  if (a == b) return 0;
  if (a.empty()) return -1;
  if (b.empty()) return 1;
  auto split = [](const std::string& s) {
    std::vector<std::string> out(1);
    for (char c : s) {
      if (c == '.') {
        out.emplace_back();
      } else {
        out.back() += c;
      }
    }
    return out;
  };
  auto x = split(a), y = split(b);
  for (size_t k = 0; k < std::min(x.size(), y.size()); ++k) {
    bool xn = !x[k].empty() && std::all_of(x[k].begin(), x[k].end(), is_digit);
    bool yn = !y[k].empty() && std::all_of(y[k].begin(), y[k].end(), is_digit);
    if (xn && yn) {
      // numbers of any length: without leading zeros, the longer is larger, else by digits
      auto strip = [](const std::string& d) {
        auto p = d.find_first_not_of('0');
        return p == std::string::npos ? std::string("0") : d.substr(p);
      };
      auto dx = strip(x[k]), dy = strip(y[k]);
      if (dx.size() != dy.size()) return dx.size() < dy.size() ? -1 : 1;
      if (dx != dy) return dx < dy ? -1 : 1;
    } else if (xn != yn) {
      return xn ? 1 : -1;
    } else if (x[k] != y[k]) {
      return x[k] < y[k] ? -1 : 1;
    }
  }
  return cmp_long(static_cast<long>(x.size()), static_cast<long>(y.size()));
}

}  // namespace

std::optional<Version> Version::try_parse(std::string_view text) {
  VersionCursor c{lower(trim_view(text))};
  Version v;
  if (c.peek() == 'v') ++c.i;
  auto first = c.number();
  if (!first) return std::nullopt;
  if (c.peek() == '!') {
    ++c.i;
    v.epoch = *first;
    first = c.number();
    if (!first) return std::nullopt;
  }
  v.release.push_back(*first);
  while (c.peek() == '.' && is_digit(c.peek(1))) {
    ++c.i;
    auto n = c.number();
    if (!n) return std::nullopt;  // a segment beyond a long's range
    v.release.push_back(*n);
  }
  if (auto w = c.word({"a", "b", "c", "rc", "alpha", "beta", "pre", "preview"})) {
    static const int kind[] = {0, 1, 2, 2, 0, 1, 2, 2};
    v.pre = std::pair<int, long>{kind[*w], c.implicit_number()};
  }
  if (c.peek() == '-' && is_digit(c.peek(1))) {  // 1.0-1: an implicit post-release
    ++c.i;
    auto n = c.number();
    if (!n) return std::nullopt;
    v.post = *n;
  } else if (c.word({"post", "rev", "r"})) {
    v.post = c.implicit_number();
  }
  if (c.word({"dev"})) v.dev = c.implicit_number();
  if (c.peek() == '+') {
    ++c.i;
    std::string local;
    bool need = true;
    while (!c.done()) {
      char ch = c.peek();
      if (is_alnum(ch)) {
        local += ch, need = false;
      } else if ((ch == '.' || ch == '-' || ch == '_') && !need) {
        local += '.', need = true;
      } else {
        return std::nullopt;
      }
      ++c.i;
    }
    if (need) return std::nullopt;
    v.local = local;
  }
  if (!c.done()) return std::nullopt;
  return v;
}

Version Version::parse(std::string_view text) {
  if (auto v = try_parse(text)) return *v;
  throw Error(ErrorKind::Usage, fmt::format("not a PEP 440 version: `{}`", text));
}

std::string Version::str() const {
  std::string out = epoch ? fmt::format("{}!", epoch) : "";
  for (size_t k = 0; k < release.size(); ++k) out += (k ? "." : "") + std::to_string(release[k]);
  if (pre) out += fmt::format("{}{}", pre->first == 0 ? "a" : pre->first == 1 ? "b" : "rc", pre->second);
  if (post) out += fmt::format(".post{}", *post);
  if (dev) out += fmt::format(".dev{}", *dev);
  if (!local.empty()) out += "+" + local;
  return out;
}

Version Version::public_part() const {
  Version v = *this;
  v.local.clear();
  return v;
}

Version Version::base() const {
  Version v;
  v.epoch = epoch;
  v.release = release;
  return v;
}

int compare(const Version& a, const Version& b) {
  if (int c = cmp_long(a.epoch, b.epoch)) return c;
  size_t n = std::max(a.release.size(), b.release.size());
  for (size_t k = 0; k < n; ++k) {
    long x = k < a.release.size() ? a.release[k] : 0, y = k < b.release.size() ? b.release[k] : 0;
    if (int c = cmp_long(x, y)) return c;
  }
  // Pre-release key: a dev release of the release itself sorts before its pre-releases; a final
  // release after them.
  constexpr long lo = std::numeric_limits<long>::min(), hi = std::numeric_limits<long>::max();
  auto pre_key = [&](const Version& v) -> std::pair<long, long> {
    if (!v.pre && !v.post && v.dev) return {lo, 0};
    if (!v.pre) return {hi, 0};
    return {v.pre->first, v.pre->second};
  };
  auto pa = pre_key(a), pb = pre_key(b);
  if (int c = cmp_long(pa.first, pb.first)) return c;
  if (int c = cmp_long(pa.second, pb.second)) return c;
  if (int c = cmp_long(a.post ? *a.post : lo, b.post ? *b.post : lo)) return c;
  if (int c = cmp_long(a.dev ? *a.dev : hi, b.dev ? *b.dev : hi)) return c;
  return compare_local(a.local, b.local);
}

namespace {

const char* const kOps[] = {"===", "~=", "==", "!=", "<=", ">=", "<", ">"};

// ==1.1.* : the candidate's public release starts with the prefix's release (zero-padded).
bool prefix_match(const Version& prefix, const Version& v) {
  if (prefix.epoch != v.epoch) return false;
  if (prefix.pre || prefix.post || prefix.dev) {
    auto p = prefix.str(), s = v.public_part().str();
    return s.compare(0, p.size(), p) == 0 && (s.size() == p.size() || !is_digit(s[p.size()]));
  }
  for (size_t k = 0; k < prefix.release.size(); ++k) {
    long x = k < v.release.size() ? v.release[k] : 0;
    if (x != prefix.release[k]) return false;
  }
  return true;
}

}  // namespace

bool Specifier::contains(const Version& v) const {
  if (op == "===") return lower(version) == lower(v.str());
  bool wildcard = version.size() > 2 && version.compare(version.size() - 2, 2, ".*") == 0;
  Version spec = Version::parse(wildcard ? std::string_view(version).substr(0, version.size() - 2) : version);
  if (op == "==" || op == "!=") {
    bool eq = wildcard             ? prefix_match(spec, v)
              : spec.local.empty() ? compare(v.public_part(), spec) == 0
                                   : compare(v, spec) == 0;
    return op == "==" ? eq : !eq;
  }
  if (wildcard) throw Error(ErrorKind::Usage, fmt::format("`{}`: only == and != take a .* suffix", str()));
  Version pub = v.public_part();
  if (op == "~=") {
    if (spec.release.size() < 2)
      throw Error(ErrorKind::Usage, fmt::format("`{}`: ~= needs at least two release segments", str()));
    Version prefix = spec.base();
    prefix.release.pop_back();
    return compare(pub, spec) >= 0 && prefix_match(prefix, v);
  }
  if (op == "<=") return compare(pub, spec) <= 0;
  if (op == ">=") return compare(pub, spec) >= 0;
  if (op == "<") {
    if (compare(pub, spec) >= 0) return false;
    // <3.1 does not admit 3.1's own pre-releases unless it names one
    return spec.is_prerelease() || !v.is_prerelease() || compare(v.base(), spec.base()) != 0;
  }
  if (op == ">") {
    if (compare(pub, spec) <= 0) return false;
    if (!spec.is_postrelease() && v.is_postrelease() && compare(v.base(), spec.base()) == 0) return false;
    return v.local.empty() || compare(v.base(), spec.base()) != 0;
  }
  throw Error(ErrorKind::Usage, fmt::format("unknown version operator `{}`", op));
}

SpecifierSet SpecifierSet::parse(std::string_view text) {
  SpecifierSet set;
  auto t = trim_view(text);
  if (t.empty()) return set;
  size_t i = 0;
  while (i <= t.size()) {
    size_t comma = t.find(',', i);
    auto clause =
        trim_view(t.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
    const char* op = nullptr;
    for (const char* o : kOps) {
      if (clause.rfind(o, 0) == 0) {
        op = o;
        break;
      }
    }
    if (!op) fail("not a version specifier", text, i);
    auto ver = trim_view(clause.substr(std::string_view(op).size()));
    if (ver.empty()) fail("a version specifier without a version", text, i);
    Specifier s{op, std::string(ver)};
    if (s.op != "===") {
      bool wildcard = ver.size() > 2 && ver.substr(ver.size() - 2) == ".*";
      if (!Version::try_parse(wildcard ? ver.substr(0, ver.size() - 2) : ver))
        fail("not a PEP 440 version in the specifier", text, i);
      if (wildcard && s.op != "==" && s.op != "!=") fail("only == and != take a .* suffix", text, i);
      if (s.op == "~=" && Version::parse(ver).release.size() < 2)
        fail("~= needs at least two release segments", text, i);
    }
    set.clauses.push_back(std::move(s));
    if (comma == std::string_view::npos) break;
    i = comma + 1;
  }
  return set;
}

bool SpecifierSet::contains(const Version& v, bool prereleases) const {
  if (v.is_prerelease() && !prereleases) {
    bool named = std::any_of(clauses.begin(), clauses.end(), [](const Specifier& s) {
      if (s.op == "!=" || s.op == "===" || s.version.find('*') != std::string::npos) return false;
      auto sv = Version::try_parse(s.version);
      return sv && sv->is_prerelease();
    });
    if (!named) return false;
  }
  return std::all_of(clauses.begin(), clauses.end(), [&](const Specifier& s) { return s.contains(v); });
}

bool SpecifierSet::contains(std::string_view version, bool prereleases) const {
  auto v = Version::try_parse(version);
  return v && contains(*v, prereleases);
}

std::optional<std::string> SpecifierSet::pinned() const {
  if (clauses.size() != 1) return std::nullopt;
  auto& c = clauses.front();
  if ((c.op != "==" && c.op != "===") || c.version.find('*') != std::string::npos) return std::nullopt;
  return c.version;
}

std::string SpecifierSet::str() const {
  std::string out;
  for (auto& c : clauses) out += (out.empty() ? "" : ",") + c.str();
  return out;
}

// ---- markers ----

struct Marker::Node {
  enum Kind { And, Or, Compare } kind = Compare;
  std::vector<std::shared_ptr<const Node>> children;  // And / Or
  // Compare: each side is a variable name or a quoted literal
  std::string lhs, op, rhs;
  bool lhs_var = false, rhs_var = false;
};

namespace {

using Node = Marker::Node;

const char* const kMarkerVars[] = {"python_version", "python_full_version", "os_name", "sys_platform",
                                   "platform_release", "platform_system", "platform_version",
                                   "platform_machine", "platform_python_implementation",
                                   "implementation_name", "implementation_version", "extra",
                                   // the legacy dotted names pip still reads
                                   "os.name", "sys.platform", "platform.version", "platform.machine",
                                   "platform.python_implementation", "python_implementation"};

struct MarkerParser {
  std::string_view s;
  size_t i = 0;
  void ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool keyword(std::string_view k) {
    ws();
    if (s.compare(i, k.size(), k) != 0) return false;
    size_t end = i + k.size();
    if (end < s.size() && (is_alnum(s[end]) || s[end] == '_')) return false;
    i = end;
    return true;
  }
  std::shared_ptr<const Node> parse_or() {
    auto left = parse_and();
    auto node = std::make_shared<Node>();
    node->kind = Node::Or;
    node->children.push_back(left);
    while (keyword("or")) node->children.push_back(parse_and());
    return node->children.size() == 1 ? left : node;
  }
  std::shared_ptr<const Node> parse_and() {
    auto left = parse_expr();
    auto node = std::make_shared<Node>();
    node->kind = Node::And;
    node->children.push_back(left);
    while (keyword("and")) node->children.push_back(parse_expr());
    return node->children.size() == 1 ? left : node;
  }
  std::pair<std::string, bool> value() {
    ws();
    if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
      char q = s[i++];
      size_t end = s.find(q, i);
      if (end == std::string_view::npos) fail("unterminated string in the marker", s, i);
      std::string lit(s.substr(i, end - i));
      i = end + 1;
      return {lit, false};
    }
    for (const char* v : kMarkerVars) {
      if (keyword(v)) return {v, true};
    }
    fail("expected a marker variable or a quoted string", s, i);
  }
  std::string op() {
    ws();
    for (const char* o : {"===", "~=", "==", "!=", "<=", ">=", "<", ">"}) {
      if (s.compare(i, std::string_view(o).size(), o) == 0) {
        i += std::string_view(o).size();
        return o;
      }
    }
    if (keyword("in")) return "in";
    if (keyword("not")) {
      if (keyword("in")) return "not in";
    }
    fail("expected a marker operator", s, i);
  }
  std::shared_ptr<const Node> parse_expr() {
    ws();
    if (i < s.size() && s[i] == '(') {
      ++i;
      auto inner = parse_or();
      ws();
      if (i >= s.size() || s[i] != ')') fail("expected ) in the marker", s, i);
      ++i;
      return inner;
    }
    auto node = std::make_shared<Node>();
    std::tie(node->lhs, node->lhs_var) = value();
    node->op = op();
    std::tie(node->rhs, node->rhs_var) = value();
    return node;
  }
};

bool is_version_var(const std::string& v) {
  return v == "python_version" || v == "python_full_version" || v == "implementation_version" ||
         v == "platform_release";
}

bool eval(const Marker::Node& n, const std::map<std::string, std::string>& env) {
  if (n.kind == Marker::Node::And)
    return std::all_of(n.children.begin(), n.children.end(), [&](auto& c) { return eval(*c, env); });
  if (n.kind == Marker::Node::Or)
    return std::any_of(n.children.begin(), n.children.end(), [&](auto& c) { return eval(*c, env); });
  auto get = [&](const std::string& name, bool var) {
    if (!var) return name;
    auto it = env.find(name);
    std::string v = it == env.end() ? "" : it->second;
    return name == "extra" ? canonical_name(v) : v;
  };
  std::string l = get(n.lhs, n.lhs_var), r = get(n.rhs, n.rhs_var);
  if ((n.lhs_var && n.lhs == "extra") || (n.rhs_var && n.rhs == "extra"))
    l = canonical_name(l), r = canonical_name(r);
  if (n.op == "in") return r.find(l) != std::string::npos;
  if (n.op == "not in") return r.find(l) == std::string::npos;
  bool versions = (n.lhs_var && is_version_var(n.lhs)) || (n.rhs_var && is_version_var(n.rhs));
  if (versions && n.op != "===") {
    auto lv = Version::try_parse(l);
    auto rv = Version::try_parse(r);
    if (lv && rv) return Specifier{n.op, r}.contains(*lv);
  }
  if (n.op == "==" || n.op == "===") return l == r;
  if (n.op == "!=") return l != r;
  if (n.op == "<") return l < r;
  if (n.op == "<=") return l <= r;
  if (n.op == ">") return l > r;
  if (n.op == ">=") return l >= r;
  throw Error(ErrorKind::Usage, fmt::format("marker operator `{}` needs versions on both sides", n.op));
}

}  // namespace

Marker parse_marker(std::string_view text) {
  MarkerParser p{text};
  Marker m;
  m.root = p.parse_or();
  p.ws();
  if (p.i != text.size()) fail("unexpected text after the marker", text, p.i);
  m.text = std::string(trim_view(text));
  return m;
}

bool Marker::evaluate(const std::map<std::string, std::string>& env) const {
  return !root || eval(*root, env);
}

std::map<std::string, std::string> linux_environment(const std::string& python, const std::string& machine) {
  return {{"python_version", python},
          {"python_full_version", python + ".0"},
          {"implementation_version", python + ".0"},
          {"os_name", "posix"},
          {"os.name", "posix"},
          {"sys_platform", "linux"},
          {"sys.platform", "linux"},
          {"platform_system", "Linux"},
          {"platform_machine", machine},
          {"platform.machine", machine},
          {"platform_python_implementation", "CPython"},
          {"platform.python_implementation", "CPython"},
          {"python_implementation", "CPython"},
          {"implementation_name", "cpython"},
          {"platform_release", ""},
          {"platform_version", ""},
          {"platform.version", ""},
          {"extra", ""}};
}

// ---- requirements ----

std::string canonical_name(std::string_view name) {
  std::string out;
  bool sep = false;
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.') {
      sep = true;
      continue;
    }
    if (sep && !out.empty()) out += '-';
    sep = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string Requirement::key() const { return canonical_name(name); }

std::string Requirement::str() const {
  std::string out = name;
  if (!extras.empty()) {
    out += "[";
    for (size_t k = 0; k < extras.size(); ++k) out += (k ? "," : "") + extras[k];
    out += "]";
  }
  if (!url.empty()) {
    out += " @ " + url;
    if (marker) out += " ";
  } else {
    out += specifier.str();
  }
  if (marker) out += "; " + marker->text;
  return out;
}

Requirement parse_requirement(std::string_view text) {
  std::string_view s = text;
  size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && is_space(s[i])) ++i;
  };
  ws();
  size_t start = i;
  if (i >= s.size() || !is_alnum(s[i])) fail("a requirement starts with a project name", text, i);
  while (i < s.size() && (is_alnum(s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.')) ++i;
  while (i > start && !is_alnum(s[i - 1])) --i;  // a name ends with a letter or digit
  Requirement r;
  r.name = std::string(s.substr(start, i - start));
  ws();
  if (i < s.size() && s[i] == '[') {
    ++i;
    for (;;) {
      ws();
      if (i < s.size() && s[i] == ']') {
        ++i;
        break;
      }
      size_t e = i;
      while (e < s.size() && (is_alnum(s[e]) || s[e] == '-' || s[e] == '_' || s[e] == '.')) ++e;
      if (e == i) fail("expected an extra's name", text, i);
      r.extras.emplace_back(s.substr(i, e - i));
      i = e;
      ws();
      if (i < s.size() && s[i] == ',') {
        ++i;
      } else if (i >= s.size() || s[i] != ']') {
        fail("expected , or ] in the extras", text, i);
      }
    }
  }
  ws();
  if (i < s.size() && s[i] == '@') {
    ++i;
    ws();
    size_t e = i;
    while (e < s.size() && !std::isspace(static_cast<unsigned char>(s[e]))) ++e;
    r.url = std::string(s.substr(i, e - i));
    if (r.url.empty() || r.url.find(':') == std::string::npos) fail("expected a URL after @", text, i);
    i = e;
    ws();
    if (i < s.size() && s[i] != ';') fail("expected ; after the URL", text, i);
  } else {
    bool paren = i < s.size() && s[i] == '(';
    if (paren) ++i;
    size_t e = i;
    while (e < s.size() && s[e] != ';' && s[e] != ')') ++e;
    auto spec = trim_view(s.substr(i, e - i));
    if (!spec.empty()) {
      try {
        r.specifier = SpecifierSet::parse(spec);
      } catch (const Error&) {
        fail("not a version specifier", text, i);
      }
    }
    i = e;
    if (paren) {
      if (i >= s.size() || s[i] != ')') fail("expected )", text, i);
      ++i;
    } else if (i < s.size() && s[i] == ')') {
      fail("unexpected )", text, i);
    }
    ws();
  }
  if (i < s.size() && s[i] == ';') {
    r.marker = parse_marker(s.substr(i + 1));
    i = s.size();
  }
  ws();
  if (i != s.size()) fail("unexpected text after the requirement", text, i);
  return r;
}

std::optional<Requirement> try_parse_requirement(std::string_view text) {
  try {
    return parse_requirement(text);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace kcat::env::pep
