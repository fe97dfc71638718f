#include "kcat/llm/client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "kcat/core/cancel.h"
#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

namespace kcat::llm {
namespace {

using std::chrono::milliseconds;
using test::FakeLlm;
using test::Reply;

LlmConfig config_for(const FakeLlm& fake, bool stream = false) {
  LlmConfig c;
  c.base_url = fake.base_url();
  c.model = "fake-model";
  c.stream = stream;
  c.connect_timeout = milliseconds(2000);
  c.read_timeout = milliseconds(3000);
  c.max_retries = 2;
  return c;
}

// Fast retries, and a record of every wait asked for.
struct Waits {
  std::vector<milliseconds> delays;
  ClientOptions options() {
    ClientOptions o;
    o.base_delay = milliseconds(1);
    o.max_delay = milliseconds(4);
    o.sleep = [this](milliseconds d) { delays.push_back(d); };
    return o;
  }
};

std::vector<Message> hello() { return {Message::system("be brief"), Message::user("hello")}; }

TEST(Client, PlainTextUsageAndCost) {
  FakeLlm fake({test::reply_text("hi there", 1000, 500)});
  auto cfg = config_for(fake);
  cfg.price_prompt_per_mtok = 2.0;
  cfg.price_completion_per_mtok = 8.0;
  cfg.max_tokens = 256;
  Client client(cfg);
  Completion c = client.chat(hello());
  EXPECT_EQ(c.message.role, "assistant");
  EXPECT_EQ(c.message.content, "hi there");
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_EQ(c.usage.prompt_tokens, 1000);
  EXPECT_EQ(c.usage.completion_tokens, 500);
  EXPECT_DOUBLE_EQ(c.cost, 1000 * 2.0 / 1e6 + 500 * 8.0 / 1e6);
  EXPECT_EQ(c.attempts, 1);
  EXPECT_EQ(client.totals().requests, 1);
  EXPECT_EQ(client.totals().prompt_tokens, 1000);

  auto reqs = fake.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0]["model"], "fake-model");
  EXPECT_EQ(reqs[0]["stream"], false);
  EXPECT_EQ(reqs[0]["max_tokens"], 256);
  EXPECT_FALSE(reqs[0].contains("stream_options"));
  EXPECT_FALSE(reqs[0].contains("tools"));
  ASSERT_EQ(reqs[0]["messages"].size(), 2u);
  EXPECT_EQ(reqs[0]["messages"][1]["role"], "user");
  EXPECT_EQ(reqs[0]["messages"][1]["content"], "hello");
  EXPECT_EQ(fake.auth_headers()[0], "");  // no key, no header
}

// issue 18 §4: a context-length refusal is not a dead endpoint: no retry, no circuit-breaker count.
TEST(Client, AContextLengthRefusalIsItsOwnErrorAndDoesNotTripTheBreaker) {
  FakeLlm fake({test::reply_text("ok")});
  fake.set_context_limit(200);
  Waits w;
  Client client(config_for(fake), w.options());
  std::vector<Message> big = {Message::user(std::string(500, 'x'))};
  for (int i = 0; i < 3; ++i) EXPECT_THROW(client.chat(big), ContextTooLong);
  EXPECT_FALSE(client.tripped());
  EXPECT_EQ(fake.request_count(), 3u);  // one try each: a retry would get the same answer
  EXPECT_EQ(client.chat({Message::user("hi")}).message.content, "ok");
  EXPECT_TRUE(context_length_error("This model's maximum context length is 32768 tokens"));
  EXPECT_TRUE(
      context_length_error("Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096"
                           " (prompt is too long)"));
  EXPECT_FALSE(context_length_error("invalid api key"));
}

// issue 18 §5: text that is not UTF-8 is replaced in the request, never a reason to abort.
TEST(Client, ARequestWithBytesThatAreNotUtf8IsSent) {
  FakeLlm fake({test::reply_text("ok")});
  Client client(config_for(fake));
  EXPECT_EQ(client.chat({Message::user("caf\xE9 \xC3")}).message.content, "ok");
  auto sent = fake.requests().at(0)["messages"][0]["content"].get<std::string>();
  EXPECT_EQ(sent.rfind("caf\xEF\xBF\xBD", 0), 0u) << sent;
}

