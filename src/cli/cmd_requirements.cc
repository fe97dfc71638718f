// kcat requirements PATH: pins for the target that are consistent with a CANN version, and proof
// that pip's resolver accepts them.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "kcat/cli/command.h"
#include "kcat/config/common.h"
#include "kcat/core/fs.h"
#include "kcat/core/json.h"
#include "kcat/env/requirements.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/route.h"
#include "kcat/kb/target.h"
#include "kcat/plan/plan.h"
#include "kcat/scan/scanner.h"

namespace kcat::cli {
namespace {

struct ReqCmd {
  std::string path = ".";
  std::string target = "ascend-a2";
  std::string cann;
  std::string route;
  bool write = false;
  bool check = false;
  bool allow_repo_indexes = false;
  std::string index;
  std::string python = "python3";
  std::string format = "text";
};

int run(const ReqCmd& o, const Globals& g) {
  auto matrix = kb::VersionMatrix::load(kb::default_data_dir());
  env::SolveOptions so;
  so.cann = o.cann;
  so.allow_repo_indexes = o.allow_repo_indexes;
  // The plan's route for the repository (the same choice `kcat plan` makes), when one fits and
  // agrees with --cann.
  auto route = plan::stack_route(o.path, kb::load_routes(kb::default_data_dir() / "routes"), o.route,
                                 o.cann.empty() ? "" : kb::release_of(o.cann));
  if (auto r = route) {
    so.vllm_ascend = r->stack.at("vllm_ascend");
    so.route = r->id;
  }
  if (!g.ci && ::isatty(0) && ::isatty(2) && o.format == "text") {
    so.ask = [](const std::string& q) {
      std::cerr << q << " [y/N] " << std::flush;
      std::string a;
      if (!std::getline(std::cin, a)) return false;
      return a == "y" || a == "Y" || a == "yes";
    };
  }
  // The same file migrate writes: with triton-ascend where Triton kernels stay in the code and the
  // target runs it (its `triton`, patches/targets).
  const bool triton = kb::find_target(kb::load_targets(kb::default_data_dir()), o.target).triton;
  scan::ScanOptions scan_options;
  scan_options.root = o.path;
  auto found = scan::scan(scan_options, load_rule_catalog({})).findings;
  so.triton_kernels = triton && env::has_triton_kernels(found);
  auto s = env::solve(o.path, so, matrix);
  std::optional<env::CheckResult> chk;
  auto out = std::filesystem::path(o.path) / "requirements-ascend.txt";
  const auto text = env::render_file(s);
  if (o.write) write_file_atomic(out, text);  // --check then reads the file it names
  if (o.check) {
    auto tmp = o.write ? out
                       : std::filesystem::temp_directory_path() /
                             ("kcat-req-" + std::to_string(::getpid()) + ".txt");
    if (!o.write) write_file_atomic(tmp, text);
    chk = env::check(tmp, o.index, o.python);
    if (!o.write) std::filesystem::remove(tmp);
  }
  if (o.format == "json") {
    nlohmann::json j = {{"cann", s.cann},        {"torch", s.torch}, {"torch_npu", s.torch_npu},
                        {"python", s.python},    {"lines", s.lines}, {"read", s.read},
                        {"why", s.stack_reason}, {"notes", s.notes}};
    if (s.vllm_ascend) j["vllm_ascend"] = s.vllm_ascend->vllm_ascend, j["vllm"] = s.vllm_ascend->vllm;
    for (auto& d : s.dropped)
      j["dropped"].push_back({{"what", d.what}, {"file", d.file}, {"replacement", d.replacement}});
    for (auto& c : s.conflicts)
      j["conflicts"].push_back({{"what", c.what}, {"explanation", c.explanation}, {"source", c.source}});
    j["resolved"] = nlohmann::json::array();
    for (auto& c : s.resolved)
      j["resolved"].push_back({{"what", c.what}, {"explanation", c.explanation}, {"source", c.source}});
    j["refused"] = nlohmann::json::array();
    for (auto& r : s.refused) j["refused"].push_back({{"what", r.what}, {"where", r.where}});
    if (chk) {
      j["check"] = {{"ran", chk->ran},
                    {"resolved", chk->resolved},
                    {"command", chk->command},
                    {"conflicts", chk->conflicts}};
      for (auto& [n, v] : chk->installs) j["check"]["installs"].push_back({{"name", n}, {"version", v}});
    }
    std::cout << json_text(j, 2) << "\n";
  } else {
    std::cout << env::render_summary(s);
  }
  if (o.write) {
    std::cerr << "kcat: wrote " << out.string() << "\n";
  } else if (o.format == "text") {
    std::cout << "\n" << text << "(not written; --write writes requirements-ascend.txt)\n";
  }
  for (auto& r : s.refused)
    std::cerr
        << "kcat: refused `" << r.what << "` from " << r.where
        << ": package indexes, trusted hosts, VCS URLs and editable installs from the repository are kept "
           "only with --allow-repo-indexes\n";
  if (chk) {
    if (o.format == "text") {
      if (chk->resolved) {
        std::cout << "check: pip resolved " << chk->installs.size() << " packages:";
        for (auto& [n, v] : chk->installs) std::cout << " " << n << "==" << v;
        std::cout << "\n  (" << chk->command << ")\n";
      } else {
        std::cout << "check: pip could not resolve requirements-ascend.txt"
                  << (chk->ran ? "" : " (pip did not run)") << ":\n";
        for (auto& c : chk->conflicts) std::cout << "  " << c << "\n";
        std::cout << "  (" << chk->command << ")\n";
      }
    }
    if (!chk->resolved) {
      std::cerr << "kcat: pip's resolver rejects the requirements:";
      for (auto& c : chk->conflicts) std::cerr << "\n  " << c;
      std::cerr << "\n";
      return 1;
    }
  }
  return s.conflicts.empty() ? 0 : 1;
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<ReqCmd>();
  auto* cmd = root.add_subcommand("requirements",
                                  "Pins for Ascend consistent with a CANN version: CUDA-only packages "
                                  "dropped, torch / torch-npu / vllm-ascend pinned, families co-pinned, "
                                  "conflicts explained, and (--check) proved by pip's resolver");
  cmd->footer(
      "Reads requirements*.txt / constraints*.txt (with -r / -c), pyproject.toml, setup.py (never run),\n"
      "setup.cfg, environment.yml, and `pip install` commands in Dockerfiles, *.sh and README code blocks.\n"
      "The stack: --cann, else the plan's route for the repository, else the project's vLLM, else the\n"
      "plan's default CANN (patches/versions/default.toml).\n"
      "Package indexes, --trusted-host, VCS URLs and -e entries from the repository are kept only with\n"
      "--allow-repo-indexes (or a yes at the prompt); otherwise they are refused, naming file and line.\n"
      "Exit: 0 consistent (and resolved, with --check), 1 conflicts a person must resolve or pip's\n"
      "resolver rejects the pins (listed), 2 usage (e.g. an unknown CANN).\n"
      "Example: kcat requirements . --cann 8.5.1 --write --check");
  add_repo_option(cmd, o->path);
  cmd->add_option("-t,--target", o->target, "Target profile")->capture_default_str();
  cmd->add_option(
      "--cann", o->cann,
      "CANN version of the host (default: the plan's route, the project's vLLM, else the plan's default)");
  cmd->add_option("--route", o->route, "A route of patches/routes (as `kcat plan --route`)");
  cmd->add_flag("--write", o->write, "Write requirements-ascend.txt next to the project's requirements");
  cmd->add_flag("--check", o->check,
                "Prove it: run pip's resolver (pip install --dry-run --report) on the result");
  cmd->add_option("--index", o->index,
                  "For --check: a directory of wheels (offline: --no-index --find-links) or an index URL");
  cmd->add_option("--python", o->python, "For --check: the Python whose pip resolves (default: python3)")
      ->capture_default_str();
  cmd->add_flag("--allow-repo-indexes", o->allow_repo_indexes,
                "Keep package indexes, trusted hosts, VCS URLs and -e entries the repository's files name");
  cmd->add_option("-f,--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([o, &g] { g.exit_code = run(*o, g); });
}

}  // namespace

KCAT_COMMAND(setup, 45);

}  // namespace kcat::cli
