#include "kcat/llm/sse.h"
#include "kcat/core/json.h"

#include <nlohmann/json.hpp>

namespace kcat::llm {

using nlohmann::json;

void SseParser::feed(std::string_view bytes, const std::function<void(std::string_view)>& on_data) {
  buf_.append(bytes);
  size_t start = 0;
  for (;;) {
    size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view l(buf_.data() + start, nl - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    line(l, on_data);
    start = nl + 1;
  }
  buf_.erase(0, start);
}

void SseParser::finish(const std::function<void(std::string_view)>& on_data) {
  if (!buf_.empty()) {
    std::string rest = std::move(buf_);
    buf_.clear();
    if (!rest.empty() && rest.back() == '\r') rest.pop_back();
    line(rest, on_data);
  }
  if (has_data_) line({}, on_data);
}

void SseParser::line(std::string_view l, const std::function<void(std::string_view)>& on_data) {
  if (l.empty()) {  // blank line: dispatch
    if (has_data_) {
      std::string data = std::move(data_);
      data_.clear();
      has_data_ = false;
      on_data(data);
    }
    return;
  }
  if (l.front() == ':') return;  // comment / keep-alive
  auto colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field != "data") return;
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

namespace {

std::string str_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

long long_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->get<long>();
}

}  // namespace

void StreamAssembler::add(std::string_view data, const DeltaFn& on_delta) {
  ++events_;
  if (data == "[DONE]") {
    done_ = true;
    return;
  }
  json chunk = json::parse(data, nullptr, false);
  if (chunk.is_discarded() || !chunk.is_object()) {
    if (malformed_.empty())
      malformed_ = "malformed JSON in stream event: " + std::string(data.substr(0, 120));
    return;
  }
  if (auto e = chunk.find("error"); e != chunk.end() && !e->is_null()) {
    error_ = e->is_object() ? str_of(*e, "message") : json_text(*e);
    if (error_.empty()) error_ = json_text(*e);
    return;
  }
  if (auto u = chunk.find("usage"); u != chunk.end() && u->is_object()) {
    usage_.prompt_tokens = long_of(*u, "prompt_tokens");
    usage_.completion_tokens = long_of(*u, "completion_tokens");
  }
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return;
  const json& choice = choices->front();
  if (!choice.is_object()) return;
  if (auto fr = str_of(choice, "finish_reason"); !fr.empty()) finish_reason_ = fr;
  auto delta = choice.find("delta");
  if (delta == choice.end() || !delta->is_object()) return;
  if (auto text = str_of(*delta, "content"); !text.empty()) {
    message_.content += text;
    if (on_delta) on_delta(text);
  }
  auto calls = delta->find("tool_calls");
  if (calls == delta->end() || !calls->is_array()) return;
  int position = 0;
  for (const auto& c : *calls) {
    if (!c.is_object()) continue;
    int index = position++;
    if (auto ix = c.find("index"); ix != c.end() && ix->is_number_integer()) index = ix->get<int>();
    size_t slot = 0;
    while (slot < tool_index_.size() && tool_index_[slot] != index) ++slot;
    if (slot == tool_index_.size()) {
      tool_index_.push_back(index);
      message_.tool_calls.emplace_back();
    }
    ToolCall& tc = message_.tool_calls[slot];
    if (auto id = str_of(c, "id"); !id.empty() && tc.id.empty()) tc.id = id;
    auto f = c.find("function");
    if (f == c.end() || !f->is_object()) continue;
    if (auto name = str_of(*f, "name"); !name.empty() && tc.name.empty()) tc.name = name;
    if (auto a = f->find("arguments"); a != f->end()) {
      if (a->is_string()) {
        tc.arguments += a->get<std::string>();
      } else if (!a->is_null()) {
        tc.arguments += json_text(*a);
      }
    }
  }
}

}  // namespace kcat::llm
