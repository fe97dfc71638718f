// kcat scan PATH: every place that ties the repository to CUDA / NVIDIA, with what to do there.
#include <chrono>
#include <iostream>
#include <vector>

#include "kcat/cli/command.h"
#include "kcat/config/common.h"
#include "kcat/core/events.h"
#include "kcat/core/fs.h"
#include "kcat/core/text.h"
#include "kcat/plan/plan.h"
#include "kcat/scan/output.h"
#include "kcat/scan/scanner.h"

namespace kcat::cli {
namespace {

struct ScanCmd {
  std::vector<std::string> paths;  // none: the repository at -C (default .)
  std::string dir;                 // -C PATH
  std::string format = "table";
  std::string output;
  unsigned jobs = 0;
  bool no_cache = false;
  bool show_info = false;
  bool exit_zero = false;
  uint64_t max_file_size = 5ull << 20;
  std::vector<std::string> rules;
  scan::SiteFilter filter;
};

std::string render(const ScanCmd& o, const Globals& g, const scan::ScanResult& result,
                   const kb::RuleSet& rules) {
  auto a = plan::account(result.findings);
  if (o.format == "json")
    return scan::render_json(result, {{"left", a.left}, {"notes", a.notes}, {"kept", a.kept}});
  if (o.format == "sarif") return scan::render_sarif(result, rules, KCAT_VERSION);
  if (o.format == "markdown") return scan::render_markdown(result);
  // Cut to the terminal's width only on a terminal: a file or a pipe gets whole lines.
  return scan::render_table(result, o.output.empty() && g.use_color(1),
                            o.output.empty() ? terminal_width(1) : 0) +
         "sites: " + plan::account_line(a) + "\n";
}

// What to scan: the repository (no path, or one folder: scanned as the root, as always), or
// some of its files and folders (`kcat scan a.py b/`): the repository they are in, walked as a
// whole (.gitignore, its cache) and kept to those paths; a named file is scanned even if ignored.
void choose_paths(const ScanCmd& o, scan::ScanOptions& so) {
  namespace fs = std::filesystem;
  fs::path base = o.dir.empty() ? fs::path(".") : fs::path(o.dir);
  std::error_code ec;
  if (o.paths.empty() || (o.paths.size() == 1 && fs::is_directory(base / o.paths[0], ec))) {
    so.root = o.paths.empty() ? base : base / o.paths[0];
    return;
  }
  for (auto& p : o.paths) {
    if (!fs::exists(base / p, ec))
      throw Error(ErrorKind::Usage, "no such file or folder", (base / p).string(),
                  "give the repository, or files and folders in it: kcat scan [PATH...]");
  }
  so.root = scan::repository_root_of(base / o.paths[0]);
  for (auto& p : o.paths) {
    auto rel = fs::canonical(base / p).lexically_relative(so.root).generic_string();
    if (rel.empty() || rel.starts_with("..")) {
      throw Error(ErrorKind::Usage, "not in the repository of " + o.paths[0] + " (" + so.root.string() + ")",
                  (base / p).string(), "scan each repository with its own `kcat scan`");
    }
    (fs::is_directory(base / p, ec) ? so.within : so.only_files).push_back(rel == "." ? "" : rel);
  }
}

int run(const ScanCmd& o, const Globals& g) {
  auto t0 = std::chrono::steady_clock::now();
  auto rules = load_rule_catalog(o.rules);
  scan::ScanOptions so;
  choose_paths(o, so);
  so.filter = o.filter;
  so.jobs = o.jobs;
  so.use_cache = !o.no_cache;
  so.max_file_size = o.max_file_size;
  so.include_info = o.show_info;
  events::emit("scan-started", {{"root", so.root.string()}});

  auto kb = load_knowledge_base();
  auto result = scan::scan(so, rules);
  kb.annotate(result.findings);
  // Routed as the plan, migrate's report and status route them: an own-package import is a note.
  result.findings = plan::route_all(std::move(result.findings), scan::repository_root_of(so.root));
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
      "  kcat scan model.py ops/                  only these files and folders of the repository\n"
      "  kcat scan . --format sarif -o kcat.sarif for GitHub code scanning\n"
      "  kcat scan . --format json --exit-zero    for a reporting job\n\n"
      "Exit: 0 nothing blocking, 1 blocking findings, 2 usage error.");
  cmd->add_option("path", o->paths,
                  "The repository or folder to scan (default: .), or files and folders of one")
      ->type_name("PATH");
  cmd->add_option("-C", o->dir, "The repository, as git -C (PATHs are then relative to it)")
      ->type_name("PATH");
  cmd->add_option("-f,--format", o->format, "table, json, sarif or markdown")
      ->check(CLI::IsMember({"table", "json", "sarif", "markdown"}));
  cmd->add_option("-o,--output", o->output, "Write to FILE instead of standard output");
  cmd->add_option("-j,--jobs", o->jobs, "Parallel parsers (default: all cores)");
  cmd->add_flag("--no-cache", o->no_cache, "Parse every file again (ignore the cache in ~/.cache/kcat)");
  cmd->add_flag("--show-info", o->show_info, "Also list mentions in comments, docstrings and messages");
  cmd->add_flag("--exit-zero", o->exit_zero, "Exit 0 even when blocking findings are found");
  cmd->add_option("--max-file-size", o->max_file_size,
                  "Skip files larger than this many bytes (default 5 MiB)");
  add_filter_options(cmd, o->filter);
  cmd->add_option("--rules", o->rules,
                  "Extra rule file (TOML, repeatable); a rule with a built-in id replaces it");
  cmd->callback([o, &g] { g.exit_code = run(*o, g); });
}

}  // namespace

KCAT_COMMAND(setup, 10);

}  // namespace kcat::cli
