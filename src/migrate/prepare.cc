// prepare: the options checked, the repository opened (or made with --init), uncommitted work
// refused (or moved aside with --allow-dirty), and the migration branch checked out.
#include <fmt/format.h>

#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/route.h"
#include "kcat/kb/target.h"
#include "kcat/migrate/phases.h"
#include "kcat/plan/plan.h"
#include "kcat/report/runs.h"

namespace kcat::migrate {

namespace {

namespace fs = std::filesystem;

void check_options(const Options& o) {
  kb::find_target(kb::load_targets(kb::default_data_dir()), o.target);  // unknown: lists the known ones
  if (o.mode != "source" && o.mode != "shim") throw Error(ErrorKind::Usage, "--mode must be source or shim");
  std::error_code ec;
  if (!fs::is_directory(o.path, ec)) {
    throw Error(ErrorKind::Usage, "not a directory", o.path.string(),
                "give the path of the repository to migrate");
  }
}

// The repository at o.path; with --init, a folder outside any repository gets one.
patch::GitRepo open_repository(const Options& o) {
  auto path = fs::canonical(o.path);
  if (!patch::GitRepo::is_repository(path) && !fs::exists(path / ".git")) {
    bool inside_repo = true;
    try {
      patch::GitRepo::open(path);
    } catch (const Error&) {
      inside_repo = false;
    }
    if (!inside_repo) {
      if (!o.init) {
        throw Error(
            ErrorKind::Environment, "not a git repository", path.string(),
            "kcat works on a git branch so every change can be reviewed and undone: commit your code to git "
            "first, or run again with --init to let kcat make an initial commit");
      }
      write_file_atomic(path / ".kcat" / ".gitignore", "*\n");
      patch::GitRepo::init_with_initial_commit(path, "kcat", "kcat@localhost");
    }
  }
  return patch::GitRepo::open(path);
}

std::pair<std::string, std::string> parse_author(const std::string& a, const patch::GitRepo& repo) {
  if (!a.empty()) {
    auto lt = a.find('<');
    auto gt = a.find('>');
    if (lt == std::string::npos || gt == std::string::npos || gt < lt) {
      throw Error(ErrorKind::Usage, "--author must look like \"Name <email>\"", a);
    }
    auto name = a.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    return {name, a.substr(lt + 1, gt - lt - 1)};
  }
  auto id = repo.configured_identity();
  if (id.first.empty() || id.second.empty()) return {"kcat", "kcat@localhost"};
  return id;
}

[[noreturn]] void refuse_dirty(const std::vector<std::string>& dirty, const fs::path& root) {
  std::string list;
  for (size_t i = 0; i < dirty.size() && i < 5; ++i) list += (i ? ", " : "") + dirty[i];
  if (dirty.size() > 5) list += fmt::format(" and {} more", dirty.size() - 5);
  throw Error(ErrorKind::Environment, "uncommitted changes in tracked files: " + list, root.string(),
              "kcat never touches uncommitted work: commit or stash it (`git stash`) and run again, or "
              "pass --allow-dirty to migrate HEAD in a separate work tree (.kcat/worktrees/<target>)");
}

// --resume: the latest unfinished run and its events.
void find_resumed_run(Prepared& p) {
  p.resumed_run = unfinished_run(p.root);
  if (p.resumed_run.empty()) {
    throw Error(ErrorKind::Usage, "no interrupted run to resume", (p.root / ".kcat" / "runs").string(),
                "run `kcat migrate` without --resume");
  }
  p.previous = report::Ledger::read(p.root / ".kcat" / "runs" / p.resumed_run / "ledger.jsonl");
}

// Checks out the migration branch (carried forward with --update) and finds its base.
void start_branch(Prepared& p, const Options& o) {
  auto current = p.repo.current_branch();
  if (o.update) {
    carry_forward(p, o.onto);
    current = p.branch;
  }
  // A rerun on the branch itself keeps naming the upstream the port started from, so a later
  // --update (here or in a fresh clone, from the commits' trailers) knows where to carry it.
  p.from_branch = o.update              ? p.update_onto
                  : current == p.branch ? upstream_of(p.repo, p.root, p.branch)
                                        : current;
  if (current != p.branch) {
    p.base = p.repo.head_id();
    p.repo.checkout_new_or_existing(p.branch);
  }
  // Already on the branch: the base is where an earlier run started it.
  if ((p.base.empty() || o.resume) && !o.update) p.base = earlier_base(p.root, p.branch, p.previous, p.base);
  if (p.base.empty()) p.base = p.repo.head_id();
  p.repo.pin_branch(p.branch);  // every commit from here on lands on the branch, or none does
}

}  // namespace

Prepared prepare(const Options& o) {
  check_options(o);
  Prepared p(open_repository(o));
  p.root = fs::canonical(p.repo.workdir());
  if (!o.route.empty()) {
    // --route names a route that fits, or the run stops before anything changes (as `kcat plan`).
    plan::Plan scratch;
    plan::add_routes(scratch, p.root, kb::load_routes(kb::default_data_dir() / "routes"), o.route);
  }
  std::tie(p.author_name, p.author_email) = parse_author(o.author, p.repo);
  p.branch = o.branch.empty() ? "kcat/" + o.target : o.branch;
  // The user's work is never lost: a branch kcat did not make, or one another work tree has, is
  // refused before anything changes; only tracked files under the path given are edited.
  patch::check_branch_owned(p.repo, p.branch);
  if (!o.allow_dirty) patch::check_not_checked_out_elsewhere(p.repo, p.branch);  // else: its own work tree
  p.within = fs::relative(fs::canonical(o.path), p.root).generic_string();
  // Resume: the latest unfinished run, and roll back a step that was cut off before its commit.
  if (o.resume) find_resumed_run(p);
  auto dirty = p.repo.dirty_files();
  if (!dirty.empty() && o.resume && p.repo.current_branch() == p.branch) {
    dirty = roll_back_interrupted_step(p.repo, p.previous, std::move(dirty));
  }
  if (!dirty.empty() && o.allow_dirty) {
    // The user's work stays where it is; the migration happens in a linked work tree of HEAD.
    auto wt_path = p.root / ".kcat" / "worktrees" / o.target;
    write_file_atomic(p.root / ".kcat" / ".gitignore", "*\n");
    p.repo.add_worktree("kcat-" + o.target, wt_path, p.branch);
    p.worktree = wt_path;
    return p;
  }
  if (!dirty.empty()) refuse_dirty(dirty, p.root);
  start_branch(p, o);
  write_file_atomic(p.root / ".kcat" / ".gitignore", "*\n");
  return p;
}

}  // namespace kcat::migrate
