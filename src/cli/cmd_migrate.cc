// kcat migrate PATH --target T: port what rules can port, as reviewable commits on kcat/<target>.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include "kcat/cli/command.h"
#include "kcat/config/config.h"
#include "kcat/core/cancel.h"
#include "kcat/core/cuda_files.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"
#include "kcat/core/text.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/target.h"
#include "kcat/migrate/migration.h"
#include "kcat/migrate/recover.h"
#include "kcat/patch/git.h"
#include "kcat/session/approver.h"
#include "kcat/session/diff_view.h"
#include "kcat/session/line_reader.h"

namespace kcat::cli {
namespace {

void print_summary(const migrate::Outcome& out, const std::filesystem::path& repo_path) {
  auto width = terminal_width(1);
  auto& r = out.report;
  auto t = r.totals();
  std::cout << fmt::format("kcat migrate: {} on branch {} (from {})\n", r.target, r.branch,
                           r.base_commit.substr(0, 10));
  if (!r.config.empty()) std::cout << "  configuration: " << r.config << "\n";
  size_t commits = 0;
  for (auto& s : r.steps) {
    if (s.action != "codemod" && s.action != "shim" && s.action != "llm" &&
        !(s.action == "recipe" && !s.id.starts_with("optimize-"))) {
      continue;
    }
    std::cout << fit_width(fmt::format("  {:<16} {:<8} {:<8} {}{}", s.id, s.action, s.status,
                                       s.commit.empty() ? "" : s.commit.substr(0, 10) + " ",
                                       s.reason.empty() ? s.title : s.reason),
                           width)
              << "\n";
    commits += !s.commit.empty();
  }
  if (!out.changed_anything) {
    std::cout << "  nothing to change: every finding a rule can port is already ported on this branch\n";
  }
  // found = fixed + left + notes (a note is found, not work: docs/report.md)
  std::cout << fmt::format(
      "\n  found {}; fixed by codemod {}{}{}{}; left {}: {} for a recipe, {} for an LLM, {} for a person ({} "
      "blocking){}\n",
      t.found, t.fixed_by_codemod, t.fixed_by_recipe ? fmt::format("; by recipe {}", t.fixed_by_recipe) : "",
      t.fixed_by_llm ? fmt::format("; by the agent {}", t.fixed_by_llm) : "",
      t.covered_by_shim ? fmt::format("; covered by the shim at run time {}", t.covered_by_shim) : "",
      t.left_for_recipe + t.left_for_llm + t.left_for_person, t.left_for_recipe, t.left_for_llm,
      t.left_for_person, t.blocking_left, t.notes ? fmt::format("; notes {} (not work)", t.notes) : "");
  if (t.suppressed) {
    std::cout << fmt::format(
        "  suppressed {} (a `kcat: ignore` comment or --select/--exclude; kcat report lists them)\n",
        t.suppressed);
  }
  // The top of what is left, grouped by what will handle it.
  std::map<std::string, std::vector<const report::Site*>> left;
  for (auto& s : r.sites) {
    if (s.status == "left") left[s.how.rfind("recipe:", 0) == 0 ? "recipe" : s.how].push_back(&s);
  }
  for (auto& [how, sites] : left) {
    std::cout << fmt::format("\n  left for {}:\n", how == "llm"      ? "an LLM (none configured; docs/llm.md)"
                                                   : how == "manual" ? "a person"
                                                   : how == "recipe" ? "a recipe"
                                                                     : "you, " + how + " (docs/migrate.md)");
    // A CUDA source file is one line naming its kernels (as in the plan and the report), however many
    // sites it holds; the other sites one line each.
    std::vector<std::string> lines;
    std::vector<const Finding*> findings;
    for (auto* s : sites) findings.push_back(&s->finding);
    for (auto& g : group_cuda_files(findings)) {
      lines.push_back(fmt::format("    {}  CUDA source file: {} site(s); {}  {}", g.file, g.sites,
                                  describe_kernels(g, 4),
                                  how == "recipe" ? sites[g.members.front()]->how.substr(7)
                                                  : sites[g.members.front()]->finding.action));
    }
    for (auto* s : sites) {
      auto& f = s->finding;
      if (is_cuda_source(f.file)) continue;
      lines.push_back(
          fmt::format("    {}:{}  {}  {}", f.file, f.span.start.line, f.rule_id,
                      how == "recipe" ? s->how.substr(7) : (f.action.empty() ? f.message : f.action)));
    }
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i == 6) {
        std::cout << fmt::format("    … {} more (kcat report)\n", lines.size() - 6);
        break;
      }
      // Whole, or cut with … at the terminal's width on a terminal (never mid-character).
      std::cout << fit_width(lines[i], width) << "\n";
    }
  }
  if (out.llm_usage.requests > 0 || out.llm_failed) {
    std::cout << fmt::format("\n  LLM: {} requests, {} prompt + {} completion tokens, cost {:.4f}{}\n",
                             out.llm_usage.requests, out.llm_usage.prompt_tokens,
                             out.llm_usage.completion_tokens, out.llm_usage.cost,
                             out.llm_failed ? " (the endpoint failed; see the ledger)" : "");
  }
  auto rel = std::filesystem::relative(out.run_dir / "report.md", std::filesystem::absolute(repo_path));
  std::cout << fmt::format("\n  report: {}  (kcat report --format html -o report.html)\n",
                           (out.run_dir / "report.md").string());
  std::cout << fmt::format("  review: git log --stat {}..{}    undo: kcat undo [--all]\n",
                           r.base_commit.substr(0, 10), r.branch);
  (void)rel;
  (void)commits;
}