TEST(Client, TotalsAccumulate) {
  FakeLlm fake({test::reply_text("a", 10, 1), test::reply_text("b", 20, 2)});
  auto cfg = config_for(fake);
  cfg.price_prompt_per_mtok = 1e6;  // 1 per token: easy sums
  Client client(cfg);
  client.chat(hello());
  client.chat(hello());
  EXPECT_EQ(client.totals().requests, 2);
  EXPECT_EQ(client.totals().attempts, 2);
  EXPECT_EQ(client.totals().prompt_tokens, 30);
  EXPECT_EQ(client.totals().completion_tokens, 3);
  EXPECT_DOUBLE_EQ(client.totals().cost, 30.0);
}

TEST(Client, ToolCallParsedAndToolsSent) {
  FakeLlm fake({test::reply_tool_call("read_file", R"({"path":"setup.py"})")});
  Client client(config_for(fake));
  ToolSpec spec{
      "read_file",
      "Read a file of the repository",
      {{"type", "object"}, {"properties", {{"path", {{"type", "string"}}}}}, {"required", {"path"}}}};
  Completion c = client.chat(hello(), {spec});
  EXPECT_EQ(c.finish_reason, "tool_calls");
  ASSERT_EQ(c.message.tool_calls.size(), 1u);
  EXPECT_EQ(c.message.tool_calls[0].id, "call_1");
  EXPECT_EQ(c.message.tool_calls[0].name, "read_file");
  EXPECT_EQ(nlohmann::json::parse(c.message.tool_calls[0].arguments)["path"], "setup.py");

  auto req = fake.requests().at(0);
  ASSERT_EQ(req["tools"].size(), 1u);
  EXPECT_EQ(req["tools"][0]["type"], "function");
  EXPECT_EQ(req["tools"][0]["function"]["name"], "read_file");
  EXPECT_EQ(req["tools"][0]["function"]["parameters"]["required"][0], "path");
}

TEST(Client, ToolResultRoundTripsInNextRequest) {
  FakeLlm fake({test::reply_text("done")});
  Client client(config_for(fake));
  Message call = Message::assistant("");
  call.tool_calls.push_back({"call_9", "read_file", R"({"path":"a.py"})"});
  client.chat({Message::user("go"), call, Message::tool("call_9", "print(1)")});
  auto msgs = fake.requests().at(0)["messages"];
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_TRUE(msgs[1]["content"].is_null());
  EXPECT_EQ(msgs[1]["tool_calls"][0]["function"]["arguments"], R"({"path":"a.py"})");
  EXPECT_EQ(msgs[2]["role"], "tool");
  EXPECT_EQ(msgs[2]["tool_call_id"], "call_9");
}

TEST(Client, StreamedTextCallsOnDeltaPerChunk) {
  FakeLlm fake({test::stream_text({"Hel", "lo, ", "NPU"}, 7, 3)});
  Client client(config_for(fake, true));
  std::vector<std::string> deltas;
  Completion c = client.chat(hello(), {}, [&](std::string_view d) { deltas.emplace_back(d); });
  EXPECT_EQ(c.message.content, "Hello, NPU");
  EXPECT_EQ(deltas, (std::vector<std::string>{"Hel", "lo, ", "NPU"}));
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_EQ(c.usage.prompt_tokens, 7);
  EXPECT_EQ(c.usage.completion_tokens, 3);
  auto req = fake.requests().at(0);
  EXPECT_EQ(req["stream"], true);
  EXPECT_EQ(req["stream_options"]["include_usage"], true);
}

TEST(Client, StreamedToolCallArgumentsInPieces) {
  FakeLlm fake({test::stream_tool_call("edit_file", {R"({"pa)", R"(th": "a.py", )", R"("text": "x"})"})});
  Client client(config_for(fake, true));
  Completion c = client.chat(hello(), {{"edit_file", "edit", {{"type", "object"}}}});
  EXPECT_EQ(c.finish_reason, "tool_calls");
  ASSERT_EQ(c.message.tool_calls.size(), 1u);
  EXPECT_EQ(c.message.tool_calls[0].name, "edit_file");
  EXPECT_EQ(c.message.tool_calls[0].id, "call_1");
  auto args = nlohmann::json::parse(c.message.tool_calls[0].arguments);
  EXPECT_EQ(args["path"], "a.py");
  EXPECT_EQ(args["text"], "x");
}

