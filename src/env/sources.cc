// The repository's requirement sources, each read with the grammar of the tool that consumes it.
#include "kcat/env/sources.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/glob.h"
#include "kcat/core/text.h"
#include "kcat/kb/toml_json.h"
#include "kcat/scan/parser.h"

namespace kcat::env {

namespace fs = std::filesystem;

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
  }
  return out;
}

// pip install's options that take a value (pip/_internal/cli/cmdoptions.py and commands/install.py).
const std::set<std::string>& valued_options() {
  static const std::set<std::string> s = {"-r",
                                          "--requirement",
                                          "-c",
                                          "--constraint",
                                          "-e",
                                          "--editable",
                                          "-i",
                                          "--index-url",
                                          "--extra-index-url",
                                          "-f",
                                          "--find-links",
                                          "--trusted-host",
                                          "-t",
                                          "--target",
                                          "--platform",
                                          "--python-version",
                                          "--implementation",
                                          "--abi",
                                          "--root",
                                          "--prefix",
                                          "--src",
                                          "--upgrade-strategy",
                                          "--no-binary",
                                          "--only-binary",
                                          "--progress-bar",
                                          "--root-user-action",
                                          "--report",
                                          "-C",
                                          "--config-settings",
                                          "--global-option",
                                          "--install-option",
                                          "--log",
                                          "--cache-dir",
                                          "--proxy",
                                          "--retries",
                                          "--timeout",
                                          "--exists-action",
                                          "--cert",
                                          "--client-cert",
                                          "--use-feature",
                                          "--use-deprecated",
                                          "--python",
                                          "--keyring-provider",
                                          "--hash",
                                          "--build",
                                          "-b",
                                          "--log-file",
                                          "--extra-index",
                                          "--index"};
  return s;
}

bool is_vcs(std::string_view s) {
  return starts_with(s, "git+") || starts_with(s, "hg+") || starts_with(s, "svn+") || starts_with(s, "bzr+");
}

// name-version(-build)?-python-abi-platform.whl -> (name, version)
std::optional<std::pair<std::string, std::string>> wheel_name(std::string_view path) {
  auto slash = path.find_last_of('/');
  auto base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto q = base.find_first_of("?#");
  if (q != std::string_view::npos) base = base.substr(0, q);
  if (!ends_with(base, ".whl")) return std::nullopt;
  base.remove_suffix(4);
  auto d1 = base.find('-');
  if (d1 == std::string_view::npos) return std::nullopt;
  auto d2 = base.find('-', d1 + 1);
  std::string version(
      base.substr(d1 + 1, d2 == std::string_view::npos ? std::string_view::npos : d2 - d1 - 1));
  // URL-encoded local versions: %2B is '+'
  for (size_t p; (p = version.find("%2B")) != std::string::npos;) version.replace(p, 3, "+");
  if (!pep::Version::try_parse(version)) return std::nullopt;
  return std::pair{std::string(base.substr(0, d1)), version};
}

// #egg=name in a VCS or archive URL
std::string egg_of(std::string_view url) {
  auto p = url.find("#egg=");
  if (p == std::string_view::npos) p = url.find("&egg=");
  if (p == std::string_view::npos) return {};
  auto e = url.substr(p + 5);
  return std::string(e.substr(0, e.find_first_of("&#[")));
}

