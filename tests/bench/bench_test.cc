#include "kcat/bench/bench.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::bench {

TEST(Bench, StatisticsMedianSpread) {
  auto s = statistics({10, 30, 20, 40});
  EXPECT_EQ(s.n, 4u);
  EXPECT_DOUBLE_EQ(s.median, 25);
  EXPECT_DOUBLE_EQ(s.min, 10);
  EXPECT_DOUBLE_EQ(s.max, 40);
  EXPECT_NEAR(s.cv, 0.5164, 1e-3);
  EXPECT_DOUBLE_EQ(statistics({5}).cv, 0);
}

TEST(Bench, MetricFromRegexTakesTheLastMatch) {
  Spec s;
  s.metric_regex = "throughput: ([0-9.]+)";
  EXPECT_EQ(extract_metric(s, "throughput: 1.5\nwarming...\nthroughput: 123.25 tok/s\n"), 123.25);
  EXPECT_EQ(extract_metric(s, "nothing here"), std::nullopt);
  s.metric_regex = "no group";
  EXPECT_THROW(extract_metric(s, "x"), Error);
}

TEST(Bench, MetricFromTheLastJsonLine) {
  Spec s;
  s.metric_json_key = "result.tokens_per_s";
  EXPECT_EQ(extract_metric(
                s, "log\n{\"result\": {\"tokens_per_s\": 1}}\n{\"result\": {\"tokens_per_s\": 864.5}}\n"),
            864.5);
  EXPECT_EQ(extract_metric(s, "{\"result\": {\"tokens_per_s\": \"fast\"}}\n"), std::nullopt);
  EXPECT_EQ(extract_metric(s, "{broken\n"), std::nullopt);
}

TEST(Bench, FailedRunsAreReportedNotCounted) {
  test::TempDir dir;
  Spec s;
  // Alternates a good run and a crash.
  s.command = "if [ -f " + (dir / "flag").string() + " ]; then rm " + (dir / "flag").string() +
              "; kill -9 $$; fi; touch " + (dir / "flag").string() + "; echo 100";
  s.warmup = 0;
  s.runs = 4;
  auto runner = exec::local_runner();
  auto r = run(s, *runner);
  ASSERT_TRUE(r.stats);
  EXPECT_EQ(r.stats->n, 2u);
  EXPECT_DOUBLE_EQ(r.stats->median, 100);
  EXPECT_NE(r.failure.find("2 of 4 runs failed"), std::string::npos) << r.failure;
  EXPECT_NE(r.failure.find("signal 9"), std::string::npos);
}

TEST(Bench, EveryRunKeepsWhatItPrinted) {
  Spec s;
  s.command = "echo oops >&2; echo '{\"tok_s\": 3}'";
  s.metric_json_key = "tok_s";
  s.runs = 1;
  s.warmup = 0;
  auto runner = exec::local_runner();
  auto r = run(s, *runner);
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].output, "{\"tok_s\": 3}\n");
  EXPECT_EQ(r.runs[0].stderr_tail, "oops\n");
  nlohmann::json j = r;
  EXPECT_EQ(j["runs"][0]["output"], "{\"tok_s\": 3}\n");
  EXPECT_EQ(j["runs"][0]["stderr"], "oops\n");
  s.command = "head -c 1100000 /dev/zero | tr '\\0' x; echo; echo fail >&2; exit 4";
  r = run(s, *runner);
  ASSERT_FALSE(r.runs[0].value);
  EXPECT_EQ(r.runs[0].output.size(), kOutputKept);  // the tail of a long output
  EXPECT_EQ(r.runs[0].stderr_tail, "fail\n");       // a failed run keeps its output too
}

TEST(Bench, NoNumberAtAllIsAFailureNotAZero) {
  Spec s;
  s.command = "echo no numbers here";
  s.metric_regex = "tok/s: ([0-9.]+)";
  s.warmup = 0;
  s.runs = 2;
  auto runner = exec::local_runner();
  auto r = run(s, *runner);
  EXPECT_FALSE(r.stats);
  EXPECT_NE(r.failure.find("no metric in the output"), std::string::npos);
}

TEST(Bench, WideSpreadAddsRunsUpToTheBound) {
  test::TempDir dir;
  Spec s;
  // 1, 100, 1, 100, ...: the spread never settles, so runs stop at the bound.
  s.command = "n=$(cat " + (dir / "n").string() + " 2>/dev/null || echo 0); echo $((n+1)) > " +
              (dir / "n").string() + "; if [ $((n % 2)) = 0 ]; then echo 1; else echo 100; fi";
  s.warmup = 0;
  s.runs = 3;
  s.max_runs = 7;
  auto runner = exec::local_runner();
  auto r = run(s, *runner);
  EXPECT_EQ(r.runs.size(), 7u);
}

}  // namespace kcat::bench