TEST(Client, Retries429HonouringRetryAfter) {
  Reply busy = test::reply_status(429, "slow down");
  busy.headers["Retry-After"] = "1";
  FakeLlm fake({busy, test::reply_text("ok")});
  Waits waits;
  std::vector<std::string> retry_reasons;
  auto opts = waits.options();
  opts.on_retry = [&](int, const std::string& why, milliseconds) { retry_reasons.push_back(why); };
  Client client(config_for(fake), opts);
  Completion c = client.chat(hello());
  EXPECT_EQ(c.message.content, "ok");
  EXPECT_EQ(c.attempts, 2);
  EXPECT_EQ(fake.request_count(), 2u);
  ASSERT_EQ(waits.delays.size(), 1u);
  EXPECT_EQ(waits.delays[0], milliseconds(1000));
  ASSERT_EQ(retry_reasons.size(), 1u);
  EXPECT_NE(retry_reasons[0].find("HTTP 429"), std::string::npos);
}

TEST(Client, BackoffGrowsWithJitterWithinCap) {
  FakeLlm fake(
      {test::reply_status(503), test::reply_status(503), test::reply_status(503), test::reply_text("ok")});
  Waits waits;
  auto opts = waits.options();
  opts.base_delay = milliseconds(100);
  opts.max_delay = milliseconds(250);
  auto cfg = config_for(fake);
  cfg.max_retries = 3;
  Client client(cfg, opts);
  EXPECT_EQ(client.chat(hello()).attempts, 4);
  ASSERT_EQ(waits.delays.size(), 3u);
  EXPECT_GE(waits.delays[0], milliseconds(50));
  EXPECT_LE(waits.delays[0], milliseconds(100));
  EXPECT_GE(waits.delays[1], milliseconds(100));
  EXPECT_LE(waits.delays[1], milliseconds(200));
  EXPECT_GE(waits.delays[2], milliseconds(125));
  EXPECT_LE(waits.delays[2], milliseconds(250));
}

TEST(Client, ServerErrorsExhaustRetries) {
  FakeLlm fake({test::reply_status(500, "boom"), test::reply_status(500, "boom"),
                test::reply_status(500, "boom"), test::reply_text("never reached")});
  Waits waits;
  Client client(config_for(fake), waits.options());  // max_retries = 2
  try {
    client.chat(hello());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Llm);
    std::string msg = e.what();
    EXPECT_NE(msg.find("failed after 3 tries"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HTTP 500"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fake.base_url() + "/chat/completions"), std::string::npos) << msg;
    EXPECT_NE(e.hint().find("KCAT_LLM"), std::string::npos);
  }
  EXPECT_EQ(fake.request_count(), 3u);
  EXPECT_EQ(waits.delays.size(), 2u);
  EXPECT_EQ(client.totals().failed_requests, 1);
}

TEST(Client, UnauthorizedFailsAtOnce) {
  FakeLlm fake({test::reply_status(401, "invalid api key"), test::reply_text("never")});
  Waits waits;
  Client client(config_for(fake), waits.options());
  try {
    client.chat(hello());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Llm);
    EXPECT_NE(std::string(e.what()).find("failed after 1 try: HTTP 401"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("invalid api key"), std::string::npos) << e.what();
    EXPECT_NE(e.hint().find("API key"), std::string::npos);
  }
  EXPECT_EQ(fake.request_count(), 1u);
  EXPECT_TRUE(waits.delays.empty());
}

TEST(Client, NotFoundFailsAtOnce) {
  FakeLlm fake({test::reply_status(404, "model not found")});
  Waits waits;
  Client client(config_for(fake), waits.options());
  EXPECT_THROW(client.chat(hello()), Error);
  EXPECT_EQ(fake.request_count(), 1u);
}

TEST(Client, ReadTimeoutRetriedThenError) {
  Reply slow = test::reply_text("late");
  slow.delay_ms = 1500;
  FakeLlm fake({slow, slow});
  Waits waits;
  auto cfg = config_for(fake);
  cfg.read_timeout = milliseconds(200);
  cfg.max_retries = 1;
  Client client(cfg, waits.options());
  auto start = std::chrono::steady_clock::now();
  try {
    client.chat(hello());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Llm);
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("read_timeout"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1400));
  EXPECT_EQ(fake.request_count(), 2u);
}

