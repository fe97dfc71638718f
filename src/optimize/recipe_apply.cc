// Recipes as edits: which apply to a repository, and the patch each one makes there.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <set>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/glob.h"
#include "kcat/core/text.h"
#include "kcat/optimize/optimize.h"
#include "kcat/patch/codemod.h"

namespace kcat::optimize {
namespace {

constexpr uintmax_t kMaxFileBytes = 4u << 20;  // larger files are data, not code a recipe edits

// The repository's files a recipe may edit: not data files larger than kMaxFileBytes.
std::vector<std::string> repo_files(const std::filesystem::path& root) {
  auto out = repository_files(root);
  std::erase_if(out, [&](const std::string& rel) {
    std::error_code ec;
    return std::filesystem::file_size(root / rel, ec) > kMaxFileBytes;
  });
  return out;
}

bool is_text(const std::string& bytes) { return bytes.find('\0') == std::string::npos; }

std::string parent_dir(const std::string& file) {
  auto slash = file.rfind('/');
  return slash == std::string::npos ? "" : file.substr(0, slash);
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// Placeholders in a recipe's replacement text: {pkg} is "." when the edited file sits in a Python
// package (its directory has __init__.py), so a module the recipe writes next to it ({dir}/...)
// is imported relatively and works whatever the working directory; else "".
std::string expand(std::string text, const std::filesystem::path& root, const std::string& file) {
  if (text.find("{pkg}") == std::string::npos) return text;
  auto dir = parent_dir(file);
  std::error_code ec;
  bool package = std::filesystem::exists(root / dir / "__init__.py", ec);
  replace_all(text, "{pkg}", package ? "." : "");
  return text;
}

std::vector<std::string> matching(const std::vector<std::string>& files, const std::string& glob) {
  std::vector<std::string> out;
  for (const auto& f : files) {
    if (path_glob_match(glob, f)) out.push_back(f);
  }
  return out;
}

// POSIX single quotes: the value is taken literally by sh.
std::string sh_single_quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// One match of an edit: the edit it makes and the text of its groups (for require/refuse).
struct Match {
  patch::Edit edit;
  std::vector<std::string> groups;  // groups[0] is the whole match
};

std::vector<Match> edits_for(const kb::Recipe& r, const kb::RecipeEdit& e, const std::string& file,
                             const std::string& bytes) {
  std::vector<Match> out;
  std::string origin = "recipe:" + r.id;
  if (!e.regex) {
    for (size_t pos = bytes.find(e.search); pos != std::string::npos;
         pos = bytes.find(e.search, pos + e.search.size())) {
      out.push_back({{file, static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + e.search.size()),
                      e.replace, origin},
                     {e.search}});
    }
    return out;
  }
  RE2 re(e.search);
  if (!re.ok()) {
    throw Error(ErrorKind::Usage, fmt::format("recipe '{}': bad regex: {}", r.id, re.error()), r.origin,
                "recipe edits use RE2 syntax");
  }
  std::string err;
  if (!re.CheckRewriteString(e.replace, &err)) {
    throw Error(ErrorKind::Usage, fmt::format("recipe '{}': bad replace: {}", r.id, err), r.origin);
  }
  const int groups = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> m(static_cast<size_t>(groups));
  re2::StringPiece text(bytes);
  size_t pos = 0;
  while (pos <= bytes.size() && re.Match(text, pos, bytes.size(), RE2::UNANCHORED, m.data(), groups)) {
    size_t begin = static_cast<size_t>(m[0].data() - bytes.data());
    size_t end = begin + m[0].size();
    std::string replacement;
    re.Rewrite(&replacement, e.replace, m.data(), groups);
    std::vector<std::string> texts;
    for (const auto& g : m) texts.emplace_back(g.data() ? std::string(g.data(), g.size()) : std::string());
    out.push_back({{file, static_cast<uint32_t>(begin), static_cast<uint32_t>(end), replacement, origin},
                   std::move(texts)});
    pos = end > begin ? end : end + 1;
  }
  return out;
}

// The edits that make kEnvFile hold the recipe's variables.
std::vector<patch::Edit> env_edits(const kb::Recipe& r, const std::filesystem::path& root) {
  std::vector<patch::Edit> out;
  if (r.env.empty()) return out;
  auto path = root / kEnvFile;
  std::error_code ec;
  std::string origin = "recipe:" + r.id;
  if (!std::filesystem::exists(path, ec)) {
    std::string text =
        "# Environment for the Ascend NPU, written by kcat (each variable cites the recipe that set it).\n"
        "# Source it before launching: . ./" +
        std::string(kEnvFile) + "\n";
    for (const auto& v : r.env)
      text += fmt::format("export {}={}  # {}\n", v.name, sh_single_quote(v.value), r.id);
    out.push_back({kEnvFile, 0, 0, text, origin});
    return out;
  }
  auto bytes = read_file(path);
  auto current = read_env_file(root);
  std::string append;
  for (const auto& v : r.env) {
    auto it = current.find(v.name);
    if (it != current.end() && it->second == v.value) continue;
    std::string line = fmt::format("export {}={}  # {}", v.name, sh_single_quote(v.value), r.id);
    if (it == current.end()) {
      append += line + "\n";
      continue;
    }
    // Replace the line that sets it.
    RE2 re("(?m)^[ \\t]*(?:export[ \\t]+)?" + RE2::QuoteMeta(v.name) + "=.*$");
    re2::StringPiece m;
    if (re.Match(bytes, 0, bytes.size(), RE2::UNANCHORED, &m, 1)) {
      auto begin = static_cast<uint32_t>(m.data() - bytes.data());
      out.push_back({kEnvFile, begin, static_cast<uint32_t>(begin + m.size()), line, origin});
    }
  }
  if (!append.empty()) {
    auto end = static_cast<uint32_t>(bytes.size());
    if (!bytes.empty() && bytes.back() != '\n') append.insert(0, "\n");
    out.push_back({kEnvFile, end, end, append, origin});
  }
  return out;
}

bool overlaps_finding(const kb::Recipe& r, const std::vector<Finding>& findings, const std::string& file,
                      const patch::Edit& e) {
  return std::any_of(findings.begin(), findings.end(), [&](const Finding& f) {
    if (f.file != file) return false;
    if (std::find(r.when_findings.begin(), r.when_findings.end(), f.rule_id) == r.when_findings.end())
      return false;
    return f.span.begin < e.end && e.begin < f.span.end;
  });
}

// The names `from M import <names>` imports, read from `pos` (just after `import`): a
// parenthesized list or the rest of the logical line; `name as alias` gives name. "*" for a star.
std::vector<std::string> imported_names(const std::string& bytes, size_t pos) {
  std::string list;
  if (pos < bytes.size() && bytes[pos] == '(') {
    auto close = bytes.find(')', pos);
    list = bytes.substr(pos + 1, close == std::string::npos ? std::string::npos : close - pos - 1);
  } else {
    for (size_t i = pos; i < bytes.size() && bytes[i] != '\n' && bytes[i] != '#' && bytes[i] != ';'; ++i) {
      if (bytes[i] == '\\' && i + 1 < bytes.size() && bytes[i + 1] == '\n') {
        ++i;
        continue;
      }
      list += bytes[i];
    }
  }
  std::vector<std::string> names;
  std::string cur;
  auto flush = [&] {
    // "name as alias" -> name; strip comments of a parenthesized list
    auto hash = cur.find('#');
    if (hash != std::string::npos) cur.erase(hash);
    auto first = cur.find_first_not_of(" \t\r\n");
    if (first != std::string::npos) {
      auto last = cur.find_first_of(" \t\r\n", first);
      names.push_back(cur.substr(first, last == std::string::npos ? std::string::npos : last - first));
    }
    cur.clear();
  };
  for (char c : list) {
    if (c == ',') {
      flush();
    } else if (c == '\n') {
      auto hash = cur.find('#');
      if (hash != std::string::npos) cur.erase(hash);
      cur += ' ';
    } else {
      cur += c;
    }
  }
  flush();
  return names;
}

// A require/refuse pattern with \1..\9 replaced by the match's groups, quoted.
std::string instantiate(const std::string& pattern, const std::vector<std::string>& groups) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size() && pattern[i + 1] >= '0' && pattern[i + 1] <= '9') {
      auto n = static_cast<size_t>(pattern[i + 1] - '0');
      out += RE2::QuoteMeta(n < groups.size() ? groups[n] : std::string());
      ++i;
    } else if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out += pattern.substr(i, 2);
      ++i;
    } else {
      out += pattern[i];
    }
  }
  return out;
}