// The words of a file stem or an extra's name, lower case: "requirements-dev" -> requirements, dev.
std::vector<std::string> name_words(const std::string& name) {
  std::vector<std::string> out;
  std::string word;
  for (char c : name + "-") {
    if (c == '-' || c == '_' || c == '.') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

}  // namespace

bool tools_name(const std::string& name) {
  static const std::set<std::string> words = {
      "dev",  "develop", "development", "test",      "tests", "testing", "doc",   "docs",
      "lint", "ci",      "bench",       "benchmark", "build", "typing",  "style", "quality"};
  auto w = name_words(name);
  return std::any_of(w.begin(), w.end(), [](const std::string& x) { return words.count(x) > 0; });
}

bool ascend_name(const std::string& name) {
  auto n = pep::canonical_name(name);
  if (n == "requirements-ascend") return false;  // kcat's own file
  auto w = name_words(name);
  return std::any_of(w.begin(), w.end(), [](const std::string& x) { return x == "npu" || x == "ascend"; });
}

Entry classify(const std::string& text, const std::string& file, int line) {
  Entry e;
  e.text = text, e.file = file, e.line = line;
  std::string t = trim(text);
  if (is_vcs(t)) {
    e.kind = "vcs", e.value = t;
    if (auto egg = egg_of(t); !egg.empty()) e.req = pep::try_parse_requirement(egg);
    return e;
  }
  if (auto w = wheel_name(t); w && (t.find('/') != std::string::npos || ends_with(t, ".whl"))) {
    e.kind = "wheel", e.value = t;
    pep::Requirement r;
    r.name = w->first;
    r.specifier.clauses.push_back({"==", w->second});
    e.req = r;
    return e;
  }
  if (t.find("://") != std::string::npos && t.find(" @ ") == std::string::npos && t.find('@') != 0 &&
      !pep::try_parse_requirement(t)) {
    e.kind = "url", e.value = t;
    if (auto egg = egg_of(t); !egg.empty()) e.req = pep::try_parse_requirement(egg);
    return e;
  }
  if (t == "." || t == ".." || starts_with(t, "./") || starts_with(t, "../") || starts_with(t, "/") ||
      starts_with(t, ".[") || starts_with(t, "~")) {
    e.kind = "path", e.value = t;
    return e;
  }
  if (auto r = pep::try_parse_requirement(t)) {
    e.req = *r;
    if (!r->url.empty()) {
      e.value = r->url;
      e.kind = is_vcs(r->url) ? "vcs" : starts_with(r->url, "file:") ? "path" : "url";
    } else {
      e.kind = "requirement";
    }
    return e;
  }
  e.kind = "unparsed";
  return e;
}

std::vector<std::vector<std::string>> shell_commands(std::string_view s) {
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> cmd;
  std::string word;
  bool in_word = false, dollar = false;
  auto end_word = [&] {
    if (in_word) cmd.push_back(dollar ? "$" + word : word);
    word.clear();
    in_word = dollar = false;
  };
  auto end_cmd = [&] {
    end_word();
    if (!cmd.empty()) out.push_back(std::move(cmd));
    cmd.clear();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\') {
      if (i + 1 < s.size() && s[i + 1] == '\n') {
        ++i;  // a line continuation
        continue;
      }
      if (i + 1 < s.size()) word += s[++i], in_word = true;
      continue;
    }
    if (c == '\'') {
      size_t e = s.find('\'', i + 1);
      if (e == std::string_view::npos) e = s.size();
      word += s.substr(i + 1, e - i - 1), in_word = true;
      i = e;
      continue;
    }
    if (c == '"') {
      in_word = true;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size() &&
            std::string_view("\\\"$`\n").find(s[i + 1]) != std::string_view::npos) {
          if (s[i + 1] != '\n') word += s[i + 1];
          ++i;
          continue;
        }
        if (s[i] == '$') dollar = true;
        word += s[i];
      }
      continue;
    }
    if (c == '#' && !in_word) {
      while (i < s.size() && s[i] != '\n') ++i;
      end_cmd();
      continue;
    }
    if (c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '`') {
      end_cmd();
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      end_word();
      continue;
    }
    if (c == '$') dollar = true;
    word += c, in_word = true;
  }
  end_cmd();
  return out;
}

std::optional<std::vector<std::string>> pip_install_args(const std::vector<std::string>& words) {
  size_t i = 0;
  auto base = [](const std::string& w) {
    auto p = w.find_last_of('/');
    return p == std::string::npos ? w : w.substr(p + 1);
  };
  // sudo, env, VAR=value, time, exec in front of the command
  while (i < words.size()) {
    auto b = base(words[i]);
    if (b == "sudo" || b == "env" || b == "time" || b == "exec" || b == "command") {
      ++i;
      while (i < words.size() && !words[i].empty() && words[i][0] == '-') ++i;  // sudo -H, env -i
      continue;
    }
    if (words[i].find('=') != std::string::npos && words[i][0] != '-' && words[i][0] != '$') {
      ++i;  // VAR=value
      continue;
    }
    break;
  }
  if (i >= words.size()) return std::nullopt;
  auto b = base(words[i]);
  auto is_pip = [](const std::string& x) {
    return x == "pip" || x == "pip3" ||
           (starts_with(x, "pip3.") && x.size() > 5 && std::all_of(x.begin() + 5, x.end(), ::isdigit));
  };
  auto is_python = [](const std::string& x) {
    return x == "python" || x == "python3" ||
           (starts_with(x, "python3.") && std::all_of(x.begin() + 8, x.end(), ::isdigit));
  };
  if (is_pip(b)) {
    ++i;
  } else if (b == "uv" && i + 1 < words.size() && words[i + 1] == "pip") {
    i += 2;
  } else if (is_python(b)) {
    ++i;
    while (i < words.size() && words[i][0] == '-' && words[i] != "-m") ++i;  // python -u -m pip
    if (i + 1 >= words.size() || words[i] != "-m" || words[i + 1] != "pip") return std::nullopt;
    i += 2;
  } else {
    return std::nullopt;
  }
  // pip's general options may come before the command: pip -q install, pip --no-cache-dir install
  while (i < words.size() && words[i][0] == '-') {
    bool valued = valued_options().count(words[i]) && words[i].find('=') == std::string::npos;
    i += valued ? 2 : 1;
  }
  if (i >= words.size() || words[i] != "install") return std::nullopt;
  return std::vector<std::string>(words.begin() + static_cast<std::ptrdiff_t>(i) + 1, words.end());
}

