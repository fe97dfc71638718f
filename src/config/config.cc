#include "kcat/config/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <git2.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/kb/toml_json.h"

namespace kcat::cli {
namespace {

constexpr const char* kHint = "see docs/ci.md for kcat.toml";

struct Reader {
  const std::filesystem::path& file;

  std::string where(const toml::node& n) const {
    return fmt::format("{}:{}", file.string(), n.source().begin.line);
  }

  [[noreturn]] void wrong(const toml::node& n, const std::string& section, const std::string& key,
                          const char* type) const {
    throw Error(ErrorKind::Usage, fmt::format("[{}] {} must be {}", section, key, type), where(n), kHint);
  }

  template <class F>
  void each(const toml::table& doc, const std::string& section, const std::set<std::string>& keys,
            F&& f) const {
    const auto* node = doc.get(section);
    if (!node) return;
    const auto* t = node->as_table();
    if (!t) throw Error(ErrorKind::Usage, fmt::format("[{}] must be a table", section), where(*node), kHint);
    for (const auto& [k, v] : *t) {
      std::string key(k.str());
      if (!keys.count(key)) {
        std::string known;
        for (const auto& x : keys) known += (known.empty() ? "" : ", ") + x;
        throw Error(ErrorKind::Usage, fmt::format("unknown key '{}' in [{}]", key, section), where(v),
                    "known keys: " + known);
      }
      f(key, v);
    }
  }

  std::string str(const toml::node& v, const std::string& s, const std::string& k) const {
    auto x = v.value<std::string>();
    if (!x || !v.is_string()) wrong(v, s, k, "a string");
    return *x;
  }
  double num(const toml::node& v, const std::string& s, const std::string& k) const {
    auto x = v.value<double>();
    if (!x || !v.is_number() || !std::isfinite(*x) || *x < 0) wrong(v, s, k, "a finite number of at least 0");
    return *x;
  }
  int count(const toml::node& v, const std::string& s, const std::string& k) const {
    auto x = v.value<int64_t>();
    if (!x || !v.is_integer() || *x < 1 || *x > 100000) wrong(v, s, k, "a whole number of at least 1");
    return static_cast<int>(*x);
  }
  std::vector<std::string> list(const toml::node& v, const std::string& s, const std::string& k) const {
    std::vector<std::string> out;
    const auto* arr = v.as_array();
    if (!arr) wrong(v, s, k, "a list of strings");
    for (const auto& e : *arr) {
      auto x = e.value<std::string>();
      if (!x || !e.is_string()) wrong(e, s, k, "a list of strings");
      out.push_back(*x);
    }
    return out;
  }
};

ConfigPolicy& policy() {
  static ConfigPolicy p;
  return p;
}

// The sections that run commands or send data: from a repository's file only when trusted.
const std::set<std::string> kDangerous = {"llm", "hooks", "build", "bench", "remote", "agent"};
const std::set<std::string> kSections = {"llm", "hooks", "build", "bench", "optimize", "remote", "agent"};

std::filesystem::path user_config_path() {
  auto base = user_dir(UserDir::Config);
  return base.empty() ? base : base / "kcat/kcat.toml";
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec);
}

// Whether the trust store holds `file` with `hash`.
bool recorded_as_trusted(const std::filesystem::path& file, const std::string& hash) {
  std::ifstream in(trust_store_path());
  std::string line;
  auto canonical = std::filesystem::weakly_canonical(file).string();
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    if (sp != std::string::npos && line.substr(0, sp) == hash && line.substr(sp + 1) == canonical)
      return true;
  }
  return false;
}