bool file_matches(const kb::Recipe& r, const std::string& pattern, const std::vector<std::string>& groups,
                  const std::string& bytes) {
  RE2 re(instantiate(pattern, groups));
  if (!re.ok()) {
    throw Error(ErrorKind::Usage, fmt::format("recipe '{}': bad require/refuse regex: {}", r.id, re.error()),
                r.origin, "recipe edits use RE2 syntax");
  }
  return RE2::PartialMatch(bytes, re);
}

// The text of the line before the '(' that encloses `pos` ("" when none): "m = f" for a call's
// argument, "def load" for a parameter's default. Brackets inside strings are not told apart.
std::string enclosing_head(const std::string& bytes, size_t pos) {
  int depth = 0;
  for (size_t i = pos; i-- > 0;) {
    char c = bytes[i];
    if (c == ')' || c == ']' || c == '}') {
      ++depth;
    } else if (c == '(' || c == '[' || c == '{') {
      if (depth == 0) {
        if (c != '(') return "";
        auto line = bytes.rfind('\n', i);
        line = line == std::string::npos ? 0 : line + 1;
        auto head = bytes.substr(line, i - line);
        while (!head.empty() && (head.back() == ' ' || head.back() == '\t')) head.pop_back();
        return head;
      }
      --depth;
    }
  }
  return "";
}

