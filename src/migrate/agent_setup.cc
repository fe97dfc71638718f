#include "kcat/migrate/agent_setup.h"

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

}  // namespace kcat::migrate
