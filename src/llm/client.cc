#include "kcat/llm/client.h"
#include "kcat/core/json.h"

#include <curl/curl.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include "curl_api.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "kcat/core/cancel.h"
#include "kcat/core/events.h"
#include "kcat/core/text.h"

namespace kcat::llm {

using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxBody = 64u << 20;  // a runaway response stops here

const char* kHint =
    "check base_url / model / key (KCAT_LLM_BASE_URL, KCAT_LLM_MODEL, KCAT_LLM_API_KEY or [llm] in "
    "kcat.toml) "
    "and that the endpoint is up; see docs/llm.md";

std::string seconds(milliseconds ms) {
  return fmt::format("{:g}s", static_cast<double>(ms.count()) / 1000.0);
}

// The server's own words about an error, shortened: {"error":{"message":...}} or the raw text.
std::string server_message(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  std::string msg;
  if (!j.is_discarded() && j.is_object()) {
    if (auto e = j.find("error"); e != j.end()) {
      if (e->is_object()) {
        if (auto m = e->find("message"); m != e->end() && m->is_string()) msg = m->get<std::string>();
      } else if (e->is_string()) {
        msg = e->get<std::string>();
      }
    }
    if (msg.empty()) {
      if (auto m = j.find("message"); m != j.end() && m->is_string()) msg = m->get<std::string>();
    }
  }
  if (msg.empty()) msg = trim(body);
  for (auto& ch : msg) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  if (msg.size() > 300) msg = msg.substr(0, 300) + "...";
  return msg;
}

void default_sleep(milliseconds d) {
  auto until = Clock::now() + d;
  while (Clock::now() < until && !cancel::requested()) {
    std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(50), until - Clock::now()));
  }
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_api(); });  // loads libcurl and runs curl_global_init
}

struct CurlHandles {
  CURL* easy = nullptr;
  CURLM* multi = nullptr;
  curl_slist* headers = nullptr;
  ~CurlHandles() {
    if (multi && easy) curl_api().multi_remove_handle(multi, easy);
    if (easy) curl_api().easy_cleanup(easy);
    if (multi) curl_api().multi_cleanup(multi);
    if (headers) curl_api().slist_free_all(headers);
  }
};

}  // namespace

