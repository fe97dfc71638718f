// Keep or revert on evidence: the interval, the verdicts, the interleaving, failures (issue 19 §4).
#include "kcat/optimize/decide.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

namespace kcat::optimize {
namespace {

bench::RunResult value(double v) {
  bench::RunResult r;
  r.value = v;
  return r;
}
bench::RunResult failure(const std::string& why) {
  bench::RunResult r;
  r.failure = why;
  return r;
}

TEST(SignedRankInterval, MatchesTheExactTable) {
  // R: wilcox.test(1:10, conf.int = TRUE) gives 3.0 .. 8.0 around 5.5.
  std::vector<double> x;
  for (int i = 1; i <= 10; ++i) x.push_back(i);
  auto iv = signed_rank_interval(x, 0.95);
  ASSERT_TRUE(iv);
  EXPECT_DOUBLE_EQ(iv->estimate, 5.5);
  EXPECT_DOUBLE_EQ(iv->low, 3.0);
  EXPECT_DOUBLE_EQ(iv->high, 8.0);
  // Six values reach 96.9%: the extreme Walsh averages; five cannot reach 95%.
  iv = signed_rank_interval({0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, 0.95);
  EXPECT_DOUBLE_EQ(iv->low, 0.1);
  EXPECT_DOUBLE_EQ(iv->high, 0.6);
  iv = signed_rank_interval({0.1, 0.2, 0.3, 0.4, 0.5}, 0.95);
  EXPECT_TRUE(std::isinf(iv->low) && iv->low < 0);
  EXPECT_TRUE(std::isinf(iv->high) && iv->high > 0);
  EXPECT_FALSE(signed_rank_interval({}, 0.95));
  // The normal approximation (n > 60) stays close to the exact interval's width.
  std::vector<double> big;
  for (int i = 1; i <= 80; ++i) big.push_back(i);
  iv = signed_rank_interval(big, 0.95);
  EXPECT_DOUBLE_EQ(iv->estimate, 40.5);
  EXPECT_GT(iv->low, 33);
  EXPECT_LT(iv->low, 36);
  EXPECT_NEAR(iv->high - 40.5, 40.5 - iv->low, 1e-9);
}

TEST(SignedRankInterval, AnOutlierMovesItLittle) {
  std::vector<double> x = {0.05, 0.06, 0.04, 0.05, 0.07, 0.05, 0.06, 0.04};
  auto clean = signed_rank_interval(x, 0.95);
  x[3] = 3.0;  // one run 20x off
  auto dirty = signed_rank_interval(x, 0.95);
  EXPECT_NEAR(dirty->estimate, clean->estimate, 0.006);
  EXPECT_GT(dirty->low, 0.04);  // the low end does not move at all
}

TEST(Judge, KeepsRevertsOrWaits) {
  DecideOptions o;  // min gain 2%, 8..20 pairs, keep at 99%, revert at 95%
  std::vector<double> a(8, 100.0), b = {110, 111, 109, 110, 112, 108, 110, 111};
  auto d = judge(a, b, o, false);
  EXPECT_EQ(d.verdict, "keep") << d.reason;
  EXPECT_NEAR(d.ratio, 1.10, 0.01);
  EXPECT_GT(d.low, 1.02);
  EXPECT_DOUBLE_EQ(d.confidence, 0.99);
  EXPECT_NE(d.reason.find("(99%, 8 pairs"), std::string::npos) << d.reason;
  // Seven pairs: no verdict yet, however clear.
  d = judge(std::vector<double>(7, 100.0), std::vector<double>(7, 120.0), o, false);
  EXPECT_EQ(d.verdict, "");
  // Slower, or a gain too small to count: reverted, and the reason says it.
  d = judge(a, {97, 98, 99, 98, 97, 98, 99, 97}, o, false);
  EXPECT_EQ(d.verdict, "revert") << d.reason;
  EXPECT_DOUBLE_EQ(d.confidence, 0.95);
  EXPECT_NE(d.reason.find("not above the best so far"), std::string::npos) << d.reason;
  d = judge(a, {100.5, 101, 100.8, 101.2, 100.9, 101, 100.7, 101.1}, o, false);
  EXPECT_EQ(d.verdict, "revert") << d.reason;
  // Too noisy to tell: more pairs, and when they are spent, "inconclusive".
  std::vector<double> noisy = {80, 125, 97, 130, 90, 118, 104, 111};
  d = judge(a, noisy, o, false);
  EXPECT_EQ(d.verdict, "");
  d = judge(a, noisy, o, true);
  EXPECT_EQ(d.verdict, "inconclusive");
  EXPECT_NE(d.reason.find("inconclusive"), std::string::npos);
  EXPECT_LT(d.low, 1.02);
  EXPECT_GT(d.high, 1.02);
  auto j = to_json(d);
  EXPECT_EQ(j["verdict"], "inconclusive");
  EXPECT_EQ(j["pairs"], 8);
  EXPECT_EQ(j["candidate"].size(), 8u);
}

TEST(Decide, InterleavesABBAAndStopsWhenClear) {
  std::vector<Side> sides;
  auto d = decide(
      [&](Side s) {
        sides.push_back(s);
        return value(s == Side::candidate ? 130.0 + static_cast<double>(sides.size() % 3) : 100.0);
      },
      DecideOptions{});
  EXPECT_EQ(d.verdict, "keep");
  EXPECT_EQ(d.pairs, 8);  // clear at the first look
  EXPECT_EQ(d.runs, 21);  // and 5 candidate-only runs: 13 without a failure (keep_clean_runs)
  EXPECT_EQ(d.clean_runs, 13);
  EXPECT_EQ(d.confirmation.size(), 5u);
  ASSERT_GE(sides.size(), 4u);
  EXPECT_EQ(sides[0], Side::baseline);
  EXPECT_EQ(sides[1], Side::candidate);
  EXPECT_EQ(sides[2], Side::candidate);
  EXPECT_EQ(sides[3], Side::baseline);
}

TEST(Decide, SteadyDriftDoesNotMakeANoEffectChangeAKeep) {
  // +0.5% per run, upwards, and no effect: A B B A cancels it.
  int t = 0;
  auto d = decide([&](Side) { return value(100.0 * (1 + 0.005 * t++)); }, DecideOptions{});
  EXPECT_NE(d.verdict, "keep") << d.reason;
  EXPECT_NEAR(d.ratio, 1.0, 0.006) << d.reason;
  // The same drift under the old rule: a baseline measured once, then the candidate, keeps it.
  std::vector<double> base, cand;
  for (int i = 0; i < 10; ++i) base.push_back(100.0 * (1 + 0.005 * i));
  for (int i = 10; i < 20; ++i) cand.push_back(100.0 * (1 + 0.005 * i));
  EXPECT_TRUE(legacy_keep(bench::statistics(base), bench::statistics(cand), 0.02));
}

TEST(Decide, ACandidateThatFailsOnceIsNeverKept) {
  int candidate_runs = 0;
  auto d = decide(
      [&](Side s) {
        if (s == Side::baseline) return value(100);
        if (++candidate_runs == 4) return failure("exit 139 (SIGSEGV)");
        return value(150);
      },
      DecideOptions{});
  EXPECT_EQ(d.verdict, "failed");
  EXPECT_NE(d.reason.find("candidate run 4 failed: exit 139"), std::string::npos) << d.reason;
  EXPECT_FALSE(d.kept());
  EXPECT_EQ(candidate_runs, 4);  // it stops at the failure
}

TEST(Decide, AKeepNeedsEnoughCleanCandidateRunsToExcludeTheFailureRate) {
  DecideOptions o;
  EXPECT_EQ(keep_clean_runs(o), 13);  // 0.7^13 = 0.97% <= 1%; 0.7^12 = 1.4%
  o.exclude_failure_rate = 0.5;
  EXPECT_EQ(keep_clean_runs(o), 8);  // 0.5^7 = 0.8%, but never before min_pairs
  o.exclude_failure_rate = 0.1;
  EXPECT_EQ(keep_clean_runs(o), 44);  // 0.9^44 = 0.97%
  // Clear at 8 pairs, then the 11th candidate run hangs: failed, not kept.
  int candidate_runs = 0;
  auto d = decide(
      [&](Side s) {
        if (s == Side::baseline) return value(100);
        if (++candidate_runs == 11) return failure("timed out after 600.0 s");
        return value(130);
      },
      DecideOptions{});
  EXPECT_EQ(d.verdict, "failed") << d.reason;
  EXPECT_NE(d.reason.find("candidate run 11 failed: timed out"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("the interval said keep"), std::string::npos) << d.reason;
  EXPECT_EQ(d.pairs, 8);
  // The time budget running out during those runs: inconclusive, not kept.
  int asked = 0;
  d = decide([&](Side s) { return value(s == Side::baseline ? 100 : 130); }, DecideOptions{},
             [&] { return ++asked > 10; });
  EXPECT_EQ(d.verdict, "inconclusive") << d.reason;
  EXPECT_NE(d.reason.find("candidate runs without a failure a keep needs"), std::string::npos) << d.reason;
}

TEST(Decide, AChangeThatHangsInThirtyPercentOfItsRunsIsKeptAtMostOnePercent) {
  // +20% at 5% noise, so the interval is clear at 8 pairs; 30% of its runs time out. Before the
  // clean-run count it was kept whenever its first 8 runs passed: 0.7^8 = 5.8%.
  std::mt19937_64 rng(19);
  std::normal_distribution<double> noise(0, 0.05);
  std::uniform_real_distribution<double> u(0, 1);
  int kept = 0;
  const int trials = 3000;
  for (int i = 0; i < trials; ++i) {
    auto d = decide(
        [&](Side s) {
          if (s == Side::candidate && u(rng) < 0.3) return failure("timed out");
          return value((s == Side::baseline ? 100 : 120) * std::exp(noise(rng)));
        },
        DecideOptions{});
    kept += d.kept();
  }
  EXPECT_LE(kept, trials * 0.015) << kept;  // 0.7^13 = 0.97% expected: 29 of 3000
}

TEST(Decide, BaselineFailuresDropThePairThenEndInconclusive) {
  int base_runs = 0;
  auto d = decide(
      [&](Side s) {
        if (s == Side::baseline && ++base_runs == 2) return failure("timed out after 5.0 s");
        return value(s == Side::baseline ? 100 : 130);
      },
      DecideOptions{});
  EXPECT_EQ(d.verdict, "keep");
  EXPECT_EQ(d.pairs, 8);
  EXPECT_EQ(d.runs, 18 + 4);  // the dropped pair's candidate run was clean: 9 + 4 more make 13
  d = decide([&](Side s) { return s == Side::baseline ? failure("exit 1") : value(130); }, DecideOptions{});
  EXPECT_EQ(d.verdict, "inconclusive");
  EXPECT_NE(d.reason.find("3 baseline runs failed (first: exit 1)"), std::string::npos) << d.reason;
}

TEST(Decide, TheBudgetEndsItInconclusive) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 0.15);
  DecideOptions o;
  o.max_pairs = 10;
  auto d = decide([&](Side) { return value(100 * std::exp(noise(rng))); }, o);
  EXPECT_EQ(d.verdict, "inconclusive") << d.reason;
  EXPECT_EQ(d.pairs, 10);
  int asked = 0;
  d = decide([&](Side) { return value(100); }, o, [&] { return ++asked > 2; });
  EXPECT_EQ(d.verdict, "inconclusive");
  EXPECT_EQ(d.pairs, 2);
  EXPECT_NE(d.reason.find("time budget"), std::string::npos);
}

TEST(LegacyKeep, TheSumOfCVsIsTheBar) {
  bench::Stats best, cand;
  best.median = 100;
  best.cv = 0.05;
  cand.median = 109;
  cand.cv = 0.05;
  EXPECT_FALSE(legacy_keep(best, cand, 0.02));  // needs 110
  cand.median = 110.5;
  EXPECT_TRUE(legacy_keep(best, cand, 0.02));
}

}  // namespace
}  // namespace kcat::optimize
