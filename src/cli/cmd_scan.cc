// kcat scan PATH: every place that ties the repository to CUDA / NVIDIA, with what to do there.
#include <chrono>
#include <iostream>
#include <vector>

#include "kcat/cli/command.h"
#include "kcat/config/common.h"
#include "kcat/core/events.h"
#include "kcat/core/fs.h"
#include "kcat/scan/output.h"
#include "kcat/scan/scanner.h"

namespace kcat::cli {
namespace {

struct ScanCmd {
  std::string path = ".";
  std::string format = "table";
  std::string output;
  unsigned jobs = 0;
  bool no_cache = false;
  bool show_info = false;
  bool exit_zero = false;
  uint64_t max_file_size = 5ull << 20;
  std::vector<std::string> rules;
};

std::string render(const ScanCmd& o, const Globals& g, const scan::ScanResult& result,
                   const kb::RuleSet& rules) {
  if (o.format == "json") return scan::render_json(result);
  if (o.format == "sarif") return scan::render_sarif(result, rules, KCAT_VERSION);
  if (o.format == "markdown") return scan::render_markdown(result);
  return scan::render_table(result, o.output.empty() && g.use_color(1));
}

int run(const ScanCmd& o, const Globals& g) {
  auto t0 = std::chrono::steady_clock::now();
  auto rules = load_rule_catalog(o.rules);
  scan::ScanOptions so;
  so.root = o.path;
  so.jobs = o.jobs;
  so.use_cache = !o.no_cache;
  so.max_file_size = o.max_file_size;
  so.include_info = o.show_info;
  events::emit("scan-started", {{"root", o.path}});

  auto kb = load_knowledge_base();
  auto result = scan::scan(so, rules);
  kb.annotate(result.findings);
  size_t blocking = 0;
  for (auto& f : result.findings) blocking += f.severity == Severity::Blocking;
  auto text = render(o, g, result, rules);
  if (o.output.empty() || o.output == "-") {
    std::cout << text;
  } else {
    write_output(o.output, text);
    std::cerr << "kcat: wrote " << o.format << " to " << o.output << "\n";
  }
  events::emit("scan-finished",
               {{"findings", result.findings.size()},
                {"blocking", blocking},
                {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  return blocking && !o.exit_zero ? 1 : 0;
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<ScanCmd>();
  auto* cmd = root.add_subcommand("scan",
                                  "Find every place that ties a repository to CUDA / NVIDIA, with file:line "
                                  "and what to do on Ascend");
  cmd->footer(
      "Scans Python (.py, .pyi, notebooks), C++/CUDA, requirements and constraints, pyproject.toml,\n"
      "environment.yml, CMake, Dockerfiles and shell scripts; honours .gitignore; skips vendored and\n"
      "build folders, binary files and symlinks that leave the repository.\n\n"
      "Examples:\n"
      "  kcat scan .                              a table grouped by file\n"
      "  kcat scan . --format sarif -o kcat.sarif for GitHub code scanning\n"
      "  kcat scan . --format json --exit-zero    for a reporting job\n\n"
      "Exit: 0 nothing blocking, 1 blocking findings, 2 usage error.");
  cmd->add_option("path", o->path, "Repository or folder to scan (default: .)");
  cmd->add_option("-f,--format", o->format, "table, json, sarif or markdown")
      ->check(CLI::IsMember({"table", "json", "sarif", "markdown"}));
  cmd->add_option("-o,--output", o->output, "Write to FILE instead of standard output");
  cmd->add_option("-j,--jobs", o->jobs, "Parallel parsers (default: all cores)");
  cmd->add_flag("--no-cache", o->no_cache, "Parse every file again (ignore .kcat/cache)");
  cmd->add_flag("--show-info", o->show_info, "Also list mentions in comments, docstrings and messages");
  cmd->add_flag("--exit-zero", o->exit_zero, "Exit 0 even when blocking findings are found");
  cmd->add_option("--max-file-size", o->max_file_size,
                  "Skip files larger than this many bytes (default 5 MiB)");
  cmd->add_option("--rules", o->rules,
                  "Extra rule file (TOML, repeatable); a rule with a built-in id replaces it");
  cmd->callback([o, &g] { g.exit_code = run(*o, g); });
}

}  // namespace

KCAT_COMMAND(setup, 10);

}  // namespace kcat::cli
