// kcat status | diff | undo: the migration as git sees it (the branch, its kcat commits, the base).
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "kcat/cli/command.h"
#include "kcat/config/common.h"
#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/migrate/recover.h"
#include "kcat/patch/git.h"
#include "kcat/plan/plan.h"
#include "kcat/report/ledger.h"
#include "kcat/report/runs.h"
#include "kcat/scan/scanner.h"

namespace kcat::cli {
namespace {

struct Migration {
  patch::GitRepo repo;
  std::string branch;
  std::string base;
  std::vector<patch::CommitInfo> steps;  // newest first, kcat commits only
};

// The branch and base of the latest run, from its ledger.
Migration load(const std::string& path, const std::string& branch_opt) {
  auto repo = patch::GitRepo::open(path);
  auto root = repo.workdir();
  std::string branch = branch_opt, base;
  auto runs = report::list_runs(root);
  for (auto it = runs.rbegin(); it != runs.rend() && base.empty(); ++it) {
    for (auto& e : report::Ledger::read(root / ".kcat" / "runs" / *it / "ledger.jsonl")) {
      if (e.value("type", "") != "run-started") continue;
      if (!branch.empty() && e.value("branch", "") != branch) continue;
      branch = e.value("branch", "");
      base = e.value("base", "");
    }
  }
  if (branch.empty() || base.empty()) {
    throw Error(ErrorKind::Usage, "no kcat migration in this repository", root.string(),
                "run `kcat migrate " + path + " --target ascend-a2` first");
  }
  if (!repo.branch_exists(branch)) {
    throw Error(ErrorKind::Environment, "the migration branch " + branch + " no longer exists", root.string(),
                "run `kcat migrate` again to recreate it");
  }
  Migration m{std::move(repo), branch, base, {}};
  for (auto& c : m.repo.log("refs/heads/" + branch, base)) {
    if (c.trailers.count("Kcat-Step")) m.steps.push_back(c);
  }
  return m;
}

struct Opts {
  std::string path = ".";
  std::string branch;
  std::string step;
  bool all = false;
};

void status(const Opts& o) {
  try {
    // An interrupted kcat is put back first; while another kcat works, its state is its own.
    auto lock = migrate::lock_and_recover(o.path);
  } catch (const Error&) {
  }
  auto m = load(o.path, o.branch);
  auto current = m.repo.current_branch();
  std::cout << fmt::format("branch {} ({}), base {}\n", m.branch,
                           current == m.branch ? "checked out" : "not checked out", m.base.substr(0, 10));
  std::cout << fmt::format("{} step(s) committed:\n", m.steps.size());
  for (auto it = m.steps.rbegin(); it != m.steps.rend(); ++it) {
    std::cout << fmt::format("  {} {:<16} {}\n", it->id.substr(0, 10), it->trailers["Kcat-Step"],
                             it->summary);
  }
  if (current != m.branch) {
    std::cout << fmt::format("sites: check out {} to count them (git checkout {})\n", m.branch, m.branch);
    return;
  }
  scan::ScanOptions so;
  so.root = m.repo.workdir();
  auto r = scan::scan(so, load_rule_catalog({}));
  load_knowledge_base().annotate(r.findings);
  // Counted as scan, the plan and migrate's report count them (plan::route_all, plan::account).
  auto routed = plan::route_all(std::move(r.findings), so.root);
  auto a = plan::account(routed);
  std::map<std::string, size_t> by_cat;
  for (auto& f : routed) by_cat[f.category] += plan::standing_of(f) == plan::Standing::Left;
  std::cout << "sites: " << plan::account_line(a);
  for (auto& [c, n] : by_cat) {
    if (n) std::cout << fmt::format("; {} {}", c, n);
  }
  std::cout << "\n";
}

void diff(const Opts& o) {
  auto m = load(o.path, o.branch);
  if (o.step.empty()) {
    std::cout << m.repo.diff(m.base, "refs/heads/" + m.branch);
    return;
  }
  for (auto& c : m.steps) {
    if (c.trailers["Kcat-Step"] == o.step || c.id.rfind(o.step, 0) == 0) {
      auto parents = m.repo.log(c.id, "", 2);
      std::cout << m.repo.diff(parents.size() > 1 ? parents[1].id : m.base, c.id);
      return;
    }
  }
  std::string known;
  for (auto& c : m.steps) known += " " + c.trailers["Kcat-Step"];
  throw Error(ErrorKind::Usage, "no step '" + o.step + "' on " + m.branch, "", "steps:" + known);
}

void undo(const Opts& o) {
  auto lock = migrate::lock_and_recover(o.path);
  cancel::install_termination_handler();  // a signal lets the reset finish
  auto m = load(o.path, o.branch);
  if (m.repo.current_branch() != m.branch) {
    throw Error(ErrorKind::Environment, "the migration branch is not checked out", m.repo.workdir().string(),
                "git checkout " + m.branch + ", then kcat undo");
  }
  auto dirty = m.repo.dirty_files();
  if (!dirty.empty()) {
    throw Error(ErrorKind::Environment,
                "uncommitted changes in " + dirty.front() + (dirty.size() > 1 ? " and others" : ""),
                m.repo.workdir().string(), "commit or stash them first; undo never discards your work");
  }
  if (m.steps.empty()) {
    std::cout << "nothing to undo: " << m.branch << " has no kcat steps\n";
    return;
  }
  auto head = m.repo.head_id();
  if (head != m.steps.front().id) {
    throw Error(ErrorKind::Environment, "the branch has commits after kcat's last step",
                m.repo.workdir().string(), "undo them with git first (git log " + m.branch + ")");
  }
  // What is dropped, by name and commit, and how to get it back: the commits stay in git (the
  // reflog) until git's garbage collection, so one reset brings them back.
  auto dropped = o.all ? m.steps : std::vector<patch::CommitInfo>{m.steps.front()};
  std::string to = m.base;
  if (!o.all) {
    auto parents = m.repo.log(head, "", 2);
    if (parents.size() > 1) to = parents[1].id;
  }
  m.repo.reset_hard(to);
  std::cout << fmt::format("undid {} step(s); {} is at {}\n", dropped.size(), m.branch, to.substr(0, 10));
  for (auto& c : dropped) {
    std::cout << fmt::format("  dropped {} {:<16} {}\n", c.id.substr(0, 10), c.trailers["Kcat-Step"],
                             c.summary);
  }
  std::cout << fmt::format(
      "to get {} back: git reset --hard {}  (while {} is checked out; `git reflog {}` lists it too)\n",
      o.all ? "them" : "it", head.substr(0, 10), m.branch, m.branch);
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<Opts>();
  auto* st =
      root.add_subcommand("status", "The migration branch: steps committed and findings left by category");
  add_repo_option(st, o->path);
  st->add_option("--branch", o->branch, "Migration branch (default: the latest run's)");
  st->callback([o, &g] {
    status(*o);
    g.exit_code = 0;
  });
  auto* df =
      root.add_subcommand("diff", "The whole migration against its base, or one step (kcat diff STEP)");
  df->add_option("step", o->step, "A step id (device-api-1) or commit prefix");
  add_repo_option(df, o->path, false);
  df->add_option("--branch", o->branch, "Migration branch (default: the latest run's)");
  df->callback([o, &g] {
    diff(*o);
    g.exit_code = 0;
  });
  auto* un = root.add_subcommand("undo", "Undo the last migration step (or --all), through git");
  add_repo_option(un, o->path);
  un->add_flag("--all", o->all, "Undo every step: the branch goes back to its base");
  un->add_option("--branch", o->branch, "Migration branch (default: the latest run's)");
  un->callback([o, &g] {
    undo(*o);
    g.exit_code = 0;
  });
}

}  // namespace

KCAT_COMMAND(setup, 35);

}  // namespace kcat::cli