// Why a match may not be changed ("" when it may): its imported names, require and refuse.
std::string why_not_here(const kb::Recipe& r, const kb::RecipeEdit& e, const Match& m,
                         const std::string& bytes) {
  if (e.check_imports) {
    std::vector<std::string> missing;
    for (const auto& n : imported_names(bytes, m.edit.end)) {
      if (std::find(r.provides.begin(), r.provides.end(), n) == r.provides.end()) missing.push_back(n);
    }
    if (!missing.empty()) {
      return fmt::format("{} does not provide {}; the import is left as it is",
                         r.module.empty() ? r.id : r.module, fmt::join(missing, ", "));
    }
  }
  for (const auto& req : e.require) {
    if (!file_matches(r, req, m.groups, bytes)) return e.reason;
  }
  for (const auto& ref : e.refuse) {
    if (file_matches(r, ref, m.groups, bytes)) return e.reason;
  }
  if (!e.refuse_enclosing.empty()) {
    auto head = enclosing_head(bytes, m.edit.begin + (m.groups[0].empty() ? 0 : 1));
    for (const auto& ref : e.refuse_enclosing) {
      if (file_matches(r, ref, m.groups, head)) return e.reason;
    }
  }
  return "";
}

bool has_init(const std::filesystem::path& root, const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(root / dir / "__init__.py", ec);
}

size_t depth(const std::string& dir) {
  return dir.empty() ? 0 : static_cast<size_t>(std::count(dir.begin(), dir.end(), '/')) + 1;
}

// Where a recipe's module lives for `file` and how the file imports it, or why it has no home.
struct ModuleHome {
  std::string dir;     // repository-relative folder of the module ("" = root)
  std::string import;  // what `{module}` becomes in the file
  std::string why_not;
};

ModuleHome module_home(const std::filesystem::path& root, const std::string& file,
                       const std::string& module) {
  auto dir = parent_dir(file);
  if (dir.empty()) return {"", module, ""};  // a script at the root: its folder is on sys.path
  auto top_of = [&](std::string d) {
    while (!parent_dir(d).empty() && has_init(root, parent_dir(d))) d = parent_dir(d);
    return d;
  };
  if (has_init(root, dir)) {
    auto top = top_of(dir);
    return {top, std::string(depth(dir) - depth(top) + 1, '.') + module, ""};
  }
  // A folder without __init__.py inside a package (a namespace portion, e.g. llava/train):
  // package-qualified from the enclosing top package.
  for (auto up = parent_dir(dir); !up.empty(); up = parent_dir(up)) {
    if (!has_init(root, up)) continue;
    auto top = top_of(up);
    auto slash = top.rfind('/');
    return {top, (slash == std::string::npos ? top : top.substr(slash + 1)) + "." + module, ""};
  }
  if (dir.find('/') == std::string::npos) return {dir, module, ""};  // a top-level script folder
  return {
      "", "",
      fmt::format("{} is neither in a package (no __init__.py) nor in a top-level script folder: kcat cannot "
                  "tell how it would import {}",
                  file, module)};
}

}  // namespace