std::vector<Entry> parse_pip_args(const std::vector<std::string>& args, const std::string& file, int line) {
  std::vector<Entry> out;
  auto option = [&](const std::string& name, const std::string& value, const std::string& text) {
    Entry e;
    e.file = file, e.line = line, e.text = text, e.value = value;
    if (name == "-r" || name == "--requirement") {
      e.kind = "requirement-file";
    } else if (name == "-c" || name == "--constraint") {
      e.kind = "constraint-file";
    } else if (name == "-i" || name == "--index-url" || name == "--index") {
      e.kind = "index-url";
    } else if (name == "--extra-index-url" || name == "--extra-index") {
      e.kind = "extra-index-url";
    } else if (name == "-f" || name == "--find-links") {
      e.kind = "find-links";
    } else if (name == "--trusted-host") {
      e.kind = "trusted-host";
    } else if (name == "-e" || name == "--editable") {
      auto inner = classify(value, file, line);
      e.kind = "editable";
      e.req = inner.req;
    } else if (name == "--no-index") {
      e.kind = "no-index";
    } else {
      e.kind = "option";
    }
    out.push_back(std::move(e));
  };
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].empty()) continue;
    // a word with an unexpanded variable: an option keeps it in its value (never usable); anything
    // else is not something kcat can read
    bool var = args[i][0] == '$';
    const std::string a = var ? args[i].substr(1) : args[i];
    if (var && (a.empty() || a[0] != '-')) {
      Entry e;
      e.kind = "unparsed", e.text = a, e.file = file, e.line = line;
      out.push_back(std::move(e));
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      auto eq = a.find('=');
      std::string name = a.substr(0, eq);
      if (a[1] == '-' && eq != std::string::npos) {
        option(name, a.substr(eq + 1), a);
        continue;
      }
      if (valued_options().count(name)) {
        std::string value = i + 1 < args.size() ? args[i + 1] : "";
        if (!value.empty() && value[0] == '$') value = value.substr(1);
        option(name, value, a + " " + value);
        ++i;
        continue;
      }
      // -rfile, -ihttps://...: a short option with its value attached
      if (a[1] != '-' && a.size() > 2 && valued_options().count(a.substr(0, 2))) {
        option(a.substr(0, 2), a.substr(2), a);
        continue;
      }
      option(name, "", a);
      continue;
    }
    out.push_back(classify(a, file, line));
  }
  return out;
}

CondaMap CondaMap::load(const fs::path& dir) {
  CondaMap m;
  auto file = dir / "versions" / "conda.toml";
  std::error_code ec;
  if (!fs::exists(file, ec)) return m;
  auto doc = kb::parse_toml_file(file);
  if (auto* a = doc["map"].as_array()) {
    for (auto& n : *a) {
      auto& t = *n.as_table();
      m.to_pip.emplace_back(t["conda"].value_or(std::string{}), t["pip"].value_or(std::string{}));
    }
  }
  if (auto* a = doc["drop"].as_array()) {
    for (auto& n : *a) {
      auto& t = *n.as_table();
      m.drop.emplace_back(t["conda"].value_or(std::string{}), t["reason"].value_or(std::string{}));
    }
  }
  return m;
}

namespace {

struct Reader {
  fs::path repo;
  const CondaMap& conda;
  Sources s;
  std::set<std::string> files_read;
  bool optional = false;  // reading Dockerfiles, scripts, READMEs (Entry::optional)
  bool ascend = false;    // reading the project's own Ascend setup (Entry::ascend)
  std::string extra;      // the extra being read (pyproject, setup.py, setup.cfg), "" = the base set

  std::string rel(const fs::path& p) const { return relative_slash(repo, p); }
  void mark_read(const std::string& f) {
    if (std::find(s.read.begin(), s.read.end(), f) == s.read.end()) s.read.push_back(f);
  }
  void note(const std::string& where, const std::string& what) { s.notes.push_back(where + ": " + what); }
  // a development tools' extra or file, named once
  void skip(const std::string& what) {
    if (std::find(s.skipped.begin(), s.skipped.end(), what) != s.skipped.end()) return;
    s.skipped.push_back(what);
    note(what, "development tools, not the project's runtime: not read");
  }
  void requires_python(const std::string& spec, const std::string& from) {
    if (!s.requires_python.empty() || trim(spec).empty()) return;
    s.requires_python = trim(spec), s.requires_python_from = from;
  }

  // A -r / -c target, relative to the file that names it, else to the repository's root.
  std::optional<fs::path> locate(const fs::path& from_dir, const std::string& target) const {
    std::error_code ec;
    for (auto& base : {from_dir, repo}) {
      auto p = (base / target).lexically_normal();
      auto r = relative_slash(repo, p);
      if (starts_with(r, "..")) continue;  // outside the repository: not read
      if (fs::is_regular_file(p, ec)) return p;
    }
    return std::nullopt;
  }

  void add(Entry e, bool constraint) {
    e.constraint = e.constraint || constraint;
    e.optional = e.optional || optional;
    e.ascend = e.ascend || ascend;
    mark_read(e.file);
    s.entries.push_back(std::move(e));
  }

  // Entries from pip arguments, following -r / -c into the repository's files.
  void add_pip_entries(std::vector<Entry> es, const fs::path& dir, int depth, bool constraint) {
    for (auto& e : es) {
      if (e.kind == "requirement-file" || e.kind == "constraint-file") {
        if (auto p = locate(dir, e.value); p && tools_name(p->stem().string())) {
          skip(rel(*p));
        } else if (p) {
          mark_read(e.file);
          read_requirements_file(*p, depth + 1, constraint || e.kind == "constraint-file");
        } else {
          note(e.where(), "`" + e.text + "` names a file that is not in the repository");
        }
        continue;
      }
      add(std::move(e), constraint);
    }
  }