namespace {

struct Transfer {
  CURL* easy = nullptr;
  bool stream = false;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  long status = 0;
  bool sse = false;  // status 200 on a streamed request: feed the parser
  SseParser parser;
  StreamAssembler assembler;
  const DeltaFn* on_delta = nullptr;
  std::exception_ptr callback_error;
  size_t events = 0;  // SSE data events: comments (": keepalive") are bytes, not progress
};

size_t on_write(char* ptr, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  if (t->status == 0) {
    curl_api().easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    t->sse = t->stream && t->status >= 200 && t->status < 300;
  }
  if (t->body.size() + len > kMaxBody) return 0;
  std::string_view bytes(ptr, len);
  t->body.append(bytes);
  if (t->sse) {
    try {
      t->parser.feed(bytes, [t](std::string_view data) {
        ++t->events;
        t->assembler.add(data, *t->on_delta);
      });
    } catch (...) {  // the on_delta callback threw: stop the transfer, rethrow after
      t->callback_error = std::current_exception();
      return 0;
    }
  }
  return len;
}

size_t on_header(char* ptr, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(ptr, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    t->headers.clear();  // a new response (after 100 Continue or a redirect)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * n;
}

std::optional<milliseconds> parse_retry_after(const std::map<std::string, std::string>& headers) {
  auto it = headers.find("retry-after");
  if (it == headers.end() || it->second.empty()) return std::nullopt;
  // Seconds only; an HTTP date falls back to the backoff.
  char* end = nullptr;
  double s = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0' || s < 0) return std::nullopt;
  return milliseconds(static_cast<long long>(s * 1000.0));
}

Usage usage_of(const json& j) {
  Usage u;
  if (auto it = j.find("usage"); it != j.end() && it->is_object()) {
    if (auto p = it->find("prompt_tokens"); p != it->end() && p->is_number())
      u.prompt_tokens = p->get<long>();
    if (auto c = it->find("completion_tokens"); c != it->end() && c->is_number())
      u.completion_tokens = c->get<long>();
  }
  return u;
}

// The outcome of one HTTP request.
struct AttemptResult {
  bool ok = false;
  bool retryable = false;
  bool cancelled = false;
  bool malformed = false;
  long status = 0;
  std::string reason;  // for the error message
  std::optional<milliseconds> retry_after;
  Completion completion;
  json response;  // for on_exchange
};

using Scrub = std::function<std::string(std::string)>;

// The POST of `body` to `url`, with the key and the stream's Accept header.
void set_request(CurlHandles& h, Transfer& t, const LlmConfig& config, const std::string& url,
                 const std::string& body) {
  h.headers = curl_api().slist_append(h.headers, "Content-Type: application/json");
  h.headers = curl_api().slist_append(
      h.headers, config.stream ? "Accept: text/event-stream" : "Accept: application/json");
  h.headers = curl_api().slist_append(h.headers, "Expect:");
  if (!config.api_key.empty()) {
    h.headers = curl_api().slist_append(h.headers, ("Authorization: Bearer " + config.api_key).c_str());
  }
  curl_api().easy_setopt(h.easy, CURLOPT_URL, url.c_str());
  curl_api().easy_setopt(h.easy, CURLOPT_POST, 1L);
  curl_api().easy_setopt(h.easy, CURLOPT_POSTFIELDS, body.data());
  curl_api().easy_setopt(h.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_api().easy_setopt(h.easy, CURLOPT_HTTPHEADER, h.headers);
  curl_api().easy_setopt(h.easy, CURLOPT_USERAGENT, "kcat");
  curl_api().easy_setopt(h.easy, CURLOPT_NOSIGNAL, 1L);
  curl_api().easy_setopt(h.easy, CURLOPT_CONNECTTIMEOUT_MS,
                         static_cast<long>(config.connect_timeout.count()));
  curl_api().easy_setopt(h.easy, CURLOPT_WRITEFUNCTION, on_write);
  curl_api().easy_setopt(h.easy, CURLOPT_WRITEDATA, &t);
  curl_api().easy_setopt(h.easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_api().easy_setopt(h.easy, CURLOPT_HEADERDATA, &t);
  curl_api().multi_add_handle(h.multi, h.easy);
}

enum class Stop { Done, Cancelled, IdleTimeout };

// Our own loop instead of curl_easy_perform: Ctrl-C and the read (idle) timeout are checked every
// 50 ms, where CURLOPT_LOW_SPEED_TIME only counts whole seconds.
Stop drive(CurlHandles& h, const Transfer& t, milliseconds read_timeout) {
  std::optional<Clock::time_point> last_activity;  // set once connected
  curl_off_t last_up = -1, last_down = -1;
  size_t last_events = 0;
  bool was_sse = false;
  int running = 1;
  while (running) {
    curl_api().multi_perform(h.multi, &running);
    if (!running) break;
    if (cancel::requested()) return Stop::Cancelled;
    curl_off_t pre = 0, up = 0, down = 0;
    curl_api().easy_getinfo(h.easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
    curl_api().easy_getinfo(h.easy, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_api().easy_getinfo(h.easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
    auto now = Clock::now();
    if (pre > 0 || up > 0) {
      // Once the event stream is open only its events count: a server that sends nothing but
      // keep-alive comments is as silent as one that sends nothing.
      bool moved = t.sse ? !was_sse || t.events != last_events : up != last_up || down != last_down;
      if (!last_activity || moved) last_activity = now;
      was_sse = t.sse;
      last_events = t.events;
      last_up = up;
      last_down = down;
      if (now - *last_activity > read_timeout) return Stop::IdleTimeout;
    }
    curl_api().multi_poll(h.multi, nullptr, 0, 50, nullptr);
  }
  return Stop::Done;
}

// The connection failed (libcurl's code): retryable unless the URL itself is wrong.
void transport_failure(AttemptResult& a, CURLcode code, long status, const std::string& url,
                       const LlmConfig& config) {
  std::string what = curl_api().easy_strerror(code);
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
      a.reason = fmt::format("{} ({})", url, what);
      break;
    case CURLE_OPERATION_TIMEDOUT:
      a.retryable = true;
      a.reason = status == 0 ? fmt::format("connect timed out after {} (connect_timeout) to {}",
                                           seconds(config.connect_timeout), url)
                             : fmt::format("timed out reading from {}", url);
      break;
    case CURLE_COULDNT_CONNECT:
      a.retryable = true;
      a.reason = fmt::format("could not connect to {} ({})", url, what);
      break;
    default:
      a.retryable = true;
      a.reason = status == 0 ? fmt::format("connection to {} failed ({})", url, what)
                             : fmt::format("connection dropped mid-response from {} ({})", url, what);
  }
}

// A status outside 2xx: retryable for 408, 409, 425, 429 and 5xx (after Retry-After when given).
void http_failure(AttemptResult& a, const Transfer& t, const std::string& url, const Scrub& scrub) {
  a.retryable = t.status == 408 || t.status == 409 || t.status == 425 || t.status == 429 || t.status >= 500;
  if (a.retryable) a.retry_after = parse_retry_after(t.headers);
  std::string msg = server_message(scrub(t.body));
  a.reason = fmt::format("HTTP {} from {}", t.status, url) + (msg.empty() ? "" : ": " + msg);
  a.response = {{"status", t.status}, {"body", scrub(t.body).substr(0, 4000)}};
}

// A streamed completion (server-sent events), assembled.
void from_stream(AttemptResult& a, const StreamAssembler& as, bool complete, const std::string& url) {
  if (!as.error().empty()) {
    a.retryable = true;
    a.reason = fmt::format("the stream from {} reported an error: {}", url, as.error());
    return;
  }
  if (as.malformed()) {
    a.retryable = true;
    a.malformed = true;
    a.reason = fmt::format("{} from {}", as.malformed_reason(), url);
    return;
  }
  if (!complete) {
    a.retryable = true;
    a.reason = fmt::format("the stream from {} ended before [DONE] (dropped connection)", url);
    return;
  }
  a.ok = true;
  a.completion.message = as.message();
  a.completion.finish_reason = as.finish_reason();
  a.completion.usage = as.usage();
  a.response = {
      {"stream", true},
      {"choices",
       json::array(
           {{{"index", 0}, {"message", to_json(as.message())}, {"finish_reason", as.finish_reason()}}})},
      {"usage",
       {{"prompt_tokens", as.usage().prompt_tokens}, {"completion_tokens", as.usage().completion_tokens}}}};
}

// A plain JSON completion (also what a server that ignores "stream" sends).
void from_json(AttemptResult& a, const Transfer& t, const std::string& url, const Scrub& scrub) {
  json j = json::parse(t.body, nullptr, false);
  auto malformed = [&](const std::string& why) {
    a.retryable = true;
    a.malformed = true;
    std::string excerpt = scrub(t.body).substr(0, 120);
    for (auto& ch : excerpt) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    a.reason = fmt::format("malformed response from {}: {} (body starts: {})", url, why, excerpt);
    a.response = {{"status", t.status}, {"body", scrub(t.body).substr(0, 4000)}};
  };
  if (j.is_discarded() || !j.is_object()) return malformed("not JSON");
  if (auto e = j.find("error"); e != j.end() && !e->is_null()) {
    a.retryable = true;
    a.reason =
        fmt::format("HTTP {} from {} carried an error: {}", t.status, url, server_message(scrub(t.body)));
    a.response = json::parse(scrub(json_text(j)), nullptr, false);
    return;
  }
  auto choices = j.find("choices");
  if (choices == j.end() || !choices->is_array() || choices->empty() || !choices->front().is_object()) {
    return malformed("no choices");
  }
  const json& choice = choices->front();
  auto msg = choice.find("message");
  if (msg == choice.end() || !msg->is_object()) return malformed("no message in choices[0]");
  a.ok = true;
  a.completion.message = message_from_json(*msg);
  if (a.completion.message.role.empty()) a.completion.message.role = "assistant";
  if (auto fr = choice.find("finish_reason"); fr != choice.end() && fr->is_string()) {
    a.completion.finish_reason = fr->get<std::string>();
  }
  a.completion.usage = usage_of(j);
  a.response = std::move(j);
}

}  // namespace

bool context_length_error(const std::string& message) {
  auto m = lower(message);
  for (const char* needle :
       {"maximum context length", "context length", "context_length_exceeded", "context window",
        "prompt is too long", "too many tokens", "reduce the length", "exceeds the model",
        "input is too long", "max_model_len", "range of input length"}) {
    if (m.find(needle) != std::string::npos) return true;
  }
  return false;
}

long estimate_tokens(const std::vector<Message>& messages, const std::vector<ToolSpec>& tools) {
  size_t bytes = 0;
  for (const auto& m : messages) {
    bytes += m.content.size() + m.tool_call_id.size() + 24;
    for (const auto& c : m.tool_calls) bytes += c.name.size() + c.arguments.size() + c.id.size() + 24;
  }
  for (const auto& t : tools) bytes += json_text(to_json(t)).size();
  return static_cast<long>(bytes / 3);
}

struct Client::Attempt : AttemptResult {};

Client::Client(LlmConfig config, ClientOptions options)
    : config_(std::move(config)), options_(std::move(options)), rng_(std::random_device{}()) {
  global_init();
  while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
  if (!options_.sleep) options_.sleep = default_sleep;
}

Client::~Client() = default;

std::string Client::endpoint() const { return config_.base_url + "/chat/completions"; }

std::string Client::scrub(std::string s) const {
  const std::string& key = config_.api_key;
  if (key.empty()) return s;
  for (size_t pos = s.find(key); pos != std::string::npos; pos = s.find(key, pos)) {
    s.replace(pos, key.size(), "[REDACTED]");
  }
  return s;
}

void Client::exchange(const json& req, const json& resp) const {
  if (options_.on_exchange) options_.on_exchange(req, resp);
}

milliseconds Client::backoff(int retry) {
  auto base = options_.base_delay.count();
  long long d = base;
  for (int i = 0; i < retry && d < options_.max_delay.count(); ++i) d *= 2;
  d = std::min<long long>(d, options_.max_delay.count());
  // Jitter in [50%, 100%] so clients that failed together do not come back together.
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return milliseconds(static_cast<long long>(static_cast<double>(d) * jitter(rng_)));
}

json Client::request_body(const std::vector<Message>& messages, const std::vector<ToolSpec>& tools) const {
  json j = {{"model", config_.model}, {"temperature", config_.temperature}, {"stream", config_.stream}};
  json msgs = json::array();
  for (const auto& m : messages) msgs.push_back(to_json(m));
  j["messages"] = std::move(msgs);
  if (!tools.empty()) {
    json ts = json::array();
    for (const auto& t : tools) ts.push_back(to_json(t));
    j["tools"] = std::move(ts);
  }
  if (config_.max_tokens > 0) j["max_tokens"] = config_.max_tokens;
  if (config_.stream) j["stream_options"] = {{"include_usage", true}};
  return j;
}

Client::Attempt Client::perform(const std::string& body, const DeltaFn& on_delta) {
  Attempt a;
  const std::string url = endpoint();
  DeltaFn no_delta;
  Transfer t;
  t.stream = config_.stream;
  t.on_delta = on_delta ? &on_delta : &no_delta;

  CurlHandles h;
  h.easy = curl_api().easy_init();
  h.multi = curl_api().multi_init();
  if (!h.easy || !h.multi) throw Error(ErrorKind::Internal, "libcurl could not be initialised");
  t.easy = h.easy;
  set_request(h, t, config_, url, body);
  auto stop = drive(h, t, config_.read_timeout);
  if (stop == Stop::Cancelled) {
    a.cancelled = true;
    return a;
  }
  if (t.callback_error) std::rethrow_exception(t.callback_error);

  CURLcode code = CURLE_OK;
  int left = 0;
  while (CURLMsg* m = curl_api().multi_info_read(h.multi, &left)) {
    if (m->msg == CURLMSG_DONE) code = m->data.result;
  }
  if (t.status == 0) curl_api().easy_getinfo(h.easy, CURLINFO_RESPONSE_CODE, &t.status);
  a.status = t.status;

  // A stream that finished its message is complete even if the connection then broke.
  if (t.sse) t.parser.finish([&t](std::string_view data) { t.assembler.add(data, *t.on_delta); });
  bool stream_complete = t.sse && (t.assembler.done() || !t.assembler.finish_reason().empty());

  Scrub scrub = [this](std::string s) { return this->scrub(std::move(s)); };
  if (stop == Stop::IdleTimeout && !stream_complete) {
    a.retryable = true;
    a.reason = t.sse ? fmt::format(
                           "read timed out: no event for {} (read_timeout) from {}; the stream sent "
                           "only keep-alive comments or nothing",
                           seconds(config_.read_timeout), url)
                     : fmt::format("read timed out: no data for {} (read_timeout) from {}",
                                   seconds(config_.read_timeout), url);
  } else if (code != CURLE_OK && !stream_complete) {
    transport_failure(a, code, t.status, url, config_);
  } else if (t.status < 200 || t.status >= 300) {
    http_failure(a, t, url, scrub);
  } else if (t.sse && t.assembler.saw_events()) {
    from_stream(a, t.assembler, stream_complete, url);
  } else {
    from_json(a, t, url, scrub);
  }
  return a;
}

Completion Client::chat(const std::vector<Message>& messages, const std::vector<ToolSpec>& tools,
                        const DeltaFn& on_delta) {
  if (!config_.configured()) {
    throw Error(
        ErrorKind::Usage, "no LLM endpoint configured (base_url and model are needed)", "",
        "set KCAT_LLM_BASE_URL and KCAT_LLM_MODEL, or [llm] base_url / model in kcat.toml; see docs/llm.md");
  }
  const std::string url = endpoint();
  if (tripped()) {
    throw Error(
        ErrorKind::Llm,
        fmt::format("LLM endpoint keeps failing ({} failed requests in a row); not asking again this run",
                    consecutive_failures_),
        url, kHint);
  }
  auto interrupted = [&] { return Interrupted("the LLM request to " + url + " was stopped"); };
  if (cancel::requested()) throw interrupted();

  const json req = request_body(messages, tools);
  // Text from the repository or the model that is not UTF-8 is replaced, never a reason to abort.
  const std::string body = json_text(req);
  std::string last_reason;
  long last_status = 0;
  int tries = 0;
  int malformed = 0;
  for (int attempt = 0; attempt <= config_.max_retries; ++attempt) {
    ++tries;
    ++totals_.attempts;
    Attempt a = perform(body, on_delta);
    if (a.cancelled) {
      exchange(req, {{"error", "interrupted"}, {"attempt", tries}});
      throw interrupted();
    }
    if (a.ok) {
      Completion c = std::move(a.completion);
      c.attempts = tries;
      c.cost = static_cast<double>(c.usage.prompt_tokens) * config_.price_prompt_per_mtok / 1e6 +
               static_cast<double>(c.usage.completion_tokens) * config_.price_completion_per_mtok / 1e6;
      totals_.prompt_tokens += c.usage.prompt_tokens;
      totals_.completion_tokens += c.usage.completion_tokens;
      totals_.cost += c.cost;
      ++totals_.requests;
      consecutive_failures_ = 0;
      exchange(req, a.response);
      return c;
    }
    last_reason = scrub(a.reason);
    last_status = a.status;
    json err = {{"error", last_reason}, {"attempt", tries}, {"retryable", a.retryable}};
    if (a.status) err["status"] = a.status;
    if (!a.response.is_null()) err["response"] = a.response;
    exchange(req, err);
    if (a.malformed && ++malformed > 1) break;  // a server that answers garbage twice will keep doing so
    if (!a.retryable || attempt == config_.max_retries) break;
    milliseconds delay =
        a.retry_after ? std::min(*a.retry_after, options_.max_retry_after) : backoff(attempt);
    spdlog::info("llm: try {} failed ({}); retrying in {}", tries, last_reason, seconds(delay));
    events::emit("llm-retry", {{"attempt", tries}, {"reason", last_reason}, {"delay_ms", delay.count()}});
    if (options_.on_retry) options_.on_retry(tries, last_reason, delay);
    options_.sleep(delay);
    if (cancel::requested()) throw interrupted();
  }
  if (last_status == 400 && context_length_error(last_reason)) {
    // The endpoint answered: it is alive, the prompt is too long for it.
    throw ContextTooLong(ErrorKind::Llm, "the prompt is longer than the model's context: " + last_reason, url,
                         "lower [llm] context_tokens to the model's window; see docs/llm.md");
  }
  ++consecutive_failures_;
  ++totals_.failed_requests;
  std::string hint = kHint;
  if (last_status == 401 || last_status == 403) {
    hint =
        "check the API key (KCAT_LLM_API_KEY, the variable named by api_key_env, or OPENAI_API_KEY); " + hint;
  } else if (last_status == 404) {
    hint = "check base_url (it usually ends in /v1) and the model name; " + hint;
  }
  throw Error(
      ErrorKind::Llm,
      fmt::format("LLM request failed after {} {}: {}", tries, tries == 1 ? "try" : "tries", last_reason),
      url, hint);
}

}  // namespace kcat::llm
