#include "kcat/config/hooks.h"

#include <fmt/format.h>

#include <cstdio>

#include "kcat/exec/process.h"

namespace kcat::cli {

std::optional<std::string> run_hook(const Config& config, const std::string& stage,
                                    const std::filesystem::path& root, std::map<std::string, std::string> env,
                                    report::Ledger* ledger) {
  auto it = config.hooks.find(stage);
  if (it == config.hooks.end()) return std::nullopt;
  env["KCAT_STAGE"] = stage;
  exec::Command c;
  c.shell = it->second;
  c.cwd = root;
  c.env = env;
  c.timeout = std::chrono::minutes(10);
  auto res = exec::local_runner()->run(c);
  auto output = res.out + res.err;
  if (ledger) {
    ledger->append("hook", {{"stage", stage},
                            {"step", env["KCAT_STEP"]},
                            {"command", it->second},
                            {"result", res.describe()},
                            {"output", output}});
  }
  if (res.exit_code == 2 && !res.timed_out) {
    return fmt::format("vetoed by the {} hook `{}`: {}", stage, it->second,
                       output.empty() ? "(no output)" : output);
  }
  if (!res.ok()) {
    std::fprintf(stderr, "kcat: warning: %s hook `%s` %s (only exit 2 vetoes):\n%s", stage.c_str(),
                 it->second.c_str(), res.describe().c_str(), output.c_str());
  }
  return std::nullopt;
}

}  // namespace kcat::cli
