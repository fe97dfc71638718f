#pragma once
// Which OpenAI-compatible endpoint to ask, and how: the [llm] table of kcat.toml plus environment
// variables. The API key is read from the environment only, so it never lands in a file under git.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace kcat::llm {

struct LlmConfig {
  std::string base_url;  // e.g. http://127.0.0.1:8000/v1 (no trailing slash)
  std::string model;
  std::string api_key;      // runtime only: from the environment, never from a file
  std::string api_key_env;  // name of the environment variable that holds the key
  double temperature = 0.0;
  int max_tokens = 0;                      // 0: not sent, the server decides
  double price_prompt_per_mtok = 0.0;      // currency units per million prompt tokens
  double price_completion_per_mtok = 0.0;  // ... per million completion tokens
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds read_timeout{120'000};  // longest silence while waiting for bytes
  int max_retries = 4;                              // retries after the first try
  bool stream = true;
  // The model's context window: each request is kept within it (old tool outputs elided, then old
  // turns summarized), and an endpoint's "maximum context length" refusal shrinks it and retries.
  long context_tokens = 32768;
  // Prompt + completion tokens one agent step may use before it goes to a person; 0 = no cap.
  long step_tokens = 200000;
  std::filesystem::path file;  // the kcat.toml it came from; empty when none

  // base_url and model are set.
  bool configured() const { return !base_url.empty() && !model.empty(); }
};

// Reads [llm] from each of `files` in order (a later file's keys override an earlier one's: the
// caller passes only files the user trusts, see kcat/cli/config.h), then applies the environment:
// KCAT_LLM_BASE_URL, KCAT_LLM_MODEL, KCAT_LLM_API_KEY override; OPENAI_BASE_URL and OPENAI_API_KEY
// are fallbacks; api_key_env names another key variable. Throws Error(Usage) with "file:line" for
// invalid TOML, unknown keys, wrong types or an api_key written into the file.
// The key and api_key_env are registered with kcat/core/secrets.h (kept from child processes and
// the ledger).
LlmConfig load_llm_config(const std::vector<std::filesystem::path>& files);

// Checks the [llm] table of `file` (the errors load_llm_config throws) without using it: a file
// that is not trusted is still validated before a run touches the repository.
void validate_llm_config(const std::filesystem::path& file);

// Where the key came from, for messages ("KCAT_LLM_API_KEY", "$DEEPSEEK_API_KEY", "none").
std::string describe_key_source(const LlmConfig& config);

}  // namespace kcat::llm
