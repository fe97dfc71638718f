// A wall-time budget (optimize --max-minutes) reaches the benchmark command: a run without a
// timeout of its own is stopped when the budget runs out, and no run starts after it.
#include <gtest/gtest.h>

#include <chrono>

#include "kcat/bench/bench.h"

namespace kcat::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(BenchBudget, ARunWithoutATimeoutStopsWhenTheBudgetIsSpent) {
  Spec spec;
  spec.command = "echo 'throughput: 1'; sleep 40";
  spec.metric_regex = "throughput: ([0-9.]+)";
  spec.warmup = 0;
  spec.runs = 3;
  spec.deadline = Clock::now() + 1000ms;  // no spec.timeout: the budget is the only limit
  auto runner = exec::local_runner();
  auto start = Clock::now();
  auto r = run(spec, *runner);
  EXPECT_LT(Clock::now() - start, 3000ms);
  ASSERT_EQ(r.runs.size(), 1u);  // the first run was stopped; none started after it
  EXPECT_FALSE(r.stats);
  EXPECT_NE(r.runs[0].failure.find("time budget ran out"), std::string::npos) << r.runs[0].failure;
}

TEST(BenchBudget, ATimeoutShorterThanTheBudgetStillApplies) {
  Spec spec;
  spec.command = "sleep 40";
  spec.warmup = 0;
  spec.runs = 1;
  spec.max_runs = 1;
  spec.timeout = 300ms;
  spec.deadline = Clock::now() + 30s;
  auto runner = exec::local_runner();
  auto r = run(spec, *runner);
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].failure.find("time budget"), std::string::npos) << r.runs[0].failure;
  EXPECT_NE(r.runs[0].failure.find("timed out"), std::string::npos) << r.runs[0].failure;
}

}  // namespace
}  // namespace kcat::bench