  // pip's requirements-file grammar (pip/_internal/req/req_file.py): \ joins lines, ` #` starts a
  // comment, a line is options or one requirement with per-requirement options.
  void read_requirements_file(const fs::path& file, int depth, bool constraint) {
    if (depth > 8 || !files_read.insert(fs::weakly_canonical(file).string()).second) return;
    std::string text;
    try {
      text = read_file(file);
    } catch (const Error&) {
      return;
    }
    auto lines = lines_of(text);
    auto f = rel(file);
    for (size_t k = 0; k < lines.size(); ++k) {
      int lineno = static_cast<int>(k + 1);
      std::string l = lines[k];
      while (!l.empty() && l.back() == '\\' && k + 1 < lines.size()) {
        l.pop_back();
        l += lines[++k];
      }
      // comments: # at the start or after whitespace
      for (size_t p = 0; p < l.size(); ++p) {
        if (l[p] == '#' && (p == 0 || std::isspace(static_cast<unsigned char>(l[p - 1])))) {
          l.resize(p);
          break;
        }
      }
      l = trim(l);
      if (l.empty()) continue;
      if (l[0] == '-') {
        // an option line: split on whitespace (pip uses shlex)
        auto cmds = shell_commands(l);
        std::vector<std::string> words;
        for (auto& c : cmds) words.insert(words.end(), c.begin(), c.end());
        add_pip_entries(parse_pip_args(words, f, lineno), file.parent_path(), depth, constraint);
        continue;
      }
      // a requirement, perhaps followed by --hash / --config-settings options
      auto opt = l.find(" --");
      std::string req = opt == std::string::npos ? l : trim(l.substr(0, opt));
      auto e = classify(req, f, lineno);
      if (e.kind == "unparsed") note(e.where(), "not a requirement pip can read: `" + req + "`");
      add(std::move(e), constraint);
    }
    mark_read(f);
  }

  // ---- declared metadata ----

  void add_declared(const std::string& text, const std::string& file, int line) {
    if (!extra.empty() && tools_name(extra)) {
      skip("extra `" + extra + "` (" + file + ")");
      return;
    }
    auto e = classify(text, file, line);
    e.ascend = e.ascend || ascend_name(extra);
    e.declared = true;
    if (e.kind == "unparsed") {
      note(e.where(), "not a PEP 508 requirement: `" + text + "`");
      return;
    }
    add(std::move(e), false);
  }

