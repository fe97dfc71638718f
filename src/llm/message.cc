#include "kcat/llm/message.h"

namespace kcat::llm {

using nlohmann::json;

json to_json(const Message& m) {
  json j = {{"role", m.role}};
  if (!m.tool_calls.empty()) {
    // OpenAI wants null content on an assistant message that only calls tools.
    j["content"] = m.content.empty() ? json(nullptr) : json(m.content);
    json calls = json::array();
    for (const auto& c : m.tool_calls) {
      calls.push_back(
          {{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    }
    j["tool_calls"] = std::move(calls);
  } else {
    j["content"] = m.content;
  }
  if (!m.tool_call_id.empty()) j["tool_call_id"] = m.tool_call_id;
  if (!m.name.empty()) j["name"] = m.name;
  return j;
}

json to_json(const ToolSpec& t) {
  json params =
      t.parameters.is_object() ? t.parameters : json{{"type", "object"}, {"properties", json::object()}};
  return {
      {"type", "function"},
      {"function", {{"name", t.name}, {"description", t.description}, {"parameters", std::move(params)}}}};
}

namespace {

std::string str_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string content_text(const json& c) {
  if (c.is_string()) return c.get<std::string>();
  std::string out;
  if (c.is_array()) {
    for (const auto& part : c) {
      if (part.is_string()) {
        out += part.get<std::string>();
      } else if (part.is_object()) {
        out += str_field(part, "text");
      }
    }
  }
  return out;
}

}  // namespace

Message message_from_json(const json& j) {
  Message m;
  if (!j.is_object()) return m;
  m.role = str_field(j, "role");
  if (auto it = j.find("content"); it != j.end()) m.content = content_text(*it);
  m.tool_call_id = str_field(j, "tool_call_id");
  m.name = str_field(j, "name");
  if (auto it = j.find("tool_calls"); it != j.end() && it->is_array()) {
    for (const auto& c : *it) {
      if (!c.is_object()) continue;
      ToolCall tc;
      tc.id = str_field(c, "id");
      if (auto f = c.find("function"); f != c.end() && f->is_object()) {
        tc.name = str_field(*f, "name");
        if (auto a = f->find("arguments"); a != f->end()) {
          // dump as json_text does (GCC 12 reports a false null dereference when *a is passed on)
          tc.arguments = a->is_string() ? a->get<std::string>()
                                        : a->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        }
      }
      m.tool_calls.push_back(std::move(tc));
    }
  }
  return m;
}

}  // namespace kcat::llm
