#pragma once
// The agent: for each plan step no codemod or recipe covers, an LLM reads the code through tools
// confined to the repository, proposes edits, and kcat applies each through the same
// patch -> verify -> commit gate as a rule's edit. Repository text is data: nothing in a file
// widens what the agent may do. Budgets, a loop guard and a circuit breaker end a step or the
// run; a step that cannot be finished is marked for a person with the reason.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/kb/knowledge.h"
#include "kcat/kb/rule.h"
#include "kcat/llm/client.h"
#include "kcat/patch/gate.h"
#include "kcat/patch/git.h"

namespace kcat::agent {

// What the agent may do beyond reading and editing.
struct Policy {
  // A person at the terminal approves each edit (approve_edit) and each command (approve_command).
  bool interactive = false;
  // The committed edits of a step not done stay on the branch (a person approved each: kcat chat,
  // kcat migrate -i); the step is reported not done with the sites it left. Otherwise they are
  // reverted and kept on refs/kcat/attempts/<run>/<step>.
  bool keep_unfinished = false;
  // CI: only these commands (exactly, after trimming) may run: the build, test and bench commands
  // of kcat.toml. Interactive: the person approves each command.
  std::vector<std::string> allowed_commands;
  std::function<bool(const std::string& command)> approve_command;                     // interactive
  std::function<bool(const std::string& file, const std::string& diff)> approve_edit;  // interactive
  std::chrono::milliseconds command_timeout{std::chrono::minutes(10)};
};

struct Budgets {
  int max_turns = 16;      // model calls per step
  long max_tokens = 0;     // prompt + completion tokens for the run; 0 = none
  double max_cost = 0;     // run; 0 = none
  double max_minutes = 0;  // run; 0 = none
};

struct Task {
  std::string id;  // plan step id
  std::string title;
  std::string rationale;
  std::vector<Finding> findings;
  // A plan step is done when kcat's re-scan finds none of its findings; a person's free-form
  // request (the interactive session) has no such check: the model's finish_step decides.
  bool check_findings = true;
  // Why the step is the model's (issue 18 §2): no codemod has a fix for its sites, the recipe its plan
  // step names does not exist or did not apply, or the recipe is a task for the model. "" = not said.
  std::string why = "";
};

struct StepOutcome {
  std::string id;
  std::string status;  // done | needs-person
  std::string reason;  // what was done, or why a person must take over
  // A done step's edits: one commit. A step not done leaves none on the branch (its edits are
  // reverted; attempt_ref keeps them for review), except under Policy::keep_unfinished, where the
  // person approved each edit and they stay as made.
  std::vector<std::string> commits;
  std::string attempt_ref;  // refs/kcat/attempts/<run>/<step> when edits of a step not done were reverted
  int turns = 0;
  std::vector<std::string> disputed;  // findings the model showed false, "file:line rule: reason"
  // A step not done whose edits stayed (Policy::keep_unfinished): its sites still there, "file:line rule
  // [matched]".
  std::vector<std::string> left;
};

struct Outcome {
  std::vector<StepOutcome> steps;
  bool llm_failed = false;        // the endpoint failed for good (exit 4)
  bool budget_exhausted = false;  // a budget stopped the run (exit 5)
  bool loop_detected = false;     // the same failing edit twice (exit 6)
  llm::Totals usage;
};

struct Options {
  std::string target = "ascend-a2";
  std::string author_name = "kcat";
  std::string author_email = "kcat@localhost";
  std::string run_id;
  std::string upstream;  // the branch the port started from: the Kcat-Upstream trailer of its commits
  Policy policy;
  Budgets budgets;
  std::string bench_command;  // for the run_bench tool (kcat.toml [bench] command)
  // The repository's check (kcat.toml [agent] check, from a trusted file only): run after each edit
  // (the model sees the result) and when the model finishes; a step is done only when it passes.
  std::string check_command;
  // Files the configured commands run (hook and build scripts, repository-relative): edit_file refuses
  // them, as it refuses kcat's own configuration (kcat.toml, .kcat/) anywhere in the repository.
  std::vector<std::string> protected_files;
  // A team's gate (after_edit, before_commit), as in migrate.
  std::function<std::optional<std::string>(const std::string& stage, const std::vector<std::string>& files)>
      hook;
  std::function<void(const std::string& type, const nlohmann::json& fields)> record;  // the ledger
  std::function<void(std::string_view text)> on_text;  // the model's words as they stream (terminal)
  std::function<bool()> cancelled;
};

// The tools offered to the model, each a JSON Schema function.
std::vector<llm::ToolSpec> tool_specs();
// Those the model can use under `options`: run_command only when some command may run (the
// interactive person decides, or unattended commands are listed), run_bench only with a bench command.
std::vector<llm::ToolSpec> tool_specs(const Options& options);

// One run of the repository's check at a commit.
struct CheckRun {
  bool ok = false;
  std::string kind;    // "passed", "exit 1", "timed out", "killed by signal 9", "could not start"
  std::string output;  // stdout + stderr (the tail)
};

// The tools themselves, confined to the repository (tested on their own).
class Workspace {
 public:
  Workspace(patch::GitRepo& repo, const kb::RuleSet& rules, const kb::KnowledgeBase& kb,
            const Options& options);
  // Runs one tool call; returns the text for the model. Never throws for the model's mistakes
  // (unknown tool, bad JSON, a path outside the repository, an edit that does not match): those
  // come back as "error: ..." so the model can correct itself.
  std::string call(const std::string& name, const std::string& arguments_json);
  // Edits committed by this workspace (since construction or the last take_commits()).
  std::vector<std::string> take_commits();
  bool finished() const { return finished_; }
  const std::string& finish_status() const { return finish_status_; }
  const std::string& finish_summary() const { return finish_summary_; }
  // Starts a step: the task's findings as the files are now (an earlier step's edits moved or fixed
  // some), HEAD as the step's base.
  void reset_step(const Task& task);
  // The current step's task, its findings re-scanned by reset_step.
  const Task& task() const { return task_; }
  // HEAD when the step started.
  const std::string& step_base() const { return step_base_; }
  // The check command's result for HEAD (run at most once per commit), judged against its run at the
  // step's base: passed (or failing only as it already failed there), and what to show.
  struct Check {
    bool passed = true;
    std::string text;  // "" when no check is configured
    std::string note;  // "the check already fails at the base: …" when that failure was not counted
  };
  Check check();
  // finish_step was refused: the step goes on with its edits and disputes.
  void reopen();
  // The last edit failure's fingerprint (file + search + replace), when the last edit failed.
  const std::string& last_failed_edit() const { return last_failed_edit_; }
  // What keeps the step from being done, for the model ("" when nothing does): its findings still
  // there (unless guarded, disputed with a reason, or the environment's), and names the step's edits
  // left used but never bound, or imports of repository modules that do not exist.
  std::string unfinished();
  // The step's findings still there and not guarded, disputed or the environment's,
  // "file:line rule [matched]".
  std::vector<std::string> left();
  // The knowledge base's entries for the names the step's findings match (the fused operator with
  // how its arguments map, the API's note and behaviour), for the task; at most about 4,000 bytes.
  std::string knowledge();
  // The files the step's edits changed.
  std::vector<std::string> edited_files() const;
  // The findings disputed in this step, "file:line rule: reason".
  std::vector<std::string> disputes() const;

