// kcat optimize [PATH]: the closed loop on the migration branch — apply a performance recipe,
// build, bench, keep it when it helps beyond the noise, revert it when not — until the target.
#include <fmt/format.h>

#include <iostream>

#include "kcat/bench/profile.h"
#include "kcat/cli/command.h"
#include "kcat/config/common.h"
#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"
#include "kcat/core/fs.h"
#include "kcat/core/json.h"
#include "kcat/kb/data_dir.h"
#include "kcat/migrate/optimize_phase.h"
#include "kcat/migrate/recover.h"
#include "kcat/report/runs.h"
#include "kcat/scan/scanner.h"

namespace kcat::cli {
namespace {

struct OptimizeCmd {
  std::filesystem::path path = ".";
  std::string target = "ascend-a2";
  std::string branch;
  migrate::OptimizeOverrides ov;
  bool list = false;
  std::string profile;  // op_statistic.csv of the torch_npu profiler
  std::string log;      // a run's log, for torch_npu's CPU-fallback warnings
};

int list_recipes(const std::filesystem::path& root, const Config& config) {
  auto recipes = migrate::load_recipe_set(root, config);
  std::cout << fmt::format("{:<34} {:<12} {:>6}  {}\n", "recipe", "kind", "gain", "title");
  for (const char* kind : {"performance", "port", "agent"}) {
    for (const auto* r : recipes.by_gain(kind)) {
      // An agent recipe (a task for the LLM agent) has no gain of its own to show.
      auto gain = r->kind == "agent" ? std::string("-") : fmt::format("{:.2f}x", r->expected_gain);
      std::cout << fmt::format("{:<34} {:<12} {:>6}  {}\n", r->id, r->kind, gain, r->title);
    }
  }
  return 0;
}

int run(const OptimizeCmd& c, Globals& g) {
  std::error_code ec;
  if (!std::filesystem::is_directory(c.path, ec)) {
    throw Error(ErrorKind::Usage, "not a directory", c.path.string(),
                "give the path of the repository to optimize");
  }
  auto repo = patch::GitRepo::open(std::filesystem::canonical(c.path));
  auto root = std::filesystem::canonical(repo.workdir());
  auto config = load_config(root, g.config);
  if (c.list) return list_recipes(root, config);
  // One kcat at a time changes the repository; an earlier one cut off is put back first. Ctrl-C
  // and SIGTERM stop the loop after the iteration in progress (kept or reverted), with the bench's
  // whole process tree.
  auto lock = migrate::lock_and_recover(root);
  cancel::install_termination_handler();
  auto dirty = repo.dirty_files();
  if (!dirty.empty()) {
    throw Error(ErrorKind::Environment,
                "uncommitted changes in tracked files: " + dirty.front() +
                    (dirty.size() > 1 ? fmt::format(" and {} more", dirty.size() - 1) : ""),
                root.string(),
                "the loop commits and reverts on the migration branch: commit or stash your work first");
  }
  if (!migrate::optimize_configured(config, c.ov)) {
    throw Error(
        ErrorKind::Usage, "no benchmark command: the optimize loop needs a number to improve",
        config.file.empty() ? root.string() : config.file.string(),
        "add [bench] command and metric to kcat.toml, or pass --bench-cmd and --metric (docs/optimize.md)");
  }
  auto ov = c.ov;
  ov.progress = [](const std::string& line) { std::cerr << line; };
  if (!c.profile.empty() || !c.log.empty()) {
    bench::Profile prof;
    if (!c.profile.empty()) prof = bench::parse_op_statistic(c.profile);
    std::vector<bench::CpuFallback> fallbacks;
    if (!c.log.empty()) fallbacks = bench::find_cpu_fallbacks(read_file(c.log));
    auto summary = bench::summarize(prof, fallbacks);
    ov.profile_text = bench::render_text(summary);
    std::cerr << ov.profile_text;
    auto recipes = migrate::load_recipe_set(root, config);
    auto prefer = optimize::prefer_from_profile(summary, recipes);
    if (!prefer.empty())
      std::cerr << "  the profile puts these recipes first: " << fmt::format("{}", fmt::join(prefer, ", "))
                << "\n";
    ov.prefer.insert(ov.prefer.begin(), prefer.begin(), prefer.end());
  }
  auto branch = c.branch.empty() ? "kcat/" + c.target : c.branch;
  auto from = repo.current_branch();
  if (from != branch) repo.checkout_new_or_existing(branch);
  write_file_atomic(root / ".kcat" / ".gitignore", "*\n");

  auto run_id = report::make_run_id();
  auto run_dir = root / ".kcat" / "runs" / run_id;
  report::Ledger ledger(run_dir / "ledger.jsonl");
  ledger.append("run-started", {{"command", "optimize"},
                                {"repo", root.string()},
                                {"target", c.target},
                                {"branch", branch},
                                {"base", repo.head_id()},
                                {"from_branch", from}});
  events::emit("optimize-started", {{"run", run_id}, {"branch", branch}});

  // Findings decide which recipes apply (when_findings).
  auto rules = load_rule_catalog({});
  scan::ScanOptions so;
  so.root = root;
  auto findings = scan::scan(so, rules).findings;

  report::RunReport rep;
  rep.run_id = run_id;
  rep.repo = root.filename().string();
  rep.target = c.target;
  rep.branch = branch;
  rep.base_commit = repo.head_id();
  std::cerr << fmt::format("kcat optimize: {} on {}\n", rep.repo, branch);
  const std::string resume = "kcat optimize " + c.path.string();
  optimize::Outcome out;
  try {
    out = migrate::optimize_phase(repo, config, ov, findings, run_id, ledger, rep);
  } catch (const cancel::Interrupted& e) {
    // Stopped before the loop had a baseline: no change was made yet.
    ledger.append("run-interrupted", {{"signal", e.signal()}, {"detail", e.what()}});
    std::cerr << fmt::format("kcat: interrupted by {}: {}\n  continue: {}\n", e.signal_name(), e.what(),
                             resume);
    return e.exit_code();
  }
  rep.outcome = !out.target ? "done" : out.target_met ? "target-met" : "target-missed";
  report::write_run_report(root, run_dir, rep, optimize::render_markdown(out));
  write_file_atomic(run_dir / "optimize.json", json_text(optimize::to_json(out), 2));
  ledger.append("run-finished", {{"outcome", rep.outcome}, {"stop_reason", out.stop_reason}});

  if (g.log_format == "json") {
    std::cout << json_text(optimize::to_json(out)) << "\n";
  } else {
    std::cout << optimize::render_markdown(out);
    std::cout << fmt::format("\n  report: {}   review: git log {}\n", (run_dir / "report.md").string(),
                             branch);
  }
  if (out.stop_reason == "cancelled") {
    cancel::Interrupted by;  // names the signal that arrived
    std::cerr << fmt::format(
        "kcat: interrupted by {}: the change in progress was rolled back (its build and benchmark "
        "processes stopped); every kept commit stays\n  continue: {}\n",
        by.signal_name(), resume);
    return by.exit_code();
  }
  if (out.target && !out.target_met) {
    bool limit = out.stop_reason == "max iterations" || out.stop_reason == "time budget";
    return static_cast<int>(limit ? ExitCode::Budget : ExitCode::Findings);
  }
  return 0;
}

void setup(CLI::App& root, Globals& g) {
  auto c = std::make_shared<OptimizeCmd>();
  auto* cmd = root.add_subcommand("optimize",
                                  "Make the port fast: try performance recipes one at a time (build, "
                                  "bench, keep or revert) until the throughput target is met");
  cmd->footer(
      "Each try is a commit on the migration branch: the recipe is applied and verified, the build\n"
      "command runs, then the best so far and the change are benchmarked in alternating pairs (A B B A,\n"
      "8 to --max-pairs) and the commit is kept only when the 99% interval of their ratio lies above\n"
      "1 + [optimize] min_gain, the change has run 13 times without a failure (extra runs of it alone\n"
      "when the interval is clear sooner) and, when [optimize] output is set, every run's output matches\n"
      "the reference dump (a crash or timeout in any run reverts it). Otherwise it is reverted with the\n"
      "evidence (\"inconclusive\" when the pairs ran out). After a keep, reverted recipes get one more\n"
      "try; the target is claimed only on a final A/B against the baseline. Kept commits carry\n"
      "`Kcat-Metric: 550.45 tok/s (median of 8); 1.062x [1.031x, 1.090x] ...`. Environment recipes write\n"
      "kcat_ascend_env.sh (source it before launching). Settings come from kcat.toml:\n\n"
      "  [build]    command = \"pip install -e .\"\n"
      "  [bench]    command = \"python3 $KCAT_HARNESS/vllm_throughput.py --model ./model\"\n"
      "             metric_json = \"output_tokens_per_s\"   unit = \"tok/s\"   runs = 5   target = 550\n"
      "  [optimize] max_iterations = 10   max_pairs = 20   output = \"out.npy\"   rtol = 1e-3\n\n"
      "Examples:\n"
      "  kcat optimize .                                     with kcat.toml\n"
      "  kcat optimize . --bench-cmd './bench.sh' --metric 'throughput: ([0-9.]+)' --target-speedup 5\n"
      "  kcat optimize --list                                the recipes and their expected gains\n\n"
      "Exit: 0 target met (or no target), 1 target missed with recipes exhausted, 5 a limit stopped it\n"
      "(--max-iterations, --max-minutes), 2 usage, 3 environment (the baseline does not build or bench).");
  add_repo_option(cmd, c->path);
  cmd->add_option("-t,--target", c->target, "Target profile; names the branch kcat/<target>")
      ->capture_default_str();
  cmd->add_option("--branch", c->branch, "Branch to work on (default: kcat/<target>)");
  cmd->add_option("--build-cmd", c->ov.build_command, "Build command (overrides [build] command)");
  cmd->add_option("--bench-cmd", c->ov.bench_command, "Benchmark command (overrides [bench] command)");
  auto* m = cmd->add_option("--metric", c->ov.metric, "RE2 pattern with one capture group for the metric");
  auto* mj =
      cmd->add_option("--metric-json", c->ov.metric_json, "Key of the last JSON line holding the metric");
  m->excludes(mj);
  cmd->add_option("--unit", c->ov.unit, "Unit to print, e.g. tok/s");
  cmd->add_option(
         "--runs", c->ov.runs,
         "Runs of the baseline's first measurement, whose median is the baseline figure and the base "
         "of --target-speedup (default [bench] runs; up to twice that while the CV is above 5%). "
         "Keep-or-revert decisions do not use it: each runs baseline/candidate pairs, 8 at least and "
         "--max-pairs at most")
      ->check(CLI::Range(1, 1000));
  auto* t = cmd->add_option("--target-metric", c->ov.target, "The metric to reach (absolute)");
  auto* ts =
      cmd->add_option("--target-speedup", c->ov.target_speedup, "Or: reach this multiple of the baseline");
  t->excludes(ts);
  cmd->add_option("--max-iterations", c->ov.max_iterations, "Recipes to try at most")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-pairs", c->ov.max_pairs,
                  "Baseline/candidate run pairs at most per keep-or-revert decision ([optimize] max_pairs, "
                  "default 20; a verdict needs 8); undecided then: inconclusive, reverted")
      ->check(CLI::Range(8, 1000));
  cmd->add_option("--max-minutes", c->ov.max_minutes, "Stop trying new recipes after this many minutes");
  cmd->add_option("--recipe", c->ov.recipes, "Try only these recipes (repeatable)");
  cmd->add_option("--prefer", c->ov.prefer,
                  "Try these recipes first (repeatable), e.g. from a profile's hints");
  cmd->add_option("--profile", c->profile,
                  "The torch_npu profiler's op_statistic.csv: the recipes for its top operators go first")
      ->check(CLI::ExistingFile);
  cmd->add_option("--log", c->log, "A run's log: torch_npu's CPU-fallback warnings are listed")
      ->check(CLI::ExistingFile);
  auto* host =
      cmd->add_option("--host", c->ov.host,
                      "Build and bench on this Atlas host over ssh (user@host); the branch is sent with git "
                      "before every build ([remote] host)");
  cmd->add_option("--ssh-arg", c->ov.ssh_args, "An extra ssh argument (repeat; --ssh-arg=-p --ssh-arg=2222)")
      ->needs(host);
  cmd->add_option("--remote-dir", c->ov.remote_dir,
                  "The work tree on the host (default ~/kcat-work/<repo name>)")
      ->needs(host);
  cmd->add_flag(
      "!--no-llm", c->ov.use_llm,
      "Do not let the LLM propose changes once the recipes are exhausted (it does when one is configured)");
  cmd->add_flag("--list", c->list, "List the recipes with their expected gains and exit");
  cmd->callback([c, &g] { g.exit_code = run(*c, g); });
}

}  // namespace

KCAT_COMMAND(setup, 52);

}  // namespace kcat::cli
