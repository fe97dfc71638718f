// kcat trust [PATH]: the user trusts a repository's kcat.toml, as it is now (docs/ci.md "Trust").
#include <fmt/format.h>
#include <toml++/toml.h>

#include <filesystem>
#include <iostream>

#include "kcat/cli/command.h"
#include "kcat/config/config.h"
#include "kcat/core/error.h"
#include "kcat/patch/git.h"

namespace kcat::cli {
namespace {

namespace fs = std::filesystem;

void setup(CLI::App& root, Globals& g) {
  auto path = std::make_shared<std::string>(".");
  auto* cmd = root.add_subcommand(
      "trust",
      "Trust the repository's kcat.toml as it is now: its [hooks], [build], [bench], [llm], [remote] and "
      "[agent] are used until the file changes (review it first; CI: --trust-repo-config HASH)");
  add_repo_option(cmd, *path, true, "The repository, or its kcat.toml (default: .)");
  cmd->callback([path, &g] {
    std::error_code ec;
    fs::path file = *path;
    if (fs::is_directory(file, ec)) {
      auto dir = fs::canonical(file);
      try {
        dir = fs::canonical(patch::GitRepo::open(dir).workdir());
      } catch (const Error&) {
        // not a git repository: the folder itself
      }
      file = dir / "kcat.toml";
    }
    if (!fs::is_regular_file(file, ec)) {
      throw Error(ErrorKind::Usage, "no kcat.toml to trust", file.string(),
                  "give the repository or the file: kcat trust PATH");
    }
    // Checked before it is trusted: a file that would fail every run is not recorded.
    if (file.filename() == "kcat.toml") {
      set_config_policy({g.ci, config_hash(file)});
      load_config(file.parent_path(), "");
    } else {
      load_config({}, file.string());
    }
    auto hash = trust_config_file(file);
    std::string sections;
    for (const auto& [k, v] : toml::parse_file(file.string())) {
      sections += (sections.empty() ? "[" : ", [") + std::string(k.str()) + "]";
    }
    std::cout << fmt::format(
        "trusted {} ({})\n  its {} will be used until it changes; in CI pass "
        "--trust-repo-config {}\n",
        file.string(), hash, sections.empty() ? "settings" : sections, hash);
    g.exit_code = 0;
  });
}

}  // namespace

KCAT_COMMAND(setup, 85);

}  // namespace kcat::cli