// Reads every section of `doc` (validating all of it); `use(section)` says whether its values go
// into `c` or are only checked.
void apply_file(Config& c, const toml::table& doc, const std::filesystem::path& file,
                const std::function<bool(const std::string&)>& use) {
  Reader r{file};
  for (const auto& [k, v] : doc) {
    std::string section(k.str());
    if (!kSections.count(section)) {
      throw Error(ErrorKind::Usage, fmt::format("unknown section [{}]", section), r.where(v),
                  "the sections are [llm], [hooks], [build], [bench], [optimize], [remote] and [agent]; " +
                      std::string(kHint));
    }
  }
  Config scratch;
  auto target = [&](const std::string& section) -> Config& { return use(section) ? c : scratch; };
  r.each(doc, "hooks", {"after_edit", "after_build", "after_bench", "before_commit"},
         [&](const std::string& k, const toml::node& v) {
           auto cmd = v.value<std::string>();
           if (!cmd || !v.is_string()) {
             throw Error(ErrorKind::Usage, "hook '" + k + "' must be a command string", r.where(v), kHint);
           }
           target("hooks").hooks[k] = *cmd;
         });
  r.each(doc, "build", {"command", "timeout"}, [&](const std::string& k, const toml::node& v) {
    auto& t = target("build");
    if (k == "command") t.build_command = r.str(v, "build", k);
    if (k == "timeout") t.build_timeout_s = r.num(v, "build", k);
  });
  r.each(doc, "bench",
         {"command", "metric", "metric_json", "unit", "runs", "warmup", "timeout", "target", "target_speedup",
          "baseline"},
         [&](const std::string& k, const toml::node& v) {
           auto& b = target("bench").bench;
           if (k == "command") b.command = r.str(v, "bench", k);
           if (k == "metric") b.metric = r.str(v, "bench", k);
           if (k == "metric_json") b.metric_json = r.str(v, "bench", k);
           if (k == "unit") b.unit = r.str(v, "bench", k);
           if (k == "baseline") b.baseline = r.str(v, "bench", k);
           if (k == "runs") b.runs = r.count(v, "bench", k);
           if (k == "warmup") {
             auto x = v.value<int64_t>();
             if (!x || !v.is_integer() || *x < 0) r.wrong(v, "bench", k, "a whole number of at least 0");
             b.warmup = static_cast<int>(*x);
           }
           if (k == "timeout") b.timeout_s = r.num(v, "bench", k);
           if (k == "target") b.target = r.num(v, "bench", k);
           if (k == "target_speedup") b.target_speedup = r.num(v, "bench", k);
         });
  r.each(doc, "optimize",
         {"max_iterations", "min_gain", "max_pairs", "output", "reference", "rtol", "atol", "recipes",
          "recipe_dirs"},
         [&](const std::string& k, const toml::node& v) {
           auto& o = target("optimize").optimize;
           if (k == "max_iterations") o.max_iterations = r.count(v, "optimize", k);
           if (k == "min_gain") o.min_gain = r.num(v, "optimize", k);
           if (k == "max_pairs") {
             // 8: the pairs before any verdict (optimize::DecideOptions::min_pairs); 1000 as --max-pairs
             auto x = v.value<int64_t>();
             if (!x || !v.is_integer() || *x < 8 || *x > 1000) {
               r.wrong(v, "optimize", k, "a whole number from 8 (the pairs before any verdict) to 1000");
             }
             o.max_pairs = static_cast<int>(*x);
           }
           if (k == "output") o.output = r.str(v, "optimize", k);
           if (k == "reference") o.reference = r.str(v, "optimize", k);
           if (k == "rtol") o.rtol = r.num(v, "optimize", k);
           if (k == "atol") o.atol = r.num(v, "optimize", k);
           if (k == "recipes") o.recipes = r.list(v, "optimize", k);
           if (k == "recipe_dirs") o.recipe_dirs = r.list(v, "optimize", k);
         });
  r.each(doc, "remote", {"host", "ssh_args", "dir"}, [&](const std::string& k, const toml::node& v) {
    auto& t = target("remote");
    if (k == "host") t.remote.host = r.str(v, "remote", k);
    if (k == "ssh_args") t.remote.ssh_args = r.list(v, "remote", k);
    if (k == "dir") t.remote.dir = r.str(v, "remote", k);
  });
  r.each(doc, "agent", {"commands", "check"}, [&](const std::string& k, const toml::node& v) {
    if (k == "commands") target("agent").allowed_commands = r.list(v, "agent", k);
    if (k == "check") target("agent").agent_check = r.str(v, "agent", k);
  });
  llm::validate_llm_config(file);  // [llm] is applied by the llm layer, from the trusted files only
}

void warn_untrusted(const ConfigSource& s, const std::string& hash) {
  static bool warned = false;  // load_config may run twice in one command
  if (warned) return;
  warned = true;
  std::string list;
  for (auto& x : s.ignored) list += (list.empty() ? "[" : ", [") + x + "]";
  std::fprintf(
      stderr,
      "kcat: warning: %s is not trusted: ignored %s (they run commands or send data); review it, then "
      "`kcat trust` (unattended: --trust-repo-config %s)\n",
      s.file.string().c_str(), list.c_str(), hash.c_str());
}

