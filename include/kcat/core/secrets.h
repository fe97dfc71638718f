#pragma once
// The credentials kcat holds (the LLM API key): one process-wide list, so that every place text
// leaves kcat (the ledger, child processes) treats them the same way. Child processes never get
// the variables that hold them (child_environment in kcat/exec/process.h); the ledger replaces
// their values with "[REDACTED]" (redact below).
#include <string>
#include <vector>

namespace kcat::secrets {

// Registers a variable that holds a credential (the configured [llm] api_key_env) and the value
// kcat read from it (may be empty). KCAT_LLM_API_KEY and OPENAI_API_KEY are always known.
void add(const std::string& env_name, const std::string& value = {});

// The names of the variables to keep from child processes: the well-known LLM key variables and
// every registered one.
std::vector<std::string> env_names();

// The secret values: those registered, and the current values of env_names() (4 characters or more).
std::vector<std::string> values();

// `s` with every secret value replaced by "[REDACTED]".
std::string redact(std::string s);

}  // namespace kcat::secrets
