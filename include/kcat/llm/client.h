#pragma once
// OpenAI-compatible chat client over libcurl: POST {base_url}/chat/completions, streamed or not,
// with tools; retries with backoff on 429 / 5xx / timeouts / dropped streams; a circuit breaker so
// a dead endpoint costs one failed request per step at most twice per run; usage and cost totals.
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/llm/config.h"
#include "kcat/llm/message.h"
#include "kcat/llm/sse.h"

namespace kcat::llm {

// Thrown when Ctrl-C or SIGTERM (kcat::cancel) stopped a request or a retry wait: the one
// interruption exception, whose exit code is 128 + the signal.
using Interrupted = cancel::Interrupted;

// Thrown when the endpoint refused the request as longer than the model's context (HTTP 400
// "maximum context length" and its variants): the endpoint is alive, the prompt must shrink. It does
// not count toward the circuit breaker.
class ContextTooLong : public Error {
 public:
  using Error::Error;
};

// True when an error message from an endpoint says the prompt exceeds the context window (OpenAI,
// vLLM, llama.cpp, SGLang, DeepSeek, Qwen/DashScope phrasings).
bool context_length_error(const std::string& message);

// A rough count of the tokens a request takes: UTF-8 bytes / 3 plus a few per message (code and
// JSON run 3-4 bytes a token, CJK text about 3): an over- rather than an under-estimate.
long estimate_tokens(const std::vector<Message>& messages, const std::vector<ToolSpec>& tools = {});

using ExchangeFn =
    std::function<void(const nlohmann::json& request, const nlohmann::json& response_or_error)>;

struct ClientOptions {
  std::chrono::milliseconds base_delay{1'000};         // first backoff; doubles per retry, with jitter
  std::chrono::milliseconds max_delay{30'000};         // backoff cap
  std::chrono::milliseconds max_retry_after{120'000};  // a longer Retry-After is cut to this
  int max_failed_requests = 2;  // consecutive failed requests before the client refuses to ask again
  // Waits between tries. Default: sleeps in small slices and returns early on Ctrl-C.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Told before each wait: the try that failed (1-based), why, and how long the wait is.
  std::function<void(int attempt, const std::string& reason, std::chrono::milliseconds delay)> on_retry;
  // Every HTTP exchange: the request body (no key in it) and the response or {"error":...}.
  ExchangeFn on_exchange;
};

struct Totals {
  long prompt_tokens = 0;
  long completion_tokens = 0;
  double cost = 0.0;
  int requests = 0;         // chat() calls answered
  int attempts = 0;         // HTTP requests sent, retries included
  int failed_requests = 0;  // chat() calls that failed after their retries
};

class Client {
 public:
  explicit Client(LlmConfig config, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One chat completion. on_delta gets content text as it streams in (stream = true only; a retry
  // after a dropped stream starts the text again). Throws Error(Llm) when the endpoint failed for
  // good, Error(Usage) when no endpoint is configured, Interrupted on Ctrl-C.
  Completion chat(const std::vector<Message>& messages, const std::vector<ToolSpec>& tools = {},
                  const DeltaFn& on_delta = {});

  // The request body chat() would send (for logs, tests and the ledger; never contains the key).
  nlohmann::json request_body(const std::vector<Message>& messages, const std::vector<ToolSpec>& tools) const;

  const Totals& totals() const { return totals_; }
  const LlmConfig& config() const { return config_; }
  std::string endpoint() const;  // {base_url}/chat/completions
  bool tripped() const { return consecutive_failures_ >= options_.max_failed_requests; }
  void set_on_exchange(ExchangeFn fn) { options_.on_exchange = std::move(fn); }

 private:
  struct Attempt;
  Attempt perform(const std::string& body, const DeltaFn& on_delta);
  std::chrono::milliseconds backoff(int retry);
  std::string scrub(std::string s) const;
  void exchange(const nlohmann::json& req, const nlohmann::json& resp) const;

  LlmConfig config_;
  ClientOptions options_;
  Totals totals_;
  int consecutive_failures_ = 0;
  std::mt19937 rng_;
};

}  // namespace kcat::llm
