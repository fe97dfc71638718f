#include "kcat/cli/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdlib>
#include <set>

#include "kcat/core/error.h"
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
    if (!x) wrong(v, s, k, "a string");
    return *x;
  }
  double num(const toml::node& v, const std::string& s, const std::string& k) const {
    auto x = v.value<double>();
    if (!x || *x < 0) wrong(v, s, k, "a number of at least 0");
    return *x;
  }
  int count(const toml::node& v, const std::string& s, const std::string& k) const {
    auto x = v.value<int64_t>();
    if (!x || *x < 1 || *x > 100000) wrong(v, s, k, "a whole number of at least 1");
    return static_cast<int>(*x);
  }
  std::vector<std::string> list(const toml::node& v, const std::string& s, const std::string& k) const {
    std::vector<std::string> out;
    const auto* arr = v.as_array();
    if (!arr) wrong(v, s, k, "a list of strings");
    for (const auto& e : *arr) {
      auto x = e.value<std::string>();
      if (!x) wrong(e, s, k, "a list of strings");
      out.push_back(*x);
    }
    return out;
  }
};

}  // namespace

Config load_config(const std::filesystem::path& repo, const std::string& explicit_file) {
  Config c;
  std::error_code ec;
  if (!explicit_file.empty()) {
    if (!std::filesystem::is_regular_file(explicit_file, ec)) {
      throw Error(ErrorKind::Usage, "configuration file not found", explicit_file, "check the --config path");
    }
    c.file = explicit_file;
  } else if (std::filesystem::is_regular_file(repo / "kcat.toml", ec)) {
    c.file = repo / "kcat.toml";
  } else if (const char* home = std::getenv("HOME");
             home &&
             std::filesystem::is_regular_file(std::filesystem::path(home) / ".config/kcat/kcat.toml", ec)) {
    c.file = std::filesystem::path(home) / ".config/kcat/kcat.toml";
  }
  if (c.file.empty()) return c;
  auto doc = kb::parse_toml_file(c.file, kHint);
  Reader r{c.file};
  r.each(doc, "hooks", {"after_edit", "after_build", "after_bench", "before_commit"},
         [&](const std::string& k, const toml::node& v) {
           auto cmd = v.value<std::string>();
           if (!cmd) {
             throw Error(ErrorKind::Usage, "hook '" + k + "' must be a command string", r.where(v), kHint);
           }
           c.hooks[k] = *cmd;
         });
  r.each(doc, "build", {"command", "timeout"}, [&](const std::string& k, const toml::node& v) {
    if (k == "command") c.build_command = r.str(v, "build", k);
    if (k == "timeout") c.build_timeout_s = r.num(v, "build", k);
  });
  auto& b = c.bench;
  r.each(doc, "bench",
         {"command", "metric", "metric_json", "unit", "runs", "warmup", "timeout", "target", "target_speedup",
          "baseline"},
         [&](const std::string& k, const toml::node& v) {
           if (k == "command") b.command = r.str(v, "bench", k);
           if (k == "metric") b.metric = r.str(v, "bench", k);
           if (k == "metric_json") b.metric_json = r.str(v, "bench", k);
           if (k == "unit") b.unit = r.str(v, "bench", k);
           if (k == "baseline") b.baseline = r.str(v, "bench", k);
           if (k == "runs") b.runs = r.count(v, "bench", k);
           if (k == "warmup") {
             auto x = v.value<int64_t>();
             if (!x || *x < 0) r.wrong(v, "bench", k, "a whole number of at least 0");
             b.warmup = static_cast<int>(*x);
           }
           if (k == "timeout") b.timeout_s = r.num(v, "bench", k);
           if (k == "target") b.target = r.num(v, "bench", k);
           if (k == "target_speedup") b.target_speedup = r.num(v, "bench", k);
         });
  auto& o = c.optimize;
  r.each(doc, "optimize",
         {"max_iterations", "min_gain", "output", "reference", "rtol", "atol", "recipes", "recipe_dirs"},
         [&](const std::string& k, const toml::node& v) {
           if (k == "max_iterations") o.max_iterations = r.count(v, "optimize", k);
           if (k == "min_gain") o.min_gain = r.num(v, "optimize", k);
           if (k == "output") o.output = r.str(v, "optimize", k);
           if (k == "reference") o.reference = r.str(v, "optimize", k);
           if (k == "rtol") o.rtol = r.num(v, "optimize", k);
           if (k == "atol") o.atol = r.num(v, "optimize", k);
           if (k == "recipes") o.recipes = r.list(v, "optimize", k);
           if (k == "recipe_dirs") o.recipe_dirs = r.list(v, "optimize", k);
         });
  r.each(doc, "remote", {"host", "ssh_args", "dir"}, [&](const std::string& k, const toml::node& v) {
    if (k == "host") c.remote.host = r.str(v, "remote", k);
    if (k == "ssh_args") c.remote.ssh_args = r.list(v, "remote", k);
    if (k == "dir") c.remote.dir = r.str(v, "remote", k);
  });
  if (const auto* agent = doc.get("agent"); agent && agent->as_table()) {
    if (const auto* cmds = agent->as_table()->get("commands"))
      c.allowed_commands = r.list(*cmds, "agent", "commands");
  }
  return c;
}

}  // namespace kcat::cli