  static int line_of(const std::string& text, const std::string& needle) {
    auto p = text.find(needle);
    if (p == std::string::npos) return 0;
    return static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(p), '\n')) +
           1;
  }

  void read_pyproject(const fs::path& file) {
    toml::table doc;
    try {
      doc = kb::parse_toml_file(file);
    } catch (const Error& e) {
      note("pyproject.toml", std::string("not read: ") + e.what());
      return;
    }
    auto text = read_file(file);
    if (auto n = doc["project"]["name"].value<std::string>()) s.own_name = pep::canonical_name(*n);
    auto add_array = [&](const toml::array* a) {
      if (!a) return;
      for (auto& v : *a) {
        if (auto str = v.value<std::string>())
          add_declared(*str, "pyproject.toml", line_of(text, "\"" + *str + "\""));
      }
    };
    if (auto rp = doc["project"]["requires-python"].value<std::string>())
      requires_python(*rp, "pyproject.toml (requires-python)");
    add_array(doc["project"]["dependencies"].as_array());
    if (auto* opt = doc["project"]["optional-dependencies"].as_table()) {
      for (auto& [k, v] : *opt) {
        extra = std::string(k.str());
        add_array(v.as_array());
      }
      extra.clear();
    }
    // poetry: [tool.poetry.dependencies] name = "^1.2" | { version = "...", markers = "..." }
    auto poetry_table = [&](const toml::table* t) {
      if (!t) return;
      for (auto& [k, v] : *t) {
        std::string name(k.str());
        if (name == "python") {
          if (auto py = poetry_to_pep440(v.value_or(std::string{})))
            requires_python(*py, "pyproject.toml (tool.poetry.dependencies.python)");
          continue;
        }
        std::string constraint;
        if (auto str = v.value<std::string>()) {
          constraint = *str;
        } else if (auto* tt = v.as_table()) {
          constraint = (*tt)["version"].value_or(std::string{});
          if ((*tt)["git"] || (*tt)["path"] || (*tt)["url"]) {
            note("pyproject.toml",
                 "poetry dependency " + name + " comes from a git/path/url source: not read");
            continue;
          }
        }
        auto spec = poetry_to_pep440(constraint);
        if (!spec) {
          note("pyproject.toml", "poetry constraint `" + constraint + "` of " + name + " not understood");
          continue;
        }
        add_declared(name + *spec, "pyproject.toml", line_of(text, name + " ="));
      }
    };
    poetry_table(doc["tool"]["poetry"]["dependencies"].as_table());
    if (auto n = doc["tool"]["poetry"]["name"].value<std::string>(); n && s.own_name.empty())
      s.own_name = pep::canonical_name(*n);
  }

  // ^1.2.3 -> >=1.2.3,<2.0.0; ~1.2.3 -> >=1.2.3,<1.3.0; * -> any; PEP 440 clauses pass through.
  static std::optional<std::string> poetry_to_pep440(std::string c) {
    c = trim(c);
    if (c.empty() || c == "*") return std::string{};
    auto bump = [](const pep::Version& v, size_t at) {
      std::vector<long> r = v.release;
      r.resize(std::max(r.size(), at + 1), 0);
      r[at] += 1;
      r.resize(at + 1);
      std::string out;
      for (size_t k = 0; k < r.size(); ++k) out += (k ? "." : "") + std::to_string(r[k]);
      return out;
    };
    if (c[0] == '^' || (c[0] == '~' && c.size() > 1 && c[1] != '=')) {
      auto v = pep::Version::try_parse(c.substr(1));
      if (!v) return std::nullopt;
      size_t at = 0;
      if (c[0] == '^') {
        while (at + 1 < v->release.size() && v->release[at] == 0) ++at;
      } else {
        at = v->release.size() >= 2 ? 1 : 0;
      }
      return ">=" + c.substr(1) + ",<" + bump(*v, at);
    }
    if (pep::Version::try_parse(c)) return "==" + c;
    try {
      return pep::SpecifierSet::parse(c).str();
    } catch (const Error&) {
      return std::nullopt;
    }
  }

  void read_setup_cfg(const fs::path& file) {
    auto lines = lines_of(read_file(file));
    std::string section, key;
    for (size_t k = 0; k < lines.size(); ++k) {
      const auto& raw = lines[k];
      auto l = trim(raw);
      if (l.empty() || l[0] == '#' || l[0] == ';') continue;
      if (l.front() == '[' && l.back() == ']') {
        section = l.substr(1, l.size() - 2), key.clear();
        continue;
      }
      bool cont = std::isspace(static_cast<unsigned char>(raw[0]));
      std::string value = l;
      if (!cont) {
        auto eq = l.find_first_of("=:");
        if (eq == std::string::npos) continue;
        key = trim(l.substr(0, eq));
        value = trim(l.substr(eq + 1));
        if (section == "metadata" && key == "name") s_own(value);
        if (section == "options" && key == "python_requires")
          requires_python(value, "setup.cfg (python_requires)");
      }
      extra = section == "options.extras_require" ? key : "";
      bool wanted =
          (section == "options" && key == "install_requires") || section == "options.extras_require";
      if (!wanted || value.empty()) continue;
      add_declared(value, "setup.cfg", static_cast<int>(k + 1));
    }
    extra.clear();
  }

  // setup.py's syntax tree: setup(install_requires=..., extras_require=..., name=...). A list of
  // string literals is read; a name is looked up among the module's assignments; a call that opens
  // a requirements file names that file (read_requirements("requirements.txt")). Never run.
  void read_setup_py(const fs::path& file) {
    auto src = read_file(file);
    auto tree = scan::parse("python", src);
    TSNode root = ts_tree_root_node(tree.get());
    std::map<std::string, TSNode> assigned;  // module-level `name = value`
    scan::each_named_node(root, [&](TSNode n) {
      if (std::string_view(ts_node_type(n)) != "assignment") return;
      TSNode left = ts_node_child_by_field_name(n, "left", 4),
             right = ts_node_child_by_field_name(n, "right", 5);
      if (ts_node_is_null(left) || ts_node_is_null(right)) return;
      if (std::string_view(ts_node_type(left)) == "identifier")
        assigned[std::string(scan::node_text(left, src))] = right;
    });
    auto literal = [&](TSNode n) -> std::optional<std::string> {
      if (ts_node_is_null(n) || std::string_view(ts_node_type(n)) != "string") return std::nullopt;
      auto t = std::string(scan::node_text(n, src));
      if (t.find('{') != std::string::npos && (t[0] == 'f' || t[0] == 'F')) return std::nullopt;
      size_t q = t.find_first_of("\"'");
      if (q == std::string::npos) return std::nullopt;
      char quote = t[q];
      size_t len = t.compare(q, 3, std::string(3, quote)) == 0 ? 3 : 1;
      if (t.size() < q + 2 * len) return std::nullopt;
      return t.substr(q + len, t.size() - q - 2 * len);
    };
    std::function<void(TSNode, int)> take = [&](TSNode v, int depth) {
      if (depth > 4 || ts_node_is_null(v)) return;
      std::string type = ts_node_type(v);
      int line = static_cast<int>(ts_node_start_point(v).row) + 1;
      if (type == "list" || type == "tuple" || type == "set") {
        for (uint32_t k = 0; k < ts_node_named_child_count(v); ++k) {
          TSNode item = ts_node_named_child(v, k);
          if (auto lit = literal(item)) {
            add_declared(*lit, "setup.py", static_cast<int>(ts_node_start_point(item).row) + 1);
          } else {
            take(item, depth + 1);
          }
        }
      } else if (type == "dictionary") {
        for (uint32_t k = 0; k < ts_node_named_child_count(v); ++k) {
          TSNode pair = ts_node_named_child(v, k);
          auto key = literal(ts_node_child_by_field_name(pair, "key", 3));
          extra = key ? *key : "";
          take(ts_node_child_by_field_name(pair, "value", 5), depth + 1);
          extra.clear();
        }
      } else if (type == "identifier") {
        auto it = assigned.find(std::string(scan::node_text(v, src)));
        if (it != assigned.end()) take(it->second, depth + 1);
      } else if (type == "binary_operator") {
        take(ts_node_child_by_field_name(v, "left", 4), depth + 1);
        take(ts_node_child_by_field_name(v, "right", 5), depth + 1);
      } else {
        // a call or comprehension: the requirement files it names
        bool any = false;
        scan::each_named_node(v, [&](TSNode n) {
          auto lit = literal(n);
          if (!lit || lit->find('\n') != std::string::npos) return;
          if (auto p = locate(file.parent_path(), *lit);
              p && (ends_with(*lit, ".txt") || ends_with(*lit, ".in"))) {
            mark_read("setup.py");
            read_requirements_file(*p, 1, false);
            any = true;
          }
        });
        if (!any)
          note("setup.py:" + std::to_string(line), "requirements computed by code kcat does not run: `" +
                                                       std::string(scan::node_text(v, src)).substr(0, 80) +
                                                       "`");
      }
    };
    scan::each_named_node(root, [&](TSNode n) {
      if (std::string_view(ts_node_type(n)) != "call") return;
      TSNode fn = ts_node_child_by_field_name(n, "function", 8);
      auto name = std::string(scan::node_text(fn, src));
      if (name != "setup" && name != "setuptools.setup") return;
      TSNode args = ts_node_child_by_field_name(n, "arguments", 9);
      for (uint32_t k = 0; !ts_node_is_null(args) && k < ts_node_named_child_count(args); ++k) {
        TSNode a = ts_node_named_child(args, k);
        if (std::string_view(ts_node_type(a)) != "keyword_argument") continue;
        auto key = std::string(scan::node_text(ts_node_child_by_field_name(a, "name", 4), src));
        TSNode value = ts_node_child_by_field_name(a, "value", 5);
        if (key == "install_requires" || key == "extras_require") {
          take(value, 0);
        } else if (key == "name") {
          if (auto lit = literal(value)) s_own(*lit);
        } else if (key == "python_requires") {
          if (auto lit = literal(value)) requires_python(*lit, "setup.py (python_requires)");
        }
      }
    });
    mark_read("setup.py");
  }
  void s_own(const std::string& n) {
    if (s.own_name.empty()) s.own_name = pep::canonical_name(n);
  }

  // environment.yml: a YAML list under `dependencies:`; `- pip:` opens pip's list (requirement-file
  // lines). Conda's `name=1.0` / `name 1.0` is pip's `name==1.0`, under the pip name.
  void read_conda(const fs::path& file) {
    auto f = rel(file);
    auto lines = lines_of(read_file(file));
    bool deps = false;
    size_t pip_indent = std::string::npos;
    for (size_t k = 0; k < lines.size(); ++k) {
      int lineno = static_cast<int>(k + 1);
      const auto& raw = lines[k];
      auto l = trim(raw);
      if (l.empty() || l[0] == '#') continue;
      size_t indent = raw.find_first_not_of(' ');
      if (indent == 0 && l[0] != '-') {
        deps = starts_with(l, "dependencies:");
        pip_indent = std::string::npos;
        continue;
      }
      if (!deps || l[0] != '-') continue;
      auto item = trim(l.substr(1));
      if (auto h = item.find(" #"); h != std::string::npos) item = trim(item.substr(0, h));
      if (item.size() > 1 && (item.front() == '"' || item.front() == '\'') && item.back() == item.front())
        item = item.substr(1, item.size() - 2);
      if (pip_indent != std::string::npos && indent > pip_indent) {
        // pip's own lines: requirements or options
        if (item[0] == '-') {
          auto cmds = shell_commands(item);
          std::vector<std::string> words;
          for (auto& c : cmds) words.insert(words.end(), c.begin(), c.end());
          add_pip_entries(parse_pip_args(words, f, lineno), file.parent_path(), 0, false);
        } else {
          auto e = classify(item, f, lineno);
          if (e.kind == "unparsed") {
            note(e.where(), "not a requirement pip can read: `" + item + "`");
          } else {
            add(std::move(e), false);
          }
        }
        continue;
      }
      pip_indent = std::string::npos;
      if (item == "pip:") {
        pip_indent = indent;
        continue;
      }
      // conda: channel::name[version] or name=ver=build or name ver
      if (auto c = item.find("::"); c != std::string::npos) item = item.substr(c + 2);
      size_t end = item.find_first_of("=<>! ");
      std::string name = pep::canonical_name(item.substr(0, end));
      std::string ver = end == std::string::npos ? "" : trim(item.substr(end));
      bool dropped = false;
      for (auto& [glob, reason] : conda.drop) {
        if (glob_match(glob, name)) {
          note(f + ":" + std::to_string(lineno), "conda package `" + item + "` dropped: " + reason);
          dropped = true;
          break;
        }
      }
      if (dropped) continue;
      for (auto& [from, to] : conda.to_pip) {
        if (from == name) name = to;
      }
      std::string spec;
      if (!ver.empty()) {
        if (ver[0] == '=' && (ver.size() < 2 || ver[1] != '=')) ver = ver.substr(1);
        ver = ver.substr(0, ver.find('='));  // drop a build string
        ver = trim(ver);
        if (ver.empty()) {
        } else if (ver.find_first_of("<>!=") == 0) {
          spec = ver;
        } else if (ends_with(ver, "*")) {
          spec = "==" + ver;
          if (!ends_with(spec, ".*")) spec.insert(spec.size() - 1, ".");
        } else {
          spec = "==" + ver;
        }
      }
      auto e = classify(name + spec, f, lineno);
      e.text = item;
      e.declared = true;
      if (e.kind == "unparsed") {
        note(e.where(), "conda package `" + item + "` not understood");
        continue;
      }
      add(std::move(e), false);
    }
    mark_read(f);
  }

  // ---- commands ----

  void read_commands(const std::string& script, const fs::path& file, int first_line) {
    auto f = rel(file);
    // line numbers: find each command's first word in the script
    auto cmds = shell_commands(script);
    size_t search_from = 0;
    for (auto& words : cmds) {
      auto args = pip_install_args(words);
      if (!args) continue;
      size_t at = script.find(words.front(), search_from);
      int line = first_line;
      if (at != std::string::npos) {
        line += static_cast<int>(
            std::count(script.begin(), script.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
        search_from = at + 1;
      }
      auto es = parse_pip_args(*args, f, line);
      for (auto it = es.begin(); it != es.end();) {
        if (it->kind == "unparsed") {
          note(it->where(), "`" + it->text + "` is a shell variable: not read");
          it = es.erase(it);
        } else if (it->kind == "option") {
          it = es.erase(it);  // the command's own options (--upgrade, --no-cache-dir): not requirements
        } else if (it->kind == "requirement" &&
                   (it->name() == "pip" || it->name() == "setuptools" || it->name() == "wheel")) {
          it = es.erase(it);  // the installer's own tools (pip install --upgrade pip)
        } else {
          ++it;
        }
      }
      add_pip_entries(std::move(es), file.parent_path(), 0, false);
    }
  }

  // Dockerfile: RUN instructions (shell form) with their continuation lines.
  void read_dockerfile(const fs::path& file) {
    auto lines = lines_of(read_file(file));
    for (size_t k = 0; k < lines.size(); ++k) {
      auto l = trim(lines[k]);
      if (!(starts_with(l, "RUN ") || starts_with(l, "run "))) continue;
      int first = static_cast<int>(k + 1);
      std::string cmd = l.substr(4);
      bool more = ends_with(cmd, "\\");
      while (more && k + 1 < lines.size()) {
        auto next = trim(lines[++k]);
        if (!next.empty() && next[0] == '#') continue;  // a comment line inside the instruction
        cmd += "\n" + next;
        more = ends_with(next, "\\");
      }
      if (!cmd.empty() && cmd[0] == '[') continue;  // exec form: no shell
      read_commands(cmd, file, first);
    }
  }

  // README: fenced code blocks (``` or ~~~) of a shell or no language; a `$ ` prompt is dropped.
  // Also CommonMark's indented code blocks (4 spaces after a blank line), unless they continue a
  // list item, where indented text is the item's prose.
  void read_readme(const fs::path& file) {
    auto lines = lines_of(read_file(file));
    auto is_list_item = [](const std::string& t) {
      return starts_with(t, "- ") || starts_with(t, "* ") || starts_with(t, "+ ") ||
             (!t.empty() && std::isdigit(static_cast<unsigned char>(t[0])) &&
              t.find(". ") != std::string::npos && t.find(". ") < 4);
    };
    bool in_list = false;
    for (size_t k = 0; k < lines.size(); ++k) {
      auto l = trim(lines[k]);
      bool indented = starts_with(lines[k], "    ") || starts_with(lines[k], "\t");
      if (!l.empty() && !indented) in_list = is_list_item(l);
      if (indented && !l.empty() && k > 0 && trim(lines[k - 1]).empty() && !in_list) {
        std::string block;
        int first = static_cast<int>(k + 1);
        for (; k < lines.size() &&
               (trim(lines[k]).empty() || starts_with(lines[k], "    ") || starts_with(lines[k], "\t"));
             ++k) {
          auto t = trim(lines[k]);
          block += (starts_with(t, "$ ") ? t.substr(2) : t) + "\n";
        }
        read_commands(block, file, first);
        if (k < lines.size()) --k;
        continue;
      }
      if (!(starts_with(l, "```") || starts_with(l, "~~~"))) continue;
      std::string fence = l.substr(0, 3), lang = trim(l.substr(3));
      bool shell = lang.empty() || lang == "bash" || lang == "sh" || lang == "shell" || lang == "console" ||
                   lang == "zsh" || lang == "shell-session" || lang == "text";
      std::string block;
      int first = static_cast<int>(k + 2);
      for (++k; k < lines.size() && !starts_with(trim(lines[k]), fence); ++k) {
        auto b = lines[k];
        auto t = trim(b);
        if (starts_with(t, "$ ")) b = t.substr(2);
        block += b + "\n";
      }
      if (shell) read_commands(block, file, first);
    }
  }
};

bool skipped_dir(const std::string& name) {
  return name.empty() || name[0] == '.' || name == "node_modules" || name == "build" || name == "dist" ||
         name == "third_party" || name == "3rdparty" || name == "site-packages" || name == "venv";
}

}  // namespace

