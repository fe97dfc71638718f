#pragma once
// A scripted OpenAI-compatible server for tests: POST /v1/chat/completions on 127.0.0.1, each request
// answered by the next Reply of the script (plain JSON, an SSE stream, an error, a delay, a cut).
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kcat::test {

struct Reply {
  int status = 200;
  std::string body;                            // raw; may be malformed on purpose
  std::map<std::string, std::string> headers;  // e.g. {"Retry-After", "1"}
  std::vector<std::string> sse_events;         // if set: text/event-stream, each sent as "data: <e>\n\n"
  bool cut_stream = false;                     // close after the events, without "data: [DONE]"
  int delay_ms = 0;                            // wait before answering (read timeouts)
  int keepalive_ms = 0;  // if set: after the events, ": keepalive" comments at this period, forever
};

// {"choices":[{"message":{"role":"assistant","content":content},"finish_reason":"stop"}],"usage":...}
Reply reply_text(const std::string& content, long prompt_tokens = 10, long completion_tokens = 5);
// One tool call (id "call_1"), finish_reason "tool_calls".
Reply reply_tool_call(const std::string& name, const std::string& arguments_json, long prompt_tokens = 10,
                      long completion_tokens = 5);
// One content event per chunk, then an event with finish_reason "stop" and usage, then [DONE].
Reply stream_text(const std::vector<std::string>& chunks, long prompt_tokens = 10,
                  long completion_tokens = 5);
// A streamed tool call whose arguments arrive in the given pieces.
Reply stream_tool_call(const std::string& name, const std::vector<std::string>& argument_pieces);
Reply reply_status(int status, const std::string& message = "fake error");

// A scenario file (tests/fixtures/llm/*.json) is a JSON array; each element is either a raw reply
// {"status","body" (string or JSON),"headers","sse_events" (strings or JSON),"cut_stream","delay_ms",
// "keepalive_ms"}
// or a shorthand: {"text": "..."}, {"tool_call": {"name": "...", "arguments": {...} or "..."}},
// {"stream": ["chunk", ...]}; shorthands accept "usage": [prompt, completion].
std::vector<Reply> load_scenario(const std::filesystem::path& path);
std::vector<Reply> parse_scenario(const nlohmann::json& array);

class FakeLlm {
 public:
  explicit FakeLlm(std::vector<Reply> script);
  ~FakeLlm();
  FakeLlm(const FakeLlm&) = delete;
  FakeLlm& operator=(const FakeLlm&) = delete;

  std::string base_url() const;  // http://127.0.0.1:PORT/v1
  int port() const;
  std::vector<nlohmann::json> requests() const;   // bodies received, in order (unparseable: as a string)
  std::vector<std::string> auth_headers() const;  // Authorization header per request ("" if none)
  size_t request_count() const;
  void push(Reply r);  // appends to the script
  // Like a server with a small context window: a request body above `bytes` is answered HTTP 400
  // "maximum context length" (vLLM's words) without using a reply of the script. 0 = no limit.
  void set_context_limit(size_t bytes);
  size_t refused_for_context() const;  // requests so answered

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kcat::test
