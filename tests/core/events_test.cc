#include "kcat/core/events.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <functional>

namespace kcat {

namespace {
// Captures what emit() writes to stderr.
std::string capture(const std::function<void()>& f) {
  std::fflush(stderr);
  int saved = dup(2);
  FILE* tmp = std::tmpfile();
  dup2(fileno(tmp), 2);
  f();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::rewind(tmp);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, tmp)) > 0) out.append(buf, n);
  std::fclose(tmp);
  return out;
}
}  // namespace

TEST(Events, SilentInTextMode) {
  events::enable_json(false);
  EXPECT_EQ(capture([] { events::emit("step", {{"id", "x"}}); }), "");
}

TEST(Events, OneJsonObjectPerLine) {
  events::enable_json(true);
  auto out = capture([] {
    events::emit("step-started", {{"id", "device-api-1"}});
    events::emit("bad-bytes", {{"file", std::string("a\xff.py")}});
  });
  events::enable_json(false);
  auto nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  auto first = nlohmann::json::parse(out.substr(0, nl));
  EXPECT_EQ(first["event"], "step-started");
  EXPECT_EQ(first["id"], "device-api-1");
  EXPECT_TRUE(first.contains("ts"));
  auto second = nlohmann::json::parse(out.substr(nl + 1));
  EXPECT_EQ(second["event"], "bad-bytes");
}

}  // namespace kcat
