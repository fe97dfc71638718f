// kcat chat [PATH]: the interactive session. Also what `kcat` with no arguments starts on a terminal.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "kcat/agent/agent.h"
#include "kcat/cli/chat.h"
#include "kcat/cli/command.h"
#include "kcat/config/common.h"
#include "kcat/config/config.h"
#include "kcat/config/hooks.h"
#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"
#include "kcat/core/fs.h"
#include "kcat/core/text.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/target.h"
#include "kcat/llm/client.h"
#include "kcat/llm/config.h"
#include "kcat/migrate/agent_setup.h"
#include "kcat/migrate/recover.h"
#include "kcat/patch/git.h"
#include "kcat/report/ledger.h"
#include "kcat/report/run_report.h"
#include "kcat/report/runs.h"
#include "kcat/scan/scanner.h"
#include "kcat/session/approver.h"
#include "kcat/session/child.h"
#include "kcat/session/diff_view.h"
#include "kcat/session/repl.h"

namespace kcat::cli {

namespace {

std::filesystem::path history_file() {
  if (const char* h = std::getenv("KCAT_HISTORY"); h && *h) return h;
  if (auto base = user_dir(UserDir::State); !base.empty()) return base / "kcat" / "history";
  return ".kcat-history";
}

llm::Totals& session_usage() {
  static llm::Totals totals;
  return totals;
}

// The report of one request: its step and the findings it was given, fixed (no longer found after
// it) or left.
report::RunReport request_report(const std::string& run_id, const std::filesystem::path& root,
                                 const std::string& target, const std::string& branch,
                                 const std::string& base, const agent::Outcome& out, const agent::Task& task,
                                 const patch::GitRepo& repo, const std::vector<Finding>& after) {
  report::RunReport rep;
  rep.run_id = run_id;
  rep.repo = root.filename().string();
  rep.target = target;
  rep.branch = branch;
  rep.base_commit = base;
  const auto& st = out.steps.at(0);
  rep.steps.push_back(migrate::agent_step_record(st, task.title, repo));
  for (const auto& f : task.findings) {
    if (f.severity == Severity::Info) continue;
    bool fixed = !st.commits.empty() && !migrate::still_found(f, after);
    rep.sites.push_back({f, fixed ? "fixed" : "left", "llm", st.id, fixed ? st.commits.back() : ""});
  }
  rep.outcome = out.llm_failed ? "failed" : rep.totals().blocking_left ? "findings-left" : "done";
  return rep;
}

// Plain-language requests go to the agent, on the migration branch, asking before every edit and
// command. Empty when no LLM is configured (the session then says how to configure one).
std::function<int(const std::string&)> agent_request_handler(const std::string& repo_path,
                                                             const std::string& target,
                                                             std::unique_ptr<session::LineReader>& reader,
                                                             bool colour) {
  std::filesystem::path root;
  try {
    root = std::filesystem::canonical(patch::GitRepo::open(repo_path).workdir());
  } catch (const Error&) {
    return {};
  }
  llm::LlmConfig config;
  try {
    config = load_config(root, "").llm;
  } catch (const Error& e) {
    std::cerr << "kcat: " << e.render() << "\n";
    return {};
  }
  if (!config.configured()) return {};
  return [root, target, config, &reader, colour](const std::string& request) -> int {
    RepoLock lock;
    try {
      lock = migrate::lock_and_recover(root);  // held for this turn; slash commands lock themselves
    } catch (const Error& e) {
      std::cout << "kcat: " << e.render() << "\n";
      return static_cast<int>(e.exit_code());
    }
    auto repo = patch::GitRepo::open(root);
    if (auto dirty = repo.dirty_files(); !dirty.empty()) {
      std::cout << "kcat: uncommitted changes in " << dirty.front() << (dirty.size() > 1 ? " and more" : "")
                << "; commit or stash them first (kcat never edits over them)\n";
      return 3;
    }
    auto branch = "kcat/" + target;
    if (repo.current_branch() != branch) {
      repo.checkout_new_or_existing(branch);
      std::cout << "working on branch " << branch << " (`git checkout -` returns to yours)\n";
    }
    auto cfg = load_config(root, "");
    auto rules = load_rule_catalog({});
    auto kb = load_knowledge_base();
    scan::ScanOptions so;
    so.root = root;
    auto findings = scan::scan(so, rules).findings;
    kb.annotate(findings);
    if (findings.size() > 40) findings.resize(40);
    auto run_id = report::make_run_id();
    auto run_dir = root / ".kcat" / "runs" / run_id;
    report::Ledger ledger(run_dir / "ledger.jsonl");
    auto ao = migrate::agent_options(config, cfg, root, run_id, ledger);
    auto base = repo.head_id();
    ledger.append("run-started",
                  {{"command", "chat"}, {"request", request}, {"branch", branch}, {"base", base}});
    const char* ci_env = std::getenv("CI");
    auto style = session::diff_style(colour, !::isatty(0) || (ci_env && *ci_env));
    auto show = [style](const std::string& diff) { session::show_diff(std::cout, diff, style); };
    auto approver = session::prompt_approver(*reader, std::cout, show);
    bool all_edits = false;
    ao.target = target;
    ao.policy.interactive = true;
    ao.policy.keep_unfinished = true;  // the person approved each edit
    ao.policy.approve_edit = [&](const std::string& file, const std::string& diff) {
      if (all_edits) return true;
      events::end_stream_line();
      std::cout << "\n";
      show(diff);
      auto a = approver->ask("Apply this edit to " + file + "?", diff);
      if (a == session::Answer::All) all_edits = true;
      return a != session::Answer::No;
    };
    ao.policy.approve_command = [&](const std::string& command) {
      events::end_stream_line();  // the question on a line of its own, not after the model's words
      return approver->ask("Run `" + command + "` in " + root.string() + "?", command) != session::Answer::No;
    };
    ao.hook = [&](const std::string& stage, const std::vector<std::string>& files) {
      std::string list;
      for (auto& f : files) list += (list.empty() ? "" : " ") + f;
      return run_hook(cfg, stage, root, {{"KCAT_RUN", run_id}, {"KCAT_FILES", list}}, &ledger);
    };
    ao.on_text = [](std::string_view t) {
      std::cout.flush();
      events::write_stream(t);
    };
    llm::Client client(config);
    agent::Task task{"request-" + run_id.substr(run_id.size() - 6), request,
                     "A request from the person at the terminal; keep to it.", findings, false};
    agent::Outcome out;
    try {
      out = agent::run(client, repo, {task}, rules, kb, ao);
    } catch (const Error& e) {
      std::cout << "kcat: " << e.render() << "\n";
      return static_cast<int>(e.exit_code());
    }
    auto& u = session_usage();
    u.requests += out.usage.requests;
    u.attempts += out.usage.attempts;
    u.prompt_tokens += out.usage.prompt_tokens;
    u.completion_tokens += out.usage.completion_tokens;
    u.cost += out.usage.cost;
    auto& st = out.steps.at(0);
    events::end_stream_line();
    std::cout << fmt::format(
        "\n{}: {}{}\n", st.status, st.reason,
        st.commits.empty()
            ? ""
            : fmt::format(" ({} commit(s); /diff shows them, /undo reverts)", st.commits.size()));
    // A request's edits are a run like any other: its report is the latest `kcat report` renders.
    auto rep =
        request_report(run_id, root, target, branch, base, out, task, repo, scan::scan(so, rules).findings);
    report::write_run_report(root, run_dir, rep);
    ledger.append("run-finished", {{"outcome", st.status}, {"commits", st.commits}});
    return out.llm_failed ? 4 : st.status == "done" ? 0 : 1;
  };
}

}  // namespace

int run_chat(const ChatOptions& o) {
  cancel::install_handler();
  auto repo = o.repo;
  auto target = o.target;
  const auto targets = kb::load_targets(kb::default_data_dir());  // /target's help and completion
  // Each slash command runs the matching subcommand as a child on this terminal.
  auto sub = [&](std::vector<std::string> base, bool with_target) {
    return [base, with_target, &repo, &target](const std::vector<std::string>& args) {
      // The repository as -C (every command takes it so): `/diff STEP`'s positional is the step.
      auto argv = base;
      argv.push_back("-C");
      argv.push_back(repo);
      if (with_target) {
        argv.push_back("--target");
        argv.push_back(target);
      }
      argv.insert(argv.end(), args.begin(), args.end());
      return session::run_self(argv);
    };
  };
  auto plain = [](std::vector<std::string> base) {
    return [base](const std::vector<std::string>& args) {
      auto argv = base;
      argv.insert(argv.end(), args.begin(), args.end());
      return session::run_self(argv);
    };
  };
  // One reader for the prompt and for the questions asked before an edit or a command.
  std::unique_ptr<session::LineReader> reader_for_approval =
      ::isatty(0) ? session::terminal_reader(history_file()) : session::stream_reader(std::cin, std::cout);
  session::ReplOptions ro;
  ro.commands = {
      {"scan", "[OPTIONS] [FILE]", "find every CUDA tie in the repository (or one file)",
       sub({"scan"}, false), true},
      {"plan", "[OPTIONS]", "the migration plan for the target", sub({"plan"}, true)},
      {"migrate", "[OPTIONS]", "port on the kcat/<target> branch (asks before each step)",
       sub({"migrate", "-i"}, true)},
      {"status", "", "branch, steps done, findings left", sub({"status"}, false)},
      {"diff", "[STEP]", "the migration's diff, or one step's", sub({"diff"}, false)},
      {"undo", "[--all]", "undo the last step (or all)", sub({"undo"}, false)},
      {"bench", "--cmd CMD ...", "benchmark a command", plain({"bench"})},
      {"optimize", "[OPTIONS]", "apply performance recipes until the target is met", sub({"optimize"}, true)},
      {"doctor", "[--host USER@HOST]", "check CANN, driver and Python packages", plain({"doctor"})},
      {"report", "[--format html -o FILE]", "render the latest run's report",
       [&repo](const std::vector<std::string>& a) {
         std::vector<std::string> argv{"report", "-C", repo};
         argv.insert(argv.end(), a.begin(), a.end());
         return session::run_self(argv);
       },
       true},
      {"target", "NAME", "switch the target (" + kb::target_list(targets) + ")",
       [&target](const std::vector<std::string>& a) {
         if (a.size() != 1) {
           std::cout << "current target: " << target << "\n";
           return a.empty() ? 0 : 2;
         }
         target = a[0];
         std::cout << "target: " << target << "\n";
         return 0;
       },
       false, kb::target_ids(targets)},
  };
  if (o.request_handler) {
    ro.on_request = o.request_handler;
  } else if (auto handler = agent_request_handler(repo, target, reader_for_approval, o.colour); handler) {
    ro.on_request = handler;
  }
  ro.commands.push_back(
      {"cost", "", "LLM requests, tokens and cost of this session", [](const std::vector<std::string>&) {
         auto& u = session_usage();
         std::cout << fmt::format(
             "LLM this session: {} requests ({} tries), {} prompt + {} completion "
             "tokens, cost {:.4f}\n",
             u.requests, u.attempts, u.prompt_tokens, u.completion_tokens, u.cost);
         return 0;
       }});
  std::cout << "kcat " << KCAT_VERSION << " — repository " << repo << ", target " << target
            << ". /help lists commands, /quit leaves.\n";
  return session::run_repl(*reader_for_approval, std::cout, ro);
}

namespace {

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<ChatOptions>();
  auto* cmd = root.add_subcommand("chat",
                                  "Interactive session: see the plan and findings, run slash commands, "
                                  "ask the agent in plain language (also `kcat` alone on a terminal)");
  add_repo_option(cmd, o->repo);
  cmd->add_option("-t,--target", o->target, "Target profile")->capture_default_str();
  cmd->callback([o, &g] {
    o->colour = g.use_color(1);
    g.exit_code = run_chat(*o);
  });
}

}  // namespace

KCAT_COMMAND(setup, 90);

}  // namespace kcat::cli