std::vector<Finding> fixed_by_patch(const patch::Patch& p, const std::vector<Finding>& findings) {
  std::vector<Finding> out;
  for (const auto& f : findings) {
    bool changed = std::any_of(p.edits.begin(), p.edits.end(), [&](const patch::Edit& e) {
      if (e.file != f.file) return false;
      if (e.begin == e.end) return f.span.begin <= e.begin && e.begin < f.span.end;  // an insertion inside
      return f.span.begin < e.end && e.begin < f.span.end;
    });
    if (changed) out.push_back(f);
  }
  return out;
}

std::map<std::string, std::string> read_env_file(const std::filesystem::path& root) {
  std::map<std::string, std::string> vars;
  auto path = root / kEnvFile;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return vars;
  auto bytes = read_file(path);
  static const RE2 line_re(R"(^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$)");
  size_t lineno = 0, start = 0;
  while (start <= bytes.size()) {
    size_t nl = bytes.find('\n', start);
    std::string line = bytes.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    ++lineno;
    start = nl == std::string::npos ? bytes.size() + 1 : nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::string name, rest;
    if (!RE2::FullMatch(line, line_re, &name, &rest)) {
      throw Error(ErrorKind::Parse, "not a variable assignment", fmt::format("{}:{}", path.string(), lineno),
                  "lines are `export NAME='value'`, comments or blank");
    }
    // The value: single-quoted runs (with '\'' escapes), double-quoted text or bare words, up to
    // an unquoted '#' comment.
    std::string value;
    size_t i = 0;
    bool closed = true;
    while (i < rest.size()) {
      char c = rest[i];
      if (c == '\'') {
        auto close = rest.find('\'', i + 1);
        if (close == std::string::npos) {
          closed = false;
          break;
        }
        value += rest.substr(i + 1, close - i - 1);
        i = close + 1;
      } else if (c == '"') {
        auto close = rest.find('"', i + 1);
        if (close == std::string::npos) {
          closed = false;
          break;
        }
        value += rest.substr(i + 1, close - i - 1);
        i = close + 1;
      } else if (c == '\\' && i + 1 < rest.size()) {
        value += rest[i + 1];
        i += 2;
      } else if (c == ' ' || c == '\t') {
        break;
      } else {
        value += c;
        ++i;
      }
    }
    if (!closed) {
      throw Error(ErrorKind::Parse, "unterminated quote in the value of " + name,
                  fmt::format("{}:{}", path.string(), lineno), "close the quote");
    }
    vars[name] = value;
  }
  return vars;
}

std::string why_not_applicable(const kb::Recipe& r, const std::filesystem::path& root,
                               const std::vector<Finding>& findings) {
  if (!r.when_findings.empty()) {
    bool any = std::any_of(findings.begin(), findings.end(), [&](const Finding& f) {
      return std::find(r.when_findings.begin(), r.when_findings.end(), f.rule_id) != r.when_findings.end();
    });
    if (!any) return "no finding of " + fmt::format("{}", fmt::join(r.when_findings, ", "));
  }
  if (r.when_files.empty() && r.when_text.empty()) return "";
  auto files = repo_files(root);
  std::vector<std::string> candidates;
  if (r.when_files.empty()) {
    candidates = files;
  } else {
    for (const auto& g : r.when_files) {
      auto m = matching(files, g);
      candidates.insert(candidates.end(), m.begin(), m.end());
    }
    if (candidates.empty()) return "no file matches " + fmt::format("{}", fmt::join(r.when_files, ", "));
  }
  if (r.when_text.empty()) return "";
  for (const auto& f : candidates) {
    auto bytes = read_file(root / f);
    if (bytes.find(r.when_text) != std::string::npos) return "";
  }
  return "no file contains '" + r.when_text + "'";
}

