#pragma once
// Keep or revert, on evidence (issue 19 §4). The baseline (A) and the candidate (B) are measured
// interleaved in adjacent pairs, in the order A B | B A | A B | B A ..., so a steady drift (a host
// warming up or throttling) adds +d to one pair and -d to the next and cancels in a median. Each
// pair gives one log ratio log(B/A); the verdict comes from the Hodges-Lehmann estimate of their
// centre and its exact Wilcoxon signed-rank confidence interval (a rank method: an outlier run
// moves it little, it needs no normal noise and it holds at 8 pairs where a bootstrap does not).
// After each pair, from min_pairs on:
//   keep   when the 99% interval's low end is above 1 + min_gain (clearly a gain worth having),
//   revert when the 95% interval's high end is below 1 + min_gain (clearly not),
// and once max_pairs are spent with neither, "inconclusive" (reverted, and said so). A candidate
// run that fails (crash, timeout, no number, wrong output) ends it at once: "failed", with why.
// A failure that shows in only some runs can hide in the few a clear keep needs (a change that
// hangs in 30% of its runs passes 8 of them 6% of the time), so a keep also needs
// keep_clean_runs(o) candidate runs without a failure: when the interval says keep earlier, the
// candidate alone runs until it has them (its values are not used for the ratio), and any failure
// there fails it. A change failing in at least o.exclude_failure_rate of its runs is then kept with
// probability at most 1 - o.keep_confidence; a rarer failure can pass (docs/PERFORMANCE.md).
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kcat/bench/bench.h"

namespace kcat::optimize {

enum class Side { baseline, candidate };

struct DecideOptions {
  double min_gain = 0.02;  // the smallest speed-up worth keeping (a fraction)
  int min_pairs = 8;       // no verdict before (a 99% signed-rank interval needs 8 pairs)
  int max_pairs = 20;      // the budget: "inconclusive" after this many pairs
  // Of the intervals (two-sided). A wrong keep costs more than a wrong revert (the change stays,
  // and every later one is measured on top of it) and the interval is looked at after every pair,
  // which makes a fixed-level interval err more often than its level says: keep on a 99% interval,
  // revert on a 95% one. bench/decide_sim.cc measures what this gives.
  double keep_confidence = 0.99;
  double revert_confidence = 0.95;
  // The failure rate (crash, timeout, wrong output per run) a keep must exclude at keep_confidence.
  double exclude_failure_rate = 0.3;
};

// The candidate runs without a failure a keep needs: the smallest n with
// (1 - exclude_failure_rate)^n <= 1 - keep_confidence (13 at the defaults), and at least min_pairs.
int keep_clean_runs(const DecideOptions& o);

// The centre of a sample and its interval; low/high are -inf/+inf when the sample is too small
// for the confidence asked.
struct Interval {
  double estimate = 0, low = 0, high = 0;
};
// Hodges-Lehmann estimate (median of the Walsh averages) of the centre of `x`, and the exact
// distribution-free interval from the Wilcoxon signed-rank distribution. nullopt when x is empty.
std::optional<Interval> signed_rank_interval(const std::vector<double>& x, double confidence);

struct Decision {
  std::string verdict;       // keep | revert | inconclusive | failed
  std::string reason;        // one sentence: the evidence, or what failed
  double ratio = 0;          // candidate / baseline (Hodges-Lehmann of the pair ratios); 0 when none
  double low = 0, high = 0;  // its interval at `confidence` (0 when no pair): the keep interval
  double confidence = 0;     // when kept, else the revert interval
  int pairs = 0;             // completed pairs
  int runs = 0;              // runs made, both sides
  std::vector<double> baseline, candidate;  // the values of the completed pairs, in run order
  std::vector<double> confirmation;         // candidate-only runs after the interval said keep
  int clean_runs = 0;                       // candidate runs without a failure
  bool kept() const { return verdict == "keep"; }
  // "1.06x [1.03x, 1.09x] (95%, 8 pairs, 16 runs)"
  std::string evidence() const;
};

// The verdict on the pairs so far (pure): baseline[i] and candidate[i] are pair i's values. The
// verdict is "" when more pairs are needed and the budget is not spent.
Decision judge(const std::vector<double>& baseline, const std::vector<double>& candidate,
               const DecideOptions& o, bool budget_spent);

// Runs the pairs: `run(side)` makes one benchmark run of that side (the caller switches the code,
// deletes the stale output dump, checks the new one) and returns its number or why there is none.
// `out_of_time` (optional) is asked before every pair: true ends it as inconclusive.
Decision decide(const std::function<bench::RunResult(Side)>& run, const DecideOptions& o,
                const std::function<bool()>& out_of_time = {});

// The rule kcat used before issue 19, kept to measure it against (bench/decide_sim.cc): keep when
// the candidate's median beats the best's by max(min_gain, cv_best + cv_candidate).
bool legacy_keep(const bench::Stats& best, const bench::Stats& candidate, double min_gain);

nlohmann::json to_json(const Decision& d);

}  // namespace kcat::optimize