 private:
  std::string dispatch(const std::string& name, const std::string& arguments_json);
  std::optional<std::filesystem::path> confined(const std::string& path, std::string& error) const;
  std::string kcat_owned(const std::string& file) const;
  std::string list_files(const nlohmann::json& a);
  std::string read_file(const nlohmann::json& a);
  std::string search(const nlohmann::json& a);
  std::string scan(const nlohmann::json& a);
  std::string kb_lookup(const nlohmann::json& a);
  // The knowledge base's entries for `name`, best first (rank 0 exact .. 4 a near spelling).
  std::vector<std::pair<int, std::string>> lookup(const std::string& name, bool with_rules) const;
  std::string edit_file(const nlohmann::json& a);
  std::string run_command(const nlohmann::json& a);
  std::string run_bench(const nlohmann::json& a);
  std::string finish_step(const nlohmann::json& a);
  std::string dispute_finding(const nlohmann::json& a);
  // The task's findings of `file` (or of `files`, in one scan) as they are now, by its rules.
  std::vector<Finding> current_findings(const std::string& file);
  std::vector<Finding> current_findings(const std::set<std::string>& files);
  // Every finding (any rule) in `files`, in one scan.
  std::vector<Finding> scan_files(const std::set<std::string>& files);
  // After a committed edit: the findings delta of the step's files and the check's result.
  std::string feedback();

  patch::GitRepo& repo_;
  std::filesystem::path root_;
  const kb::RuleSet& rules_;
  const kb::KnowledgeBase& kb_;
  const Options& o_;
  Task task_;
  std::vector<std::string> commits_;
  bool finished_ = false;
  std::string finish_status_, finish_summary_, last_failed_edit_;
  std::map<std::string, std::string> step_before_;  // file -> its bytes before the step's first edit
  std::string step_base_;
  std::set<std::string> step_files_;  // the findings' files and the files the step edited
  std::vector<Finding> seen_;         // the step's files' findings after the last edit (for the delta)
  // The check's run at a commit (the steps' bases and each edit's HEAD), run at most once each.
  std::map<std::string, CheckRun> check_runs_;
  const CheckRun& run_check(const std::string& commit);
  // The step's findings still there and not guarded, disputed or the environment's (left() without
  // the names the edits broke).
  std::vector<std::string> sites_left();
  struct Dispute {
    std::string file, rule_id, matched, reason;
    uint32_t line = 0;
  };
  std::vector<Dispute> disputes_;
};

// Runs the loop over the tasks, in order. Each step starts from the findings as the files are then
// (re-scanned) and the running summary of the earlier steps; a step whose findings earlier steps
// resolved is done without a model call. A done step's edits stay as one commit whatever happens later;
// those of a step not done are reverted onto StepOutcome::attempt_ref (see StepOutcome::commits).
Outcome run(llm::Client& client, patch::GitRepo& repo, const std::vector<Task>& tasks,
            const kb::RuleSet& rules, const kb::KnowledgeBase& kb, const Options& options);

// Where the edit commits of a step not done are kept: refs/kcat/attempts/<run>/<step> (characters
// other than [A-Za-z0-9_-] become '-'; GitRepo::set_ref adds -2, -3, ... when it exists).
std::string attempt_ref(const std::string& run_id, const std::string& step_id);

}  // namespace kcat::agent
