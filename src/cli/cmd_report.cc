// kcat report [RUN]: render a run's report.json as Markdown, JSON, JUnit XML or HTML.
#include <fmt/format.h>

#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "kcat/cli/command.h"
#include "kcat/core/fs.h"
#include "kcat/core/text.h"
#include "kcat/report/ledger.h"
#include "kcat/report/run_report.h"
#include "kcat/report/runs.h"
#include "kcat/report/terminal.h"

namespace kcat::cli {
namespace {

struct ReportOptions {
  std::string run;
  std::string repo = ".";
  std::string format = "markdown";
  std::string output;
};

// The run to report: the one named, or the latest with a report. A finished run without one (a
// request in the session made by a kcat before requests wrote their report) is passed over;
// an unfinished one is not, so an interrupted migration is said to be one.
std::filesystem::path chosen_run(const ReportOptions& o) {
  auto dir = report::run_dir(o.repo, o.run);
  if (!o.run.empty()) return dir;
  auto ids = report::list_runs(o.repo);
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    auto d = dir.parent_path() / *it;
    std::error_code ec;
    if (fs::exists(d / "report.json", ec)) return d;
    bool finished = false;
    for (auto& e : report::Ledger::read(d / "ledger.jsonl"))
      finished |= e.value("type", "") == "run-finished";
    if (!finished) return d;
  }
  return dir;
}

void run_report(const ReportOptions& o) {
  auto dir = chosen_run(o);
  auto file = dir / "report.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    throw Error(ErrorKind::Usage, "this run has no report.json (was it interrupted?)", file.string(),
                "finish it with `kcat migrate --resume`, or pick another run with `kcat report RUN`");
  }
  report::RunReport r;
  try {
    r = nlohmann::json::parse(read_file(file)).get<report::RunReport>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Parse, std::string("report.json is not a kcat report: ") + e.what(), file.string(),
                "it may have been edited by hand; re-run `kcat migrate --resume` to write it again");
  }
  std::string text;
  if (o.format == "markdown")
    text = report::render_markdown(r);
  else if (o.format == "json")
    text = report::render_json(r);
  else if (o.format == "junit")
    text = report::render_junit(r);
  else
    text = report::render_html(r);
  if (o.output.empty() || o.output == "-") {
    // On a terminal, Markdown is rendered for reading (aligned columns, cut at its width); a
    // pipe or a file gets the Markdown itself.
    if (o.format == "markdown" && ::isatty(1)) text = report::markdown_for_terminal(text, terminal_width(1));
    std::cout << text;
  } else {
    write_output(o.output, text);
    std::cerr << fmt::format("kcat: wrote {} report of run {} to {}\n", o.format, dir.filename().string(),
                             o.output);
  }
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = root.add_subcommand("report",
                                  "Render the report of a run (default: the latest) as Markdown, JSON, "
                                  "JUnit XML or one self-contained HTML file");
  cmd->footer(
      "Examples:\n"
      "  kcat report                          the latest run, as Markdown\n"
      "  kcat report --format html -o r.html  totals, steps by phase with diffs, sites by file\n"
      "  kcat report 20261124 --format junit  one test case per verification and bench check");
  cmd->add_option("run", o->run, "Run id or a unique prefix of one (default: the latest)");
  add_repo_option(cmd, o->repo, false);
  cmd->add_option("-f,--format", o->format, "markdown, json, junit or html")
      ->check(CLI::IsMember({"markdown", "json", "junit", "html"}));
  cmd->add_option("-o,--output", o->output, "Write to FILE instead of standard output");
  cmd->callback([o, &g] {
    run_report(*o);
    g.exit_code = 0;
  });
}

}  // namespace

KCAT_COMMAND(setup, 80);

}  // namespace kcat::cli