TEST(Client, AStreamOfOnlyKeepAliveCommentsTimesOut) {
  // One event, then ": keepalive" every 50 ms forever: bytes keep coming, progress does not.
  FakeLlm fake(test::load_scenario(test::fixtures_dir() / "llm/keepalive_forever.json"));
  Waits waits;
  auto cfg = config_for(fake, true);
  cfg.read_timeout = milliseconds(400);
  cfg.max_retries = 0;
  Client client(cfg, waits.options());
  auto start = std::chrono::steady_clock::now();
  try {
    client.chat(hello());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Llm);
    EXPECT_NE(std::string(e.what()).find("read_timeout"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("keep-alive"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(3000));
  EXPECT_EQ(fake.request_count(), 1u);
}

TEST(Client, ConnectFailureIsRetried) {
  int port = 0;
  {
    FakeLlm gone({});
    port = gone.port();
  }  // nobody listens there any more
  LlmConfig cfg;
  cfg.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  cfg.model = "m";
  cfg.stream = false;
  cfg.max_retries = 1;
  Waits waits;
  Client client(cfg, waits.options());
  try {
    client.chat(hello());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("failed after 2 tries"), std::string::npos) << e.what();
  }
  EXPECT_EQ(waits.delays.size(), 1u);
}

TEST(Client, CutStreamRetriedThenSucceeds) {
  Reply cut = test::stream_text({"par", "tial"});
  cut.sse_events.pop_back();  // no finish_reason
  cut.cut_stream = true;
  FakeLlm fake({cut, test::stream_text({"whole ", "answer"})});
  Waits waits;
  Client client(config_for(fake, true), waits.options());
  std::string shown;
  Completion c = client.chat(hello(), {}, [&](std::string_view d) { shown += d; });
  EXPECT_EQ(c.message.content, "whole answer");
  EXPECT_EQ(c.attempts, 2);
  EXPECT_EQ(fake.request_count(), 2u);
  EXPECT_EQ(shown, "partialwhole answer");  // the terminal saw the dropped attempt too
}

TEST(Client, StreamErrorEventIsRetried) {
  Reply err;
  err.sse_events = {R"({"error":{"message":"overloaded"}})"};
  FakeLlm fake({err, test::stream_text({"ok"})});
  Waits waits;
  Client client(config_for(fake, true), waits.options());
  EXPECT_EQ(client.chat(hello()).message.content, "ok");
  EXPECT_EQ(fake.request_count(), 2u);
}

TEST(Client, MalformedJsonGivesClearError) {
  Reply bad;
  bad.body = "{\"choices\": [ this is not json";
  FakeLlm fake({bad, bad, bad});
  Waits waits;
  auto cfg = config_for(fake);
  cfg.max_retries = 4;
  Client client(cfg, waits.options());
  try {
    client.chat(hello());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Llm);
    std::string msg = e.what();
    EXPECT_NE(msg.find("malformed response"), std::string::npos) << msg;
    EXPECT_NE(msg.find("not JSON"), std::string::npos) << msg;
  }
  EXPECT_EQ(fake.request_count(), 2u);  // retried once only
}

TEST(Client, MalformedOnceThenFine) {
  Reply bad;
  bad.body = "<html>gateway</html>";
  FakeLlm fake({bad, test::reply_text("fine")});
  Waits waits;
  Client client(config_for(fake), waits.options());
  EXPECT_EQ(client.chat(hello()).message.content, "fine");
}

TEST(Client, CircuitBreakerStopsAskingAfterTwoFailedRequests) {
  FakeLlm fake({test::reply_status(500), test::reply_status(500), test::reply_status(500),
                test::reply_status(500), test::reply_text("never")});
  Waits waits;
  auto cfg = config_for(fake);
  cfg.max_retries = 1;
  Client client(cfg, waits.options());
  EXPECT_THROW(client.chat(hello()), Error);
  EXPECT_FALSE(client.tripped());
  EXPECT_THROW(client.chat(hello()), Error);
  EXPECT_TRUE(client.tripped());
  EXPECT_EQ(fake.request_count(), 4u);
  try {
    client.chat(hello());
    FAIL() << "expected the breaker to refuse";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Llm);
    EXPECT_NE(std::string(e.what()).find("keeps failing"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not asking again this run"), std::string::npos);
  }
  EXPECT_EQ(fake.request_count(), 4u);
}

TEST(Client, SuccessResetsTheBreaker) {
  FakeLlm fake(
      {test::reply_status(401), test::reply_text("ok"), test::reply_status(401), test::reply_text("ok")});
  Client client(config_for(fake));
  EXPECT_THROW(client.chat(hello()), Error);
  client.chat(hello());
  EXPECT_THROW(client.chat(hello()), Error);
  EXPECT_FALSE(client.tripped());
  EXPECT_EQ(client.chat(hello()).message.content, "ok");
}

TEST(Client, KeySentAsBearerButNeverInErrors) {
  const std::string key = "sk-test-SECRET-1234567890";
  // The server even echoes the key back in its error text.
  FakeLlm fake({test::reply_status(401, "bad key " + key), test::reply_status(500, "echo " + key),
                test::reply_status(500, "echo " + key)});
  auto cfg = config_for(fake);
  cfg.api_key = key;
  cfg.max_retries = 1;
  Waits waits;
  std::vector<std::string> exchanged;
  auto opts = waits.options();
  opts.on_exchange = [&](const nlohmann::json& req, const nlohmann::json& resp) {
    exchanged.push_back(req.dump());
    exchanged.push_back(resp.dump());
  };
  opts.on_retry = [&](int, const std::string& why, milliseconds) { exchanged.push_back(why); };
  Client client(cfg, opts);
  for (int i = 0; i < 3; ++i) {
    try {
      client.chat(hello());
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find(key), std::string::npos) << e.what();
      EXPECT_EQ(e.render().find(key), std::string::npos);
    }
  }
  auto auth = fake.auth_headers();
  ASSERT_EQ(auth.size(), 3u);
  for (const auto& a : auth) EXPECT_EQ(a, "Bearer " + key);
  ASSERT_FALSE(exchanged.empty());
  for (const auto& s : exchanged) EXPECT_EQ(s.find(key), std::string::npos) << s;
}

