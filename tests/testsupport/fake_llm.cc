#include "testsupport/fake_llm.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kcat::test {

using nlohmann::json;

namespace {

json usage_json(long p, long c) {
  return {{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}};
}

json completion(json message, const std::string& finish, long p, long c) {
  return {
      {"id", "chatcmpl-fake"},
      {"object", "chat.completion"},
      {"model", "fake"},
      {"choices", json::array({{{"index", 0}, {"message", std::move(message)}, {"finish_reason", finish}}})},
      {"usage", usage_json(p, c)}};
}

json chunk(json delta, json finish = nullptr) {
  return {{"id", "chatcmpl-fake"},
          {"object", "chat.completion.chunk"},
          {"model", "fake"},
          {"choices",
           json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}})}};
}

std::pair<long, long> usage_of(const json& j) {
  auto it = j.find("usage");
  if (it != j.end() && it->is_array() && it->size() == 2) return {(*it)[0].get<long>(), (*it)[1].get<long>()};
  return {10, 5};
}

std::string as_text(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

}  // namespace

Reply reply_text(const std::string& content, long p, long c) {
  Reply r;
  r.body = completion({{"role", "assistant"}, {"content", content}}, "stop", p, c).dump();
  return r;
}

Reply reply_tool_call(const std::string& name, const std::string& arguments_json, long p, long c) {
  Reply r;
  json call = {
      {"id", "call_1"}, {"type", "function"}, {"function", {{"name", name}, {"arguments", arguments_json}}}};
  r.body = completion({{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array({call})}},
                      "tool_calls", p, c)
               .dump();
  return r;
}

Reply stream_text(const std::vector<std::string>& chunks, long p, long c) {
  Reply r;
  r.sse_events.push_back(chunk({{"role", "assistant"}, {"content", ""}}).dump());
  for (const auto& text : chunks) r.sse_events.push_back(chunk({{"content", text}}).dump());
  json last = chunk(json::object(), "stop");
  last["usage"] = usage_json(p, c);
  r.sse_events.push_back(last.dump());
  return r;
}

Reply stream_tool_call(const std::string& name, const std::vector<std::string>& pieces) {
  Reply r;
  r.sse_events.push_back(
      chunk({{"role", "assistant"},
             {"content", nullptr},
             {"tool_calls", json::array({{{"index", 0},
                                          {"id", "call_1"},
                                          {"type", "function"},
                                          {"function", {{"name", name}, {"arguments", ""}}}}})}})
          .dump());
  for (const auto& piece : pieces) {
    r.sse_events.push_back(
        chunk({{"tool_calls", json::array({{{"index", 0}, {"function", {{"arguments", piece}}}}})}}).dump());
  }
  json last = chunk(json::object(), "tool_calls");
  last["usage"] = usage_json(10, 5);
  r.sse_events.push_back(last.dump());
  return r;
}

Reply reply_status(int status, const std::string& message) {
  Reply r;
  r.status = status;
  r.body = json{{"error", {{"message", message}, {"type", "fake"}, {"code", status}}}}.dump();
  return r;
}

