#include "kcat/report/ledger.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "testsupport/support.h"

namespace kcat::report {

TEST(Ledger, AppendsOneJsonLinePerEventAndRedactsSecrets) {
  test::TempDir dir;
  Ledger l(dir / "runs/x/ledger.jsonl");
  l.add_secret("sk-test-SECRET-123");
  l.append("llm-request", {{"body", "Authorization: Bearer sk-test-SECRET-123"}, {"n", 1}});
  l.append("step", {{"nested", {{"k", {"sk-test-SECRET-123"}}}}});
  auto text = test::read(dir / "runs/x/ledger.jsonl");
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  auto events = Ledger::read(dir / "runs/x/ledger.jsonl");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "llm-request");
  EXPECT_EQ(events[0]["body"], "Authorization: Bearer [REDACTED]");
  EXPECT_EQ(events[0]["n"], 1);
  EXPECT_TRUE(events[0].contains("ts"));
}

TEST(Ledger, ATornLastLineIsSkipped) {
  test::TempDir dir;
  test::write(dir / "l.jsonl", "{\"type\":\"a\"}\n{\"type\":\"b\"}\n{\"type\":\"c\",\"x\":");
  auto events = Ledger::read(dir / "l.jsonl");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["type"], "b");
}

TEST(Ledger, AnEventAppendedAfterACutLineIsKept) {
  test::TempDir dir;
  test::write(dir / "l.jsonl", "{\"type\":\"a\"}\n{\"type\":\"c\",\"x\":");
  Ledger l(dir / "l.jsonl");
  l.append("run-resumed");
  auto events = Ledger::read(dir / "l.jsonl");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1]["type"], "run-resumed");
}

TEST(Ledger, ALineThatIsNotAnEventIsSkippedAndTheRestKept) {
  test::TempDir dir;
  // Valid JSON that readers cannot use (value("type", "") would throw on each) between good lines.
  test::write(
      dir / "l.jsonl",
      "{\"type\":\"a\"}\n42\n[1]\n{\"type\":5}\n{\"type\":\"x\",\"key\":{}}\nnot json\n{\"type\":\"b\"}\n");
  auto events = Ledger::read(dir / "l.jsonl");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "a");
  EXPECT_EQ(events[1]["type"], "b");
  for (auto& e : events) EXPECT_EQ(e.value("key", ""), "");
}

TEST(Ledger, TextThatIsNotUtf8IsWrittenAsValidJson) {
  test::TempDir dir;
  Ledger l(dir / "l.jsonl");
  l.append("hook", {{"output", std::string("caf\xe9 \xff")}});
  auto text = test::read(dir / "l.jsonl");
  EXPECT_TRUE(nlohmann::json::accept(text.substr(0, text.size() - 1))) << text;
  EXPECT_EQ(Ledger::read(dir / "l.jsonl").size(), 1u);
}

TEST(Ledger, RunIdsSortByTimeAndDiffer) {
  auto a = make_run_id();
  auto b = make_run_id();
  EXPECT_EQ(a.size(), 23u);
  EXPECT_EQ(a[8], 'T');
  EXPECT_NE(a, b);
}

// Runs started in one second sort in the order they started: `latest` and `list_runs` follow it
// (a test read the first of two runs as the second when both started in the same second).
TEST(Ledger, RunIdsOfOneSecondSortInTheOrderTheyStarted) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(make_run_id());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (size_t i = 1; i < ids.size(); ++i) {
    // Across a second's boundary the timestamp orders them anyway.
    EXPECT_LT(ids[i - 1], ids[i]) << ids[i - 1] << " then " << ids[i];
  }
}

}  // namespace kcat::report