TEST(Client, OnExchangeSeesEveryAttempt) {
  FakeLlm fake({test::reply_status(502), test::reply_text("ok")});
  Waits waits;
  Client client(config_for(fake), waits.options());
  std::vector<nlohmann::json> responses;
  client.set_on_exchange([&](const nlohmann::json& req, const nlohmann::json& resp) {
    EXPECT_EQ(req["model"], "fake-model");
    responses.push_back(resp);
  });
  client.chat(hello());
  ASSERT_EQ(responses.size(), 2u);
  EXPECT_EQ(responses[0]["status"], 502);
  EXPECT_TRUE(responses[0].contains("error"));
  EXPECT_EQ(responses[1]["choices"][0]["message"]["content"], "ok");
}

TEST(Client, NotConfiguredIsUsageError) {
  Client client(LlmConfig{});
  try {
    client.chat(hello());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
}

TEST(Client, CancelAbortsRequestPromptly) {
  Reply slow = test::reply_text("late");
  slow.delay_ms = 5000;
  FakeLlm fake({slow});
  Client client(config_for(fake));
  cancel::reset();
  std::thread ctrl_c([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel::request();
  });
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client.chat(hello()), Interrupted);
  ctrl_c.join();
  cancel::reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_FALSE(client.tripped());
  EXPECT_EQ(client.totals().failed_requests, 0);
}

TEST(Client, CancelDuringRetryWait) {
  FakeLlm fake({test::reply_status(503), test::reply_text("never")});
  ClientOptions opts;
  opts.sleep = [](milliseconds) { cancel::request(); };
  Client client(config_for(fake), opts);
  cancel::reset();
  EXPECT_THROW(client.chat(hello()), Interrupted);
  cancel::reset();
  EXPECT_EQ(fake.request_count(), 1u);
}

TEST(Client, ServerIgnoringStreamFlagStillWorks) {
  FakeLlm fake({test::reply_text("plain json")});
  Client client(config_for(fake, true));
  EXPECT_EQ(client.chat(hello()).message.content, "plain json");
}

TEST(FakeLlm, ScenarioFileReplays) {
  auto script = test::load_scenario(test::fixtures_dir() / "llm/tool_then_text.json");
  ASSERT_EQ(script.size(), 4u);
  FakeLlm fake(std::move(script));
  Waits waits;
  Client client(config_for(fake), waits.options());
  Completion first = client.chat(hello());
  ASSERT_EQ(first.message.tool_calls.size(), 1u);
  EXPECT_EQ(first.message.tool_calls[0].name, "scan");
  Completion second = client.chat(hello());  // a 429 then the text
  EXPECT_EQ(second.attempts, 2);
  EXPECT_EQ(second.message.content, "All CUDA calls are mapped.");
  auto cfg = config_for(fake, true);
  Client streamed(cfg, waits.options());
  EXPECT_EQ(streamed.chat(hello()).message.content, "Done.");
}

TEST(FakeLlm, ExhaustedScriptAnswers500) {
  FakeLlm fake({});
  auto cfg = config_for(fake);
  cfg.max_retries = 0;
  Client client(cfg);
  try {
    client.chat(hello());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("script exhausted"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kcat::llm
