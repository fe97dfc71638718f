// kcat requirements PATH: pins for the target that are consistent with a CANN version.
#include <iostream>
#include <nlohmann/json.hpp>

#include "kcat/cli/command.h"
#include "kcat/core/fs.h"
#include "kcat/core/json.h"
#include "kcat/env/requirements.h"
#include "kcat/kb/data_dir.h"

namespace kcat::cli {
namespace {

struct ReqCmd {
  std::string path = ".";
  std::string target = "ascend-a2";
  std::string cann;
  bool write = false;
  std::string format = "text";
};

int run(const ReqCmd& o) {
  auto s = env::solve(o.path, o.cann, kb::VersionMatrix::load(kb::default_data_dir()));
  if (o.format == "json") {
    nlohmann::json j = {{"cann", s.cann},     {"torch", s.torch}, {"torch_npu", s.torch_npu},
                        {"python", s.python}, {"lines", s.lines}, {"read", s.read}};
    if (s.vllm_ascend) j["vllm_ascend"] = s.vllm_ascend->vllm_ascend, j["vllm"] = s.vllm_ascend->vllm;
    for (auto& d : s.dropped)
      j["dropped"].push_back({{"what", d.what}, {"file", d.file}, {"replacement", d.replacement}});
    for (auto& c : s.conflicts)
      j["conflicts"].push_back({{"what", c.what}, {"explanation", c.explanation}, {"source", c.source}});
    j["resolved"] = nlohmann::json::array();
    for (auto& c : s.resolved)
      j["resolved"].push_back({{"what", c.what}, {"explanation", c.explanation}, {"source", c.source}});
    std::cout << json_text(j, 2) << "\n";
  } else {
    std::cout << env::render_summary(s);
  }
  if (o.write) {
    auto out = std::filesystem::path(o.path) / "requirements-ascend.txt";
    write_file_atomic(out, env::render_file(s));
    std::cerr << "kcat: wrote " << out.string() << "\n";
  } else if (o.format == "text") {
    std::cout << "\n" << env::render_file(s) << "(not written; --write writes requirements-ascend.txt)\n";
  }
  return s.conflicts.empty() ? 0 : 1;
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<ReqCmd>();
  auto* cmd = root.add_subcommand("requirements",
                                  "Pins for Ascend consistent with a CANN version: CUDA-only packages "
                                  "dropped, torch / torch-npu / vllm-ascend pinned, conflicts explained");
  cmd->footer(
      "Reads requirements*.txt (with -r), constraints*.txt, and `pip install` lines in README.md and *.sh.\n"
      "Exit: 0 consistent, 1 conflicts a person must resolve (listed), 2 usage (e.g. an unknown CANN).\n"
      "Example: kcat requirements . --cann 8.1.RC1 --write");
  cmd->add_option("path", o->path, "The repository (default: .)");
  cmd->add_option("-t,--target", o->target, "Target profile")->capture_default_str();
  cmd->add_option("--cann", o->cann,
                  "CANN version of the host (default: from the project's vLLM, else the newest)");
  cmd->add_flag("--write", o->write, "Write requirements-ascend.txt next to the project's requirements");
  cmd->add_option("-f,--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([o, &g] { g.exit_code = run(*o); });
}

}  // namespace

KCAT_COMMAND(setup, 45);

}  // namespace kcat::cli