struct MigrateCmd : migrate::Options {
  bool interactive = false;  // -i: show each step's diff and ask before committing it
  bool exit_zero = false;    // --exit-zero: "ported, work left" (1) exits 0 too
};

// Runs the migration with this terminal: -i asks on stdin, the model's words stream to a
// terminal, the optimize phase's progress goes to stderr.
migrate::Outcome run_here(const MigrateCmd& c, const session::DiffStyle& style) {
  migrate::Options o = c;
  std::unique_ptr<session::LineReader> reader;
  std::unique_ptr<session::Approver> approver;
  if (c.interactive) {
    reader = session::stream_reader(std::cin, std::cout);
    // The diff is on screen before the question; "s" (show more) gives why: the commit message
    // with each rule's reason and source (issue 16: "s" used to print the same diff again).
    approver = session::prompt_approver(*reader, std::cout);
    o.approve = [&approver, style](const std::string& question, const std::string& diff,
                                   const std::string& why) {
      events::end_stream_line();
      std::cout << "\n";
      session::show_diff(std::cout, diff, style);
      auto a = approver->ask(question, why.empty() ? diff : why);
      return a == session::Answer::No    ? migrate::Approval::No
             : a == session::Answer::All ? migrate::Approval::All
                                         : migrate::Approval::Yes;
    };
  }
  if (::isatty(1))
    o.on_text = [](std::string_view t) {
      std::cout.flush();
      events::write_stream(t);
    };  // as it streams
  o.progress = [](const std::string& line) { std::cerr << line; };
  return migrate::run(o);
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<MigrateCmd>();
  auto* cmd = root.add_subcommand("migrate",
                                  "Port what rules can port to Ascend, as reviewable commits on the "
                                  "branch kcat/<target>, and say what is left");
  cmd->footer(
      "Works on a branch created from HEAD (kcat/<target>, or --branch), one commit per plan step, each\n"
      "verified (re-parse, python3 compile) before it is committed and rolled back if it fails. The\n"
      "branch stays checked out; `git checkout -` returns to yours. Uncommitted changes stop the run.\n"
      "Every step is recorded in .kcat/runs/<id>/ (ledger.jsonl, plan.json, report.md, report.json).\n\n"
      "Examples:\n"
      "  kcat migrate . --target ascend-a2\n"
      "  kcat migrate . --mode shim          only add torch_npu + transfer_to_npu at entry points\n"
      "  kcat migrate . --resume             continue an interrupted run\n"
      "  kcat migrate . --update             nightly: rebase kcat/<target> onto the moved upstream, port "
      "what is new\n\n"
      "Exit: 0 nothing blocking left; 1 ported, work left (blocking findings, listed, or the bench\n"
      "target missed; --exit-zero makes it 0); 2 usage; 3 environment; 4 LLM endpoint;\n"
      "5 budget; 6 agent loop; 130/143 interrupted (docs/cli.md#exit-codes).");
  add_repo_option(cmd, o->path);
  cmd->add_option("-t,--target", o->target, kb::target_help(kb::default_data_dir()))->capture_default_str();
  cmd->add_option("--mode", o->mode,
                  "source: rewrite the code (default); shim: transfer_to_npu at entry points")
      ->check(CLI::IsMember({"source", "shim"}));
  cmd->add_option("--route", o->route,
                  "A route from patches/routes for a known model, as `kcat plan --route` (default: the "
                  "highest published throughput): its stack goes into requirements-ascend.txt")
      ->type_name("ROUTE");
  cmd->add_option("--branch", o->branch, "Branch to work on (default: kcat/<target>)");
  cmd->add_option("--author", o->author,
                  "Commit author \"Name <email>\" (default: git config user.name/email)");
  cmd->add_flag("--init", o->init,
                "Make the folder a git repository with an initial commit if it is not one");
  cmd->add_flag("--resume", o->resume, "Continue the latest interrupted run");
  cmd->add_flag("-i,--interactive", o->interactive,
                "Show each step's diff and ask before committing it: y / n / a (all) / s (show more)");
  cmd->add_flag("!--no-optimize", o->optimize,
                "Skip the optimize phase (it runs when kcat.toml has [bench]; see kcat help optimize)");
  cmd->add_flag("--update", o->update,
                "Upstream moved on: replay the migration branch onto it (rebase), re-scan, port what is new");
  cmd->add_option("--onto", o->onto,
                  "With --update: the new upstream (default: the branch the migration started from)");
  cmd->add_flag("--allow-dirty", o->allow_dirty,
                "With uncommitted changes: migrate HEAD in a separate work tree (.kcat/worktrees/<target>)");
  cmd->add_flag("--exit-zero", o->exit_zero,
                "Exit 0 when the run ported what it could and work is left (otherwise 1); every other code "
                "stays");
  cmd->add_option("--rules", o->rules, "Extra rule file (TOML, repeatable)");
  add_filter_options(cmd, o->filter);
  cmd->add_option("--max-minutes", o->max_minutes,
                  "Budget: stop between steps after this many minutes (exit 5; --resume continues)");
  cmd->add_flag("!--no-llm", o->use_llm, "Do not ask the LLM even when one is configured (docs/llm.md)");
  cmd->add_option("--max-steps", o->max_turns, "Agent budget: model turns per plan step")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--max-tokens", o->max_tokens,
                  "Agent budget: prompt + completion tokens for the run (exit 5)");
  cmd->add_option("--max-cost", o->max_cost, "Agent budget: cost for the run, in the prices' unit (exit 5)");
  cmd->callback([o, &g] {
    o->config = g.config;
    const char* ci_env = std::getenv("CI");
    if (o->interactive && ((g.ci && ::isatty(0)) || (ci_env && *ci_env))) {
      throw Error(ErrorKind::Usage, "-i asks before each step, and --ci (or CI set) never prompts", "",
                  "drop one of them; in CI, [hooks] before_commit is the gate");
    }
    // The whole configuration is checked before the run touches the repository: a typo is an
    // error now, not after the first commits.
    std::error_code ec;
    if (std::filesystem::is_directory(o->path, ec)) {
      auto repo_root = std::filesystem::canonical(o->path);
      try {
        repo_root = std::filesystem::canonical(patch::GitRepo::open(repo_root).workdir());
      } catch (const Error&) {
        // not a repository (yet): the migration says so, or --init makes one
      }
      load_config(repo_root, g.config);
    }
    // One kcat at a time changes the repository; an earlier one cut off is put back first.
    auto lock = migrate::lock_and_recover(o->path);
    cancel::install_termination_handler();
    migrate::Outcome out;
    auto resume = fmt::format("kcat migrate {} --target {}{} --resume", o->path.string(), o->target,
                              o->branch.empty() ? "" : " --branch " + o->branch) +
                  (o->route.empty() ? "" : " --route " + o->route);
    try {
      out = run_here(*o, session::diff_style(g.use_color(1), g.ci));
    } catch (const cancel::Interrupted& e) {
      std::cerr << fmt::format("kcat: interrupted by {}: {}\n  continue: {}\n", e.signal_name(), e.what(),
                               resume);
      g.exit_code = e.exit_code();
      return;
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::Io) throw;
      // Disk full, or a file kcat cannot write: every commit made stays; a step cut off is put
      // back (now, or by the next kcat command from its journal).
      throw Error(e.kind(), e.what(), e.where(),
                  "free some space (or fix the permission), then continue with `" + resume +
                      "`: it first puts back any step left half done");
    }
    print_summary(out, o->path);
    if (out.llm_failed) {
      std::cout
          << "  stopped asking the LLM: the endpoint kept failing; the commits made stay, the rest is marked "
             "for a person\n";
      g.exit_code = static_cast<int>(ExitCode::Llm);
      return;
    }
    if (out.budget_exhausted) {
      std::cout << "  stopped: a budget was reached (--max-minutes reached, or --max-tokens / --max-cost); "
                   "`kcat migrate "
                   "--resume` continues\n";
      g.exit_code = static_cast<int>(ExitCode::Budget);
      return;
    }
    if (out.loop_detected) {
      std::cout << "  the agent repeated a failing edit and was stopped; that step is marked for a person\n";
      g.exit_code = static_cast<int>(ExitCode::Loop);
      return;
    }
    if (out.optimized && !out.report.iterations.empty()) {
      auto& rep = out.report;
      double best = rep.baseline.value_or(0);
      for (auto& it : rep.iterations) {
        if (it.kept) best = it.metric;
      }
      std::cout << fmt::format("  optimize: baseline {:.2f} {}, best {:.2f} {}{}\n", rep.baseline.value_or(0),
                               rep.metric_unit, best, rep.metric_unit,
                               rep.target_metric ? fmt::format(" (target {:.2f}: {})", *rep.target_metric,
                                                               out.target_missed ? "missed" : "met")
                                                 : "");
    }
    bool work_left = out.report.totals().blocking_left || out.target_missed;
    g.exit_code = work_left && !o->exit_zero ? 1 : 0;
  });
}

}  // namespace

KCAT_COMMAND(setup, 30);

}  // namespace kcat::cli