Sources read_sources(const fs::path& repo, const CondaMap& conda) {
  Reader r{repo, conda, {}, {}, false, false, {}};
  std::error_code ec;
  // 1. requirement and constraint files at the root (requirements-ascend.txt is kcat's own)
  std::vector<fs::path> req_files;
  for (auto& e : fs::directory_iterator(repo, ec)) {
    auto n = e.path().filename().string();
    if (e.is_regular_file() && (glob_match("requirements*.txt", n) || glob_match("constraints*.txt", n)) &&
        n != "requirements-ascend.txt") {
      req_files.push_back(e.path());
    }
  }
  // requirement files before constraint files (a -c names its constraints at its place); files of
  // development tools (dev, test, docs, lint) are not the project's runtime
  std::sort(req_files.begin(), req_files.end(), [](const fs::path& a, const fs::path& b) {
    bool ca = glob_match("constraints*.txt", a.filename().string());
    bool cb = glob_match("constraints*.txt", b.filename().string());
    return ca != cb ? cb : a < b;
  });
  std::vector<fs::path> runtime;
  for (auto& f : req_files) {
    if (tools_name(f.stem().string())) {
      r.skip(f.filename().string());
    } else {
      runtime.push_back(f);
    }
  }
  req_files = runtime;
  for (auto& f : req_files) {
    bool constraint = glob_match("constraints*.txt", f.filename().string());
    r.ascend = ascend_name(f.stem().string());
    r.read_requirements_file(f, 0, constraint);
    r.ascend = false;
    r.mark_read(r.rel(f));
  }
  // the project's own Ascend requirements in requirements/ (requirements/npu.txt): its Ascend stack
  std::vector<fs::path> ascend_files;
  for (auto& e : fs::directory_iterator(repo / "requirements", ec)) {
    if (e.is_regular_file() && e.path().extension() == ".txt" && ascend_name(e.path().stem().string()))
      ascend_files.push_back(e.path());
  }
  std::sort(ascend_files.begin(), ascend_files.end());
  r.ascend = true;
  for (auto& f : ascend_files) r.read_requirements_file(f, 0, false);
  r.ascend = false;
  // 2. declared metadata
  if (fs::is_regular_file(repo / "pyproject.toml", ec)) r.read_pyproject(repo / "pyproject.toml");
  if (fs::is_regular_file(repo / "setup.py", ec)) r.read_setup_py(repo / "setup.py");
  if (fs::is_regular_file(repo / "setup.cfg", ec)) r.read_setup_cfg(repo / "setup.cfg");
  for (auto* n : {"environment.yml", "environment.yaml"}) {
    if (fs::is_regular_file(repo / n, ec)) r.read_conda(repo / n);
  }
  // 3. install commands: Dockerfiles, shell scripts, README code blocks
  std::vector<fs::path> docker, scripts, root_scripts, readmes;
  auto it = fs::recursive_directory_iterator(repo, fs::directory_options::skip_permission_denied, ec);
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    auto n = it->path().filename().string();
    if (it->is_directory(ec)) {
      if (skipped_dir(n) || it.depth() > 4) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec) || it->file_size(ec) > (1u << 20)) continue;
    if (n == "Dockerfile" || starts_with(n, "Dockerfile.") || ends_with(n, ".dockerfile"))
      docker.push_back(it->path());
    if (ends_with(n, ".sh")) (it.depth() == 0 ? root_scripts : scripts).push_back(it->path());
    if (n == "README.md" && it.depth() == 0) readmes.push_back(it->path());
  }
  for (auto* v : {&docker, &scripts, &root_scripts, &readmes}) std::sort(v->begin(), v->end());
  // the install the README documents and the root's scripts (install.sh) belong to the runtime set
  for (auto& f : root_scripts) r.read_commands(read_file(f), f, 1);
  for (auto& f : readmes) r.read_readme(f);
  // Dockerfiles and the scripts below the root are optional images and alternative setups: read,
  // but kept apart from the runtime set the files above declare (LLaMA-Factory's two optional CUDA
  // images pin megatron-bridge 0.5.0 and megatron-core 0.13, which cannot install together)
  bool declared = std::any_of(r.s.entries.begin(), r.s.entries.end(),
                              [](const Entry& e) { return e.req && !e.constraint; });
  r.optional = declared;
  for (auto& f : docker) r.read_dockerfile(f);
  for (auto& f : scripts) r.read_commands(read_file(f), f, 1);
  r.optional = false;
  // keep only files that gave something
  std::vector<std::string> read;
  for (auto& f : r.s.read) {
    bool gave =
        std::any_of(r.s.entries.begin(), r.s.entries.end(), [&](const Entry& e) { return e.file == f; }) ||
        f == "setup.py" || f == "pyproject.toml" || f == "environment.yml" || f == "environment.yaml" ||
        glob_match("requirements*.txt", f) || glob_match("constraints*.txt", f);
    if (gave) read.push_back(f);
  }
  r.s.read = read;
  return std::move(r.s);
}

}  // namespace kcat::env
