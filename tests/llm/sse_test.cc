#include "kcat/llm/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kcat::llm {
namespace {

std::vector<std::string> events_of(const std::vector<std::string>& pieces) {
  SseParser p;
  std::vector<std::string> out;
  auto sink = [&](std::string_view d) { out.emplace_back(d); };
  for (const auto& piece : pieces) p.feed(piece, sink);
  p.finish(sink);
  return out;
}

TEST(SseParser, SplitsEventsAcrossArbitraryPieces) {
  std::string all = "data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: keep-alive\n\nevent: x\ndata: [DONE]\n\n";
  std::vector<std::string> expected = {"{\"a\":1}", "{\"b\":2}", "[DONE]"};
  EXPECT_EQ(events_of({all}), expected);
  std::vector<std::string> bytes;
  for (char c : all) bytes.emplace_back(1, c);
  EXPECT_EQ(events_of(bytes), expected);
}

TEST(SseParser, JoinsMultipleDataLinesAndFlushesAtEnd) {
  EXPECT_EQ(events_of({"data: one\ndata: two\n\ndata:last"}), (std::vector<std::string>{"one\ntwo", "last"}));
}

TEST(StreamAssembler, ConcatenatesContentAndToolCallsByIndex) {
  StreamAssembler a;
  std::string shown;
  auto on = [&](std::string_view d) { shown += d; };
  a.add(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"}}]})", on);
  a.add(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{\"y\":"}},{"index":0,"id":"a","function":{"name":"f","arguments":""}}]}}]})",
      on);
  a.add(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{}"}},{"index":1,"function":{"arguments":"2}"}}]}}]})",
      on);
  a.add(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})", on);
  a.add(R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})", on);
  EXPECT_FALSE(a.done());
  a.add("[DONE]", on);
  EXPECT_TRUE(a.done());
  EXPECT_EQ(shown, "Hi");
  EXPECT_EQ(a.message().content, "Hi");
  ASSERT_EQ(a.message().tool_calls.size(), 2u);
  EXPECT_EQ(a.message().tool_calls[0].name, "g");
  EXPECT_EQ(a.message().tool_calls[0].arguments, "{\"y\":2}");
  EXPECT_EQ(a.message().tool_calls[1].id, "a");
  EXPECT_EQ(a.message().tool_calls[1].arguments, "{}");
  EXPECT_EQ(a.finish_reason(), "tool_calls");
  EXPECT_EQ(a.usage().prompt_tokens, 3);
  EXPECT_EQ(a.usage().completion_tokens, 4);
  EXPECT_FALSE(a.malformed());
}

TEST(StreamAssembler, FlagsMalformedChunksAndErrors) {
  StreamAssembler a;
  a.add("{not json");
  EXPECT_TRUE(a.malformed());
  StreamAssembler b;
  b.add(R"({"error":{"message":"overloaded"}})");
  EXPECT_EQ(b.error(), "overloaded");
}

}  // namespace
}  // namespace kcat::llm
