#pragma once
// Chat messages, tool specs and completions in the shape of the OpenAI chat completions API.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kcat::llm {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON text as the model wrote it; may be invalid JSON
};

struct Message {
  std::string role;  // system, user, assistant, tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant messages only
  std::string tool_call_id;          // tool messages: the call answered
  std::string name;                  // optional participant / tool name

  static Message system(std::string text) { return {"system", std::move(text), {}, {}, {}}; }
  static Message user(std::string text) { return {"user", std::move(text), {}, {}, {}}; }
  static Message assistant(std::string text) { return {"assistant", std::move(text), {}, {}, {}}; }
  static Message tool(std::string call_id, std::string text) {
    return {"tool", std::move(text), {}, std::move(call_id), {}};
  }
};

struct ToolSpec {
  std::string name;
  std::string description;
  nlohmann::json parameters = nlohmann::json::object();  // a JSON Schema object
};

struct Usage {
  long prompt_tokens = 0;
  long completion_tokens = 0;
};

struct Completion {
  Message message;            // role "assistant"
  std::string finish_reason;  // stop, tool_calls, length, ...
  Usage usage;
  double cost = 0.0;  // from the configured prices
  int attempts = 0;   // HTTP requests this completion took (1 = no retry)
};

nlohmann::json to_json(const Message& m);
nlohmann::json to_json(const ToolSpec& t);  // {"type":"function","function":{...}}
// Tolerant reader: null or missing content is "", content given as parts is joined, object
// arguments are serialised.
Message message_from_json(const nlohmann::json& j);

}  // namespace kcat::llm
