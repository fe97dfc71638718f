// Recipes as edits: which apply to a repository, and the patch each one makes there.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
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

std::vector<patch::Edit> edits_for(const kb::Recipe& r, const kb::RecipeEdit& e, const std::string& file,
                                   const std::string& bytes) {
  std::vector<patch::Edit> out;
  std::string origin = "recipe:" + r.id;
  if (!e.regex) {
    for (size_t pos = bytes.find(e.search); pos != std::string::npos;
         pos = bytes.find(e.search, pos + e.search.size())) {
      out.push_back({file, static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + e.search.size()),
                     e.replace, origin});
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
    out.push_back({file, static_cast<uint32_t>(begin), static_cast<uint32_t>(end), replacement, origin});
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

}  // namespace

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
                          const std::vector<Finding>& findings) {
  patch::Patch p;
  p.message = r.title;
  std::vector<std::string> files;
  if (!r.edits.empty()) files = repo_files(root);
  std::map<std::string, std::string> edited;  // file -> bytes before, for imports
  std::set<std::string> written_by_files;
  for (const auto& f : r.files) written_by_files.insert(f.path);
  for (const auto& e : r.edits) {
    for (const auto& file : matching(files, e.file)) {
      if (file == kEnvFile || written_by_files.count(file)) continue;
      auto bytes = read_file(root / file);
      if (!is_text(bytes)) continue;
      auto edits = edits_for(r, e, file, bytes);
      for (auto& ed : edits) ed.replacement = expand(std::move(ed.replacement), root, file);
      if (e.at_findings) {
        edits.erase(
            std::remove_if(edits.begin(), edits.end(),
                           [&](const patch::Edit& ed) { return !overlaps_finding(r, findings, file, ed); }),
            edits.end());
      }
      if (edits.empty()) continue;
      edited[file] = bytes;
      p.edits.insert(p.edits.end(), edits.begin(), edits.end());
    }
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
