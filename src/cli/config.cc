#include "kcat/cli/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <cstdlib>
#include <set>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::cli {

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
             home && std::filesystem::is_regular_file(std::filesystem::path(home) / ".config/kcat/kcat.toml", ec)) {
    c.file = std::filesystem::path(home) / ".config/kcat/kcat.toml";
  }
  if (c.file.empty()) return c;
  auto doc = kb::parse_toml_file(c.file, "see docs/ci.md for kcat.toml");
  static const std::set<std::string> known = {"after_edit", "after_build", "after_bench", "before_commit"};
  if (auto* hooks = doc["hooks"].as_table()) {
    for (auto& [k, v] : *hooks) {
      std::string name(k.str());
      if (!known.count(name)) {
        throw Error(ErrorKind::Usage, "unknown hook '" + name + "'",
                    fmt::format("{}:{}", c.file.string(), v.source().begin.line),
                    "hooks are after_edit, after_build, after_bench, before_commit");
      }
      auto cmd = v.value<std::string>();
      if (!cmd) {
        throw Error(ErrorKind::Usage, "hook '" + name + "' must be a command string",
                    fmt::format("{}:{}", c.file.string(), v.source().begin.line));
      }
      c.hooks[name] = *cmd;
    }
  }
  return c;
}

}  // namespace kcat::cli
