#include "kcat/report/ledger.h"

#include <gtest/gtest.h>

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

TEST(Ledger, RunIdsSortByTimeAndDiffer) {
  auto a = make_run_id();
  auto b = make_run_id();
  EXPECT_EQ(a.size(), 23u);
  EXPECT_EQ(a[8], 'T');
  EXPECT_NE(a, b);
}

}  // namespace kcat::report
