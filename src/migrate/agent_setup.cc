#include "kcat/migrate/agent_setup.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "kcat/core/cancel.h"

namespace kcat::migrate {

agent::Options agent_options(const llm::LlmConfig& llm, const std::string& build_command,
                             const std::string& bench_command, const cli::Config& config,
                             const std::filesystem::path& root, const std::string& run_id,
                             report::Ledger& ledger) {
  if (!llm.api_key.empty()) ledger.add_secret(llm.api_key);
  agent::Options ao;
  ao.run_id = run_id;
  ao.policy.allowed_commands = config.allowed_commands;
  if (!build_command.empty()) ao.policy.allowed_commands.push_back(build_command);
  ao.check_command = config.agent_check;
  if (!config.agent_check.empty()) ao.policy.allowed_commands.push_back(config.agent_check);
  ao.bench_command = bench_command;
  ao.protected_files = cli::command_files(config, root);
  ao.record = [&ledger](const std::string& type, const nlohmann::json& j) { ledger.append(type, j); };
  ao.cancelled = [] { return cancel::requested(); };
  return ao;
}

agent::Options agent_options(const llm::LlmConfig& llm, const cli::Config& config,
                             const std::filesystem::path& root, const std::string& run_id,
                             report::Ledger& ledger) {
  return agent_options(llm, config.build_command, config.bench.command, config, root, run_id, ledger);
}

report::StepRecord agent_step_record(const agent::StepOutcome& st, const std::string& title,
                                     const patch::GitRepo& repo) {
  report::StepRecord rec;
  rec.id = st.id;
  rec.title = title;
  rec.action = "llm";
  rec.status = st.status == "done" ? "done" : "needs-person";
  rec.reason = st.reason;
  // A disputed finding was not fixed: a person reviews the model's reason.
  for (const auto& d : st.disputed) rec.reason += (rec.reason.empty() ? "" : "; ") + ("disputed " + d);
  // The edits of a step not done were reverted; the report names where they are kept.
  if (!st.attempt_ref.empty())
    rec.reason +=
        (rec.reason.empty() ? "" : "; ") + ("its edits were reverted and kept for review on " +
                                            st.attempt_ref + " (git log -p " + st.attempt_ref + ")");
  // Edits a person approved (-i) of a step not done stay on the branch: the report says what is left.
  if (st.status != "done" && !st.commits.empty())
    rec.reason +=
        (rec.reason.empty() ? "" : "; ") +
        fmt::format("not done: its {} edit(s) approved at the terminal stay on the branch; left: {}",
                    st.commits.size(),
                    st.left.empty() ? std::string("no site kcat flags")
                                    : fmt::format("{}", fmt::join(st.left, ", ")));
  rec.commit = st.commits.empty() ? "" : st.commits.back();
  if (!st.commits.empty()) rec.diff = repo.diff(st.commits.front() + "~1", st.commits.back());
  return rec;
}

bool still_found(const Finding& f, const std::vector<Finding>& after) {
  return std::any_of(after.begin(), after.end(), [&](const Finding& g) {
    return g.file == f.file && g.rule_id == f.rule_id && g.matched == f.matched;
  });
}

}  // namespace kcat::migrate