patch::Patch recipe_patch(const kb::Recipe& r, const std::filesystem::path& root,
                          const std::vector<Finding>& findings, std::vector<RecipeSkip>* skipped) {
  patch::Patch p;
  p.message = r.title;
  std::vector<std::string> files;
  if (!r.edits.empty()) files = repo_files(root);
  std::map<std::string, std::string> edited;  // file -> bytes before, for imports
  std::set<std::string> module_dirs;          // where {module_dir} files go
  std::set<std::string> written_by_files;
  for (const auto& f : r.files) written_by_files.insert(f.path);
  auto skip = [&](const std::string& file, const patch::Edit& ed, std::string reason) {
    if (skipped) skipped->push_back({file, ed.begin, ed.end, std::move(reason)});
  };
  for (const auto& e : r.edits) {
    for (const auto& file : matching(files, e.file)) {
      if (file == kEnvFile || written_by_files.count(file)) continue;
      if (!r.module.empty() && std::filesystem::path(file).filename() == r.module + ".py") continue;
      auto bytes = read_file(root / file);
      if (!is_text(bytes)) continue;
      std::vector<patch::Edit> edits;
      std::optional<ModuleHome> home;
      for (auto& m : edits_for(r, e, file, bytes)) {
        if (e.at_findings && !overlaps_finding(r, findings, file, m.edit)) continue;
        if (auto why = why_not_here(r, e, m, bytes); !why.empty()) {
          skip(file, m.edit, why);
          continue;
        }
        if (m.edit.replacement.find("{module}") != std::string::npos) {
          if (!home) home = module_home(root, file, r.module);
          if (!home->why_not.empty()) {
            skip(file, m.edit, home->why_not);
            continue;
          }
          replace_all(m.edit.replacement, "{module}", home->import);
          module_dirs.insert(home->dir);
        }
        m.edit.replacement = expand(std::move(m.edit.replacement), root, file);
        edits.push_back(std::move(m.edit));
      }
      if (edits.empty()) continue;
      edited[file] = bytes;
      p.edits.insert(p.edits.end(), edits.begin(), edits.end());
    }
  }
  if (skipped) {
    // A site another edit of the recipe changed is not left.
    std::erase_if(*skipped, [&](const RecipeSkip& k) {
      return std::any_of(p.edits.begin(), p.edits.end(), [&](const patch::Edit& e) {
        return e.file == k.file && e.begin < k.end && k.begin < e.end;
      });
    });
  }
  for (const auto& [file, bytes] : edited) {
    if (r.imports.empty() || file.size() < 3 || file.compare(file.size() - 3, 3, ".py") != 0) continue;
    auto imp = patch::insert_after_torch_import(file, bytes, r.imports, false);
    p.edits.insert(p.edits.end(), imp.begin(), imp.end());
  }
  auto env = env_edits(r, root);
  p.edits.insert(p.edits.end(), env.begin(), env.end());
  // Files: "{dir}/x.py" is written next to each edited file (once per directory).
  std::vector<kb::RecipeFile> to_write;
  for (const auto& f : r.files) {
    if (f.path.find("{module_dir}") != std::string::npos) {
      for (const auto& dir : module_dirs) {
        auto path = f.path;
        replace_all(path, "{module_dir}/", dir.empty() ? "" : dir + "/");
        replace_all(path, "{module_dir}", dir);
        to_write.push_back({path, f.content});
      }
      continue;
    }
    if (f.path.find("{dir}") == std::string::npos) {
      to_write.push_back(f);
      continue;
    }
    std::set<std::string> dirs;
    for (const auto& [file, bytes] : edited) dirs.insert(parent_dir(file));
    for (const auto& dir : dirs) {
      auto path = f.path;
      replace_all(path, "{dir}/", dir.empty() ? "" : dir + "/");
      replace_all(path, "{dir}", dir);
      to_write.push_back({path, f.content});
    }
  }
  for (const auto& f : to_write) {
    auto path = resolve_within(root, f.path);
    if (!path) throw Error(ErrorKind::Usage, "recipe file path leaves the repository", r.origin, f.path);
    std::error_code ec;
    if (!std::filesystem::exists(*path, ec)) {
      p.edits.push_back({f.path, 0, 0, f.content, "recipe:" + r.id});
      continue;
    }
    auto bytes = read_file(*path);
    if (bytes != f.content) {
      p.edits.push_back({f.path, 0, static_cast<uint32_t>(bytes.size()), f.content, "recipe:" + r.id});
    }
  }
  return p;
}

}  // namespace kcat::optimize