// A kcat.toml that is there but is not a file (a FIFO, a directory, a socket, a device, a dangling
// link) is not read: reading a FIFO could wait forever and the others are not configuration. It is
// said, so a repository cannot make kcat run without its configuration unnoticed (issue 14).
void warn_not_regular(const std::filesystem::path& file) {
  std::error_code ec;
  auto st = std::filesystem::symlink_status(file, ec);
  if (ec || st.type() == std::filesystem::file_type::not_found) return;
  static bool warned = false;  // load_config may run twice in one command
  if (warned) return;
  warned = true;
  auto target = std::filesystem::status(file, ec).type();
  const char* what = "not a regular file";
  switch (target) {
    case std::filesystem::file_type::fifo:
      what = "a FIFO";
      break;
    case std::filesystem::file_type::directory:
      what = "a directory";
      break;
    case std::filesystem::file_type::socket:
      what = "a socket";
      break;
    case std::filesystem::file_type::block:
    case std::filesystem::file_type::character:
      what = "a device";
      break;
    case std::filesystem::file_type::not_found:
      what = "a link to nothing";
      break;
    default:
      break;
  }
  std::fprintf(stderr, "kcat: warning: %s is %s, not a regular file: ignored, kcat runs without it\n",
               file.string().c_str(), what);
}

}  // namespace

void set_config_policy(ConfigPolicy p) { policy() = std::move(p); }

std::filesystem::path trust_store_path() {
  if (auto base = user_dir(UserDir::State); !base.empty()) return base / "kcat/trusted";
  throw Error(ErrorKind::Environment, "neither XDG_STATE_HOME nor HOME is set", "",
              "set HOME, or trust the file with --trust-repo-config HASH");
}

std::string config_hash(const std::filesystem::path& file) {
  auto bytes = read_file(file);
  git_libgit2_init();
  git_oid id;
  if (git_odb_hash(&id, bytes.data(), bytes.size(), GIT_OBJECT_BLOB) != 0) {
    throw Error(ErrorKind::Environment, "cannot hash the file", file.string());
  }
  char hex[GIT_OID_HEXSZ + 1];
  git_oid_tostr(hex, sizeof hex, &id);
  return hex;
}

