// steps: one change (a codemod step, a port recipe, the shim) through the patch -> verify ->
// commit gate, with the team's [hooks], -i approval, the ledger's step events and the kill points.
#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "kcat/config/hooks.h"
#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"
#include "kcat/migrate/phases.h"
#include "kcat/patch/gate.h"

namespace kcat::migrate {

namespace {

// Tests kill the process at a named point to prove that an interruption loses nothing:
// KCAT_TEST_KILL_AT=<point>:<n> raises SIGKILL at the n-th time the point is reached.
}  // namespace

void kill_point(const char* point) {
  static std::map<std::string, int> seen;
  const char* spec = std::getenv("KCAT_TEST_KILL_AT");
  if (!spec) return;
  std::string s(spec);
  auto colon = s.find(':');
  if (s.substr(0, colon) != point) return;
  int n = colon == std::string::npos ? 1 : std::atoi(s.c_str() + colon + 1);
  if (++seen[point] == n) std::raise(SIGKILL);
}

namespace {

void at_point(const Run& r, const char* point) {
  if (r.o.at_point) {
    r.o.at_point(point);
  } else {
    kill_point(point);
  }
}

std::optional<std::string> ask_before_commit(Run& r, const std::vector<std::string>& files) {
  auto diff = r.p.repo.diff(r.p.repo.head_id(), "");
  auto a = r.o.approve(fmt::format("Commit step {} ({} file(s))?", r.current_step, files.size()), diff,
                       r.current_why);
  r.ledger->append("approval", {{"step", r.current_step}, {"answer", a == Approval::No ? "no" : "yes"}});
  if (a == Approval::All) r.approve_all = true;
  if (a == Approval::No) {
    r.step_declined = true;
    return std::string("declined by the person at the terminal");
  }
  return std::nullopt;
}

patch::GateOptions gate_options(Run& r, const std::string& message, const std::string& step_id,
                                const std::string& rule_list) {
  patch::GateOptions g;
  g.message = message;
  g.author_name = r.p.author_name;
  g.author_email = r.p.author_email;
  g.trailers = {{"Kcat-Run", r.run_id}, {"Kcat-Step", step_id}, {"Kcat-Rules", rule_list}};
  // Where the port started: `--update` in a fresh clone (no .kcat/runs) reads it back.
  if (!r.p.from_branch.empty() && r.p.from_branch != r.p.branch)
    g.trailers["Kcat-Upstream"] = r.p.from_branch;
  g.before_commit = [&r] { at_point(r, "before-commit"); };
  g.hook = [&r](const std::string& stage, const std::vector<std::string>& files) {
    return run_hooks(r, stage, files);
  };
  g.within = r.p.within;
  // A step that leaves a name undefined or imports a module it cannot reach is refused (issue 12):
  // only what the step adds counts, never what the repository already had.
  g.names = patch::NameCheck::Refuse;
  g.cancelled = [] { return cancel::requested(); };
  g.journal = [&r, step_id](const patch::StepJournal& j) {
    r.ledger->append("step-journal", {{"step", step_id}, {"files", patch::journal_json(j)}});
  };
  r.current_step = step_id;
  r.current_why = message;
  return g;
}

void record_started(Run& r, const StepWork& w, const std::set<std::string>& files) {
  r.ledger->append("step-applying", {{"step", w.id},
                                     {"key", w.key},
                                     {"title", w.title},
                                     {"edits", w.patch.edits.size()},
                                     {"files", std::vector<std::string>(files.begin(), files.end())}});
  events::emit("step-started", {{"step", w.id}, {"edits", w.patch.edits.size()}, {"files", files.size()}});
}

void record_committed(Run& r, const StepWork& w, const patch::GateOutcome& g, long ms) {
  for (auto& f : w.applied) {
    r.book.fixed.push_back(
        {f, "fixed", w.recipe_id.empty() ? f.codemod : "recipe:" + w.recipe_id, w.id, g.commit});
  }
  for (auto& f : w.unported) {
    // Once per site: two steps that both edit a file report its missing torch_npu import once.
    bool known = std::any_of(r.unported.begin(), r.unported.end(),
                             [&](auto& e) { return e.rule_id == f.rule_id && e.file == f.file; });
    if (known) continue;
    r.unported.push_back(f);
    r.ledger->append("site-unported",
                     {{"step", w.id}, {"file", f.file}, {"rule", f.rule_id}, {"why", f.message}});
  }
  r.ledger->append("step-committed", {{"step", w.id},
                                      {"key", w.key},
                                      {"title", w.title},
                                      {"commit", g.commit},
                                      {"files", g.files},
                                      {"checks", g.checks},
                                      {"edits", w.patch.edits.size()},
                                      {"ms", ms}});
  events::emit("step-committed", {{"step", w.id}, {"commit", g.commit}});
  r.out.changed_anything = true;
}

// A failed step, or one the person declined at the prompt (step-declined: a choice, not a failure).
void record_failed(Run& r, const StepWork& w, const patch::GateOutcome& g, long ms, bool declined) {
  r.ledger->append(declined ? "step-declined" : "step-failed", {{"step", w.id},
                                                                {"key", w.key},
                                                                {"title", w.title},
                                                                {"reason", g.reason},
                                                                {"failed_checks", g.failed_checks},
                                                                {"ms", ms}});
  events::emit(declined ? "step-declined" : "step-failed", {{"step", w.id}, {"reason", g.reason}});
}

}  // namespace

std::optional<std::string> run_hooks(Run& r, const std::string& stage,
                                     const std::vector<std::string>& files) {
  std::string list;
  for (auto& f : files) list += (list.empty() ? "" : " ") + f;
  if (auto veto = cli::run_hook(r.env.config, stage, r.p.root,
                                {{"KCAT_STEP", r.current_step}, {"KCAT_FILES", list}, {"KCAT_RUN", r.run_id}},
                                r.ledger.get())) {
    return veto;
  }
  if (stage == "before_commit" && r.o.approve && !r.approve_all) return ask_before_commit(r, files);
  return std::nullopt;
}

void run_step(Run& r, const StepWork& w) {
  std::set<std::string> files, rule_ids;
  for (auto& e : w.patch.edits) files.insert(e.file);
  for (auto& f : w.applied) rule_ids.insert(f.rule_id);
  std::string rule_list;
  for (auto& id : rule_ids) rule_list += (rule_list.empty() ? "" : ", ") + id;
  cancel::throw_if_requested();  // between steps: nothing of this one has started
  record_started(r, w, files);
  at_point(r, "before-apply");
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
        .count();
  };
  patch::GateOutcome g;
  r.step_declined = false;
  report::StepRecord rec;
  rec.id = w.id;
  rec.title = w.title;
  rec.action = w.recipe_id.empty() ? "codemod" : "recipe";
  try {
    g = patch::apply_verify_commit(r.p.repo, w.patch, gate_options(r, w.patch.message, w.id, rule_list));
  } catch (const patch::BranchMoved&) {
    throw;  // HEAD is not the migration branch: stop, commit nothing anywhere
  } catch (const Error& e) {
    // The disk or git failed (disk full), not the step: stop without recording the step as
    // failed, so `--resume` tries it again; its files are rolled back (here, or from the journal
    // by the next kcat command).
    if (e.kind() == ErrorKind::Io || e.kind() == ErrorKind::Git) throw;
    g.failed_checks.push_back("apply");
    g.reason = e.what() + (e.where().empty() ? std::string() : " (" + e.where() + ")");
  }
  if (!g.committed && cancel::requested()) {
    // Ctrl-C or SIGTERM during the step: the gate rolled it back (a hook or check it cut short
    // proves nothing), so it is neither failed nor done, and `--resume` runs it again.
    r.ledger->append("step-interrupted", {{"step", w.id}, {"key", w.key}, {"rolled_back", g.files}});
    throw cancel::Interrupted("the step in progress (" + w.id + ") was rolled back");
  }
  rec.checks = g.checks;
  rec.failed_checks = g.failed_checks;
  rec.diff = g.diff;
  if (g.committed) {
    at_point(r, "after-commit");
    rec.status = "done";
    rec.commit = g.commit;
    record_committed(r, w, g, elapsed_ms());
  } else if (!g.failed_checks.empty()) {
    // Declined: the prompt was the only gate that said no (the checks and hooks before it passed).
    bool declined = r.step_declined && g.failed_checks == std::vector<std::string>{"hook:before_commit"};
    rec.status = declined ? "declined" : "failed";
    rec.reason = g.reason;
    record_failed(r, w, g, elapsed_ms(), declined);
  } else {
    rec.status = "skipped";
    rec.reason = w.recipe_id.empty() ? "nothing to change"
                                     : "recipe " + w.recipe_id + " found nothing it can change in this code";
  }
  r.book.records[w.key] = rec;
  r.book.order.push_back(w.key);
}

}  // namespace kcat::migrate