std::vector<Reply> parse_scenario(const json& array) {
  if (!array.is_array()) throw std::runtime_error("a scenario is a JSON array of replies");
  std::vector<Reply> out;
  for (const auto& e : array) {
    if (!e.is_object()) throw std::runtime_error("a scenario reply is a JSON object");
    auto [p, c] = usage_of(e);
    Reply r;
    if (auto t = e.find("text"); t != e.end()) {
      r = reply_text(t->get<std::string>(), p, c);
    } else if (auto tc = e.find("tool_call"); tc != e.end()) {
      auto args = tc->find("arguments");
      r = reply_tool_call(tc->at("name").get<std::string>(), args == tc->end() ? "{}" : as_text(*args), p, c);
    } else if (auto s = e.find("stream"); s != e.end()) {
      r = stream_text(s->get<std::vector<std::string>>(), p, c);
    }
    if (auto it = e.find("status"); it != e.end()) r.status = it->get<int>();
    if (auto it = e.find("body"); it != e.end()) r.body = as_text(*it);
    if (auto it = e.find("headers"); it != e.end()) {
      for (auto& [k, v] : it->items()) r.headers[k] = as_text(v);
    }
    if (auto it = e.find("sse_events"); it != e.end()) {
      r.sse_events.clear();
      for (const auto& ev : *it) r.sse_events.push_back(as_text(ev));
    }
    if (auto it = e.find("cut_stream"); it != e.end()) r.cut_stream = it->get<bool>();
    if (auto it = e.find("delay_ms"); it != e.end()) r.delay_ms = it->get<int>();
    if (auto it = e.find("keepalive_ms"); it != e.end()) r.keepalive_ms = it->get<int>();
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<Reply> load_scenario(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read scenario " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("scenario " + path.string() + " is not valid JSON");
  return parse_scenario(j);
}

struct FakeLlm::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<bool> stopping{false};
  mutable std::mutex mu;
  std::deque<Reply> script;
  size_t served = 0;
  std::vector<json> requests;
  std::vector<std::string> auth;
  size_t context_limit = 0;
  size_t refused_context = 0;

  // Sleeps, but not past the server's shutdown.
  void wait(int ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stopping && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    Reply r;
    bool have = false;
    size_t n = 0;
    {
      std::lock_guard lock(mu);
      json body = json::parse(req.body, nullptr, false);
      requests.push_back(body.is_discarded() ? json(req.body) : body);
      auth.push_back(req.get_header_value("Authorization"));
      n = ++served;
      if (context_limit > 0 && req.body.size() > context_limit) {
        ++refused_context;
        res.status = 400;
        res.set_content(
            json{{"object", "error"},
                 {"message", "This model's maximum context length is " + std::to_string(context_limit / 4) +
                                 " tokens. However, you requested " + std::to_string(req.body.size() / 4) +
                                 " tokens in the messages. Please reduce the length of the messages."},
                 {"type", "BadRequestError"},
                 {"code", 400}}
                .dump(),
            "application/json");
        return;
      }
      if (!script.empty()) {
        r = std::move(script.front());
        script.pop_front();
        have = true;
      }
    }
    if (req.path != "/v1/chat/completions") {
      res.status = 404;
      res.set_content(json{{"error", {{"message", "fake llm: no route " + req.path}}}}.dump(),
                      "application/json");
      return;
    }
    if (!have) {
      res.status = 500;
      res.set_content(
          json{{"error", {{"message", "fake llm: script exhausted (request " + std::to_string(n) + ")"}}}}
              .dump(),
          "application/json");
      return;
    }
    if (r.delay_ms > 0) wait(r.delay_ms);
    res.status = r.status;
    for (const auto& [k, v] : r.headers) res.set_header(k, v);
    if (r.sse_events.empty() && r.keepalive_ms <= 0) {
      res.set_content(r.body, "application/json");
      return;
    }
    auto events = std::make_shared<std::vector<std::string>>(std::move(r.sse_events));
    bool cut = r.cut_stream;
    int keepalive_ms = r.keepalive_ms;
    res.set_chunked_content_provider("text/event-stream",
                                     [this, events, cut, keepalive_ms](size_t, httplib::DataSink& sink) {
                                       for (const auto& e : *events) {
                                         std::string frame = "data: " + e + "\n\n";
                                         if (!sink.write(frame.data(), frame.size())) return false;
                                       }
                                       while (keepalive_ms > 0 && !stopping) {  // until the client hangs up
                                         std::string comment = ": keepalive\n\n";
                                         if (!sink.write(comment.data(), comment.size())) return false;
                                         wait(keepalive_ms);
                                       }
                                       if (cut)
                                         return false;  // httplib drops the connection without the last chunk
                                       std::string done = "data: [DONE]\n\n";
                                       sink.write(done.data(), done.size());
                                       sink.done();
                                       return true;
                                     });
  }
};

FakeLlm::FakeLlm(std::vector<Reply> script) : impl_(std::make_unique<Impl>()) {
  for (auto& r : script) impl_->script.push_back(std::move(r));
  Impl* impl = impl_.get();
  auto handler = [impl](const httplib::Request& req, httplib::Response& res) { impl->handle(req, res); };
  impl_->server.Post(".*", handler);
  impl_->port = impl_->server.bind_to_any_port("127.0.0.1");
  if (impl_->port <= 0) throw std::runtime_error("fake llm: cannot bind 127.0.0.1");
  impl_->thread = std::thread([impl] { impl->server.listen_after_bind(); });
  // Server::stop() does nothing until the accept loop runs, so a FakeLlm destroyed right away would
  // leave the thread listening forever: wait for the loop.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!impl_->server.is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

FakeLlm::~FakeLlm() {
  impl_->stopping = true;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string FakeLlm::base_url() const { return "http://127.0.0.1:" + std::to_string(impl_->port) + "/v1"; }
int FakeLlm::port() const { return impl_->port; }

void FakeLlm::set_context_limit(size_t bytes) {
  std::lock_guard lock(impl_->mu);
  impl_->context_limit = bytes;
}

size_t FakeLlm::refused_for_context() const {
  std::lock_guard lock(impl_->mu);
  return impl_->refused_context;
}

std::vector<json> FakeLlm::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

std::vector<std::string> FakeLlm::auth_headers() const {
  std::lock_guard lock(impl_->mu);
  return impl_->auth;
}

size_t FakeLlm::request_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests.size();
}

void FakeLlm::push(Reply r) {
  std::lock_guard lock(impl_->mu);
  impl_->script.push_back(std::move(r));
}

}  // namespace kcat::test