std::string trust_config_file(const std::filesystem::path& file) {
  auto hash = config_hash(file);
  auto canonical = std::filesystem::weakly_canonical(file).string();
  auto store = trust_store_path();
  std::string kept;
  {
    std::ifstream in(store);
    std::string line;
    // One entry per file: the old hash of this path is replaced.
    while (std::getline(in, line)) {
      auto sp = line.find(' ');
      if (sp != std::string::npos && line.substr(sp + 1) == canonical) continue;
      if (!line.empty()) kept += line + "\n";
    }
  }
  kept += hash + " " + canonical + "\n";
  write_file_atomic(store, kept, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return hash;
}

Config load_config(const std::filesystem::path& repo, const std::string& explicit_file) {
  Config c;
  std::error_code ec;
  const auto& pol = policy();
  auto user = user_config_path();
  auto repo_file = repo / "kcat.toml";
  bool have_repo_file = !repo.empty() && std::filesystem::is_regular_file(repo_file, ec);
  if (!repo.empty() && !have_repo_file) warn_not_regular(repo_file);
  if (!explicit_file.empty() && !std::filesystem::is_regular_file(explicit_file, ec)) {
    throw Error(ErrorKind::Usage, "configuration file not found", explicit_file, "check the --config path");
  }
  if (!user.empty() && std::filesystem::is_regular_file(user, ec) &&
      !(have_repo_file && same_file(user, repo_file)))
    c.sources.push_back({user, "user", true, {}});
  if (have_repo_file && !(!explicit_file.empty() && same_file(explicit_file, repo_file)))
    c.sources.push_back({repo_file, "repository", false, {}});
  if (!explicit_file.empty()) c.sources.push_back({explicit_file, "--config", true, {}});

  std::string repo_hash;
  if (!pol.trusted_repo_hash.empty()) {
    if (!have_repo_file) {
      throw Error(ErrorKind::Usage, "--trust-repo-config names a hash, but the repository has no kcat.toml",
                  repo.string(), "drop --trust-repo-config");
    }
    repo_hash = config_hash(repo_file);
    if (repo_hash != pol.trusted_repo_hash) {
      throw Error(ErrorKind::Usage,
                  fmt::format("the repository's kcat.toml is {}, not the trusted {}: it changed", repo_hash,
                              pol.trusted_repo_hash),
                  repo_file.string(),
                  "review the file, then pass its new hash (`git hash-object kcat.toml`)");
    }
  }

  std::vector<std::filesystem::path> llm_files;
  for (auto& s : c.sources) {
    auto doc = kb::parse_toml_file(s.file, kHint);
    if (s.origin == "repository") {
      if (!pol.trusted_repo_hash.empty()) {
        s.trusted = true;
      } else if (!pol.unattended) {
        repo_hash = config_hash(s.file);
        s.trusted = recorded_as_trusted(s.file, repo_hash);
      }
      if (!s.trusted) {
        for (const auto& [k, v] : doc) {
          if (kDangerous.count(std::string(k.str()))) s.ignored.emplace_back(k.str());
        }
      }
    }
    apply_file(c, doc, s.file,
               [&](const std::string& section) { return s.trusted || !kDangerous.count(section); });
    if (s.trusted) llm_files.push_back(s.file);
    c.file = s.file;
  }
  for (auto& s : c.sources) {
    if (!s.ignored.empty()) warn_untrusted(s, repo_hash.empty() ? config_hash(s.file) : repo_hash);
  }
  c.llm = llm::load_llm_config(llm_files);
  return c;
}

std::string describe_sources(const Config& c) {
  if (c.sources.empty()) return "none";
  std::string out;
  for (auto& s : c.sources) {
    std::string note = s.origin;
    if (!s.trusted) {
      note += ", not trusted";
      if (!s.ignored.empty()) {
        std::string list;
        for (auto& x : s.ignored) list += (list.empty() ? "[" : ", [") + x + "]";
        note += ": " + list + " ignored";
      }
    }
    out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", s.file.string(), note);
  }
  return out;
}

namespace {

// The shell words of one command, split at blanks and at the operators that end a word.
std::vector<std::string> shell_words(const std::string& cmd) {
  std::vector<std::string> words(1);
  for (char ch : cmd) {
    if (std::string_view(" \t\n;|&()<>'\"`$=").find(ch) == std::string_view::npos) {
      words.back() += ch;
    } else if (!words.back().empty()) {
      words.emplace_back();
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

std::vector<std::string> command_files(const Config& c, const std::filesystem::path& repo) {
  std::vector<std::string> commands = c.allowed_commands;
  for (auto& [_, cmd] : c.hooks) commands.push_back(cmd);
  for (auto* cmd : {&c.build_command, &c.bench.command, &c.bench.baseline, &c.agent_check})
    commands.push_back(*cmd);
  std::set<std::string> out;
  std::error_code ec;
  auto keep = [&](std::filesystem::path rel) {
    auto word = rel.lexically_normal().generic_string();
    if (!word.empty() && word[0] != '/' && !word.starts_with("..") &&
        std::filesystem::is_regular_file(repo / word, ec)) {
      out.insert(word);
    }
  };
  for (auto& cmd : commands) {
    // What a command runs: the paths it names (relative to a `cd DIR` before them), the module of
    // `python -m pkg.mod`, and the makefile `make` reads.
    std::filesystem::path dir;
    auto words = shell_words(cmd);
    for (size_t i = 0; i < words.size(); ++i) {
      const auto& w = words[i];
      if (w == "cd" && i + 1 < words.size()) {
        dir = words[i + 1].starts_with("/") ? std::filesystem::path() : dir / words[i + 1];
        ++i;
      } else if (w == "-m" && i + 1 < words.size()) {
        std::string module = words[i + 1];
        std::replace(module.begin(), module.end(), '.', '/');
        keep(dir / (module + ".py"));
        keep(dir / module / "__main__.py");
      } else if (w == "make" || w == "gmake") {
        for (const char* f : {"GNUmakefile", "makefile", "Makefile"}) keep(dir / f);
      } else {
        keep(dir / w);
      }
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace kcat::cli
