#include "kcat/env/harness.h"

#include <iostream>

#include "kcat/core/error.h"
#include "kcat/exec/shell_quote.h"
#include "kcat/kb/data_dir.h"

namespace kcat::env {

std::filesystem::path harness_dir() {
  auto data = kb::default_data_dir();
  for (auto d : {data.parent_path() / "harness", data.parent_path() / "tools" / "bench"}) {
    if (std::filesystem::is_regular_file(d / "harness_common.py")) return d;
  }
  return {};
}

std::string send_harnesses(exec::Runner& host, const std::string& dir) {
  auto local = harness_dir();
  if (local.empty()) {
    std::cerr
        << "kcat: no bench harnesses beside the knowledge base here; $KCAT_HARNESS is not set on the host\n";
    return "";
  }
  exec::Command pack;
  pack.argv = {"tar", "-C", local.string(), "-cf", "-"};
  for (const auto& e : std::filesystem::directory_iterator(local)) {
    auto name = e.path().filename().string();
    if (e.is_regular_file() && name.rfind("test_", 0) != 0) pack.argv.push_back(name);
  }
  pack.output_cap = 64 << 20;
  pack.timeout = std::chrono::seconds(60);
  auto tar = exec::local_runner()->run(pack);
  exec::Command unpack;
  unpack.shell = "mkdir -p " + exec::shell_quote(dir) + " && tar -C " + exec::shell_quote(dir) + " -xf -";
  unpack.input = exec::Input::data;
  unpack.input_data = tar.out;
  unpack.timeout = std::chrono::seconds(120);
  auto out = tar.ok() ? host.run(unpack) : tar;
  if (!out.ok()) {
    throw Error(ErrorKind::Environment, "could not send the bench harnesses to the host: " + out.describe(),
                dir, "check that tar is installed here and on the host, and that " + dir + " is writable");
  }
  return dir;
}

}  // namespace kcat::env
