#include "kcat/llm/message.h"

#include <gtest/gtest.h>

namespace kcat::llm {
namespace {

TEST(Message, ReadsToleranty) {
  auto m = message_from_json(nlohmann::json::parse(R"({"role":"assistant","content":null,
    "tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":{"x":1}}}]})"));
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, R"({"x":1})");
  auto parts = message_from_json(nlohmann::json::parse(
      R"({"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]})"));
  EXPECT_EQ(parts.content, "ab");
}

TEST(Message, WritesOpenAiShape) {
  auto j = to_json(Message::tool("call_1", "result"));
  EXPECT_EQ(j["role"], "tool");
  EXPECT_EQ(j["tool_call_id"], "call_1");
  auto t = to_json(ToolSpec{"scan", "Scan the repo", nlohmann::json()});
  EXPECT_EQ(t["function"]["parameters"]["type"], "object");
}

}  // namespace
}  // namespace kcat::llm
