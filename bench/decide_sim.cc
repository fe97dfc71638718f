// The keep/revert rule on a synthetic benchmark with known true effects (issue 19 §4), old rule
// and new in one run, no NPU needed.
//
// The stand-in benchmark command is a fake exec::Runner: each run prints "throughput: X" where X is
// the true throughput of the code state (100 x the product of (1 + effect) of the applied recipes)
// times a drift factor of the run's position in time, times log-normal noise; or it crashes
// (exit 139), or hangs (timed out). Both rules get their numbers through the real bench::run; the
// old rule is legacy_keep on bench::run's default runs (5, up to 10 while the CV is above 5%,
// failing runs dropped), a baseline measured once and "best" the winning measurement, as
// optimize.cc did; the new rule is decide() (A B B A pairs, a signed-rank interval, a sequential
// stop), the baseline re-measured with every candidate, as optimize.cc does now.
//
//   kcat_decide_sim [--trials N] [--failure-trials N] [--campaigns N] [--seed S]
//
// Prints two Markdown tables (single decisions, five-recipe campaigns) for docs/PERFORMANCE.md.
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "kcat/bench/bench.h"
#include "kcat/optimize/decide.h"

using namespace kcat;
using optimize::Side;

namespace {

struct World {
  double noise = 0.05;         // sd of the log of a run's value
  std::string drift = "none";  // none | up (+0.5%/run) | thermal (down to -15%, time constant 30 runs)
  double outlier_rate = 0;     // a run this likely is 30-50% slow (a hiccup)
};

struct Change {
  double effect = 0;  // true fraction: +0.05 is 5% faster
  double crash = 0;   // per-run probability of exit 139
  double hang = 0;    // per-run probability of a timeout
};

// The stand-in benchmark: the state it measures is set before each run.
class StandIn : public exec::Runner {
 public:
  StandIn(World w, uint64_t seed) : w_(std::move(w)), rng_(seed) {}
  double truth = 100;  // true throughput of the code checked out
  double crash = 0, hang = 0;
  long t = 0;  // runs so far: time, for the drift

  exec::Outcome run(const exec::Command&) override {
    exec::Outcome o;
    const long now = t++;
    std::uniform_real_distribution<double> u(0, 1);
    if (crash > 0 && u(rng_) < crash) {
      o.signal = 11;
      o.err = "Segmentation fault";
      return o;
    }
    if (hang > 0 && u(rng_) < hang) {
      o.timed_out = true;
      o.elapsed = std::chrono::milliseconds(600000);
      return o;
    }
    double drift = 1;
    if (w_.drift == "up") drift = 1 + 0.005 * static_cast<double>(now);
    if (w_.drift == "thermal") drift = 1 - 0.15 * (1 - std::exp(-static_cast<double>(now) / 30));
    std::normal_distribution<double> n(0, w_.noise);
    double v = truth * drift * std::exp(n(rng_));
    if (w_.outlier_rate > 0 && u(rng_) < w_.outlier_rate) v *= 0.5 + 0.2 * u(rng_);
    o.exit_code = 0;
    o.out = fmt::format("warming up\nthroughput: {:.4f} tok/s\n", v);
    return o;
  }
  std::string describe() const override { return "stand-in"; }

 private:
  World w_;
  std::mt19937_64 rng_;
};

bench::Spec old_spec() {
  bench::Spec s;  // bench::Spec's defaults: warm-up 1, 5 runs, up to 10 while CV > 5%
  s.command = "./bench";
  s.metric_regex = "throughput: ([0-9.]+)";
  return s;
}

void set_state(StandIn& b, double truth, const Change* c) {
  b.truth = truth;
  b.crash = c ? c->crash : 0;
  b.hang = c ? c->hang : 0;
}

// One run of one side through bench::run (runs 1, no warm-up).
bench::RunResult one_run(StandIn& b) {
  auto s = old_spec();
  s.warmup = 0;
  s.runs = 1;
  s.max_runs = 1;
  auto r = bench::run(s, b);
  bench::RunResult out;
  if (r.stats)
    out.value = r.stats->median;
  else
    out.failure = r.runs.empty() ? r.failure : r.runs.front().failure;
  return out;
}

// The new rule on base -> base x (1 + effect): warm-up once each side, then decide().
optimize::Decision new_decision(StandIn& b, double base, const Change& c, const optimize::DecideOptions& o) {
  const double cand = base * (1 + c.effect);
  set_state(b, base, nullptr);
  one_run(b);
  set_state(b, cand, &c);
  auto warm = one_run(b);
  if (!warm.value) {  // the warm-up run counts too: a crash is a crash
    optimize::Decision d;
    d.verdict = "failed";
    d.reason = "warm-up failed: " + warm.failure;
    d.runs = 2;
    return d;
  }
  auto d = optimize::decide(
      [&](Side s) {
        if (s == Side::baseline)
          set_state(b, base, nullptr);
        else
          set_state(b, cand, &c);
        return one_run(b);
      },
      o);
  d.runs += 2;
  return d;
}

// The old rule: baseline once, then the candidate, legacy_keep on the two medians.
bool old_keep(StandIn& b, const std::optional<bench::Stats>& best, double truth, const Change& c,
              double min_gain, std::optional<bench::Stats>* measured = nullptr) {
  set_state(b, truth, &c);
  auto r = bench::run(old_spec(), b);
  if (measured) *measured = r.stats;
  if (!r.stats) return false;  // only when every run failed
  return optimize::legacy_keep(*best, *r.stats, min_gain);
}

struct Row {
  std::string scenario;
  World world;
  Change change;
};

struct Tally {
  int n = 0, old_keep = 0, keep = 0, inconclusive = 0, failed = 0, keep40 = 0;
  int keep0 = 0, inconclusive0 = 0, failed0 = 0;  // the new rule without the clean-run count
  long runs = 0, runs40 = 0, old_runs = 0, runs0 = 0;
};

std::string pct(int k, int n) {
  if (!n) return "-";
  const double p = 100.0 * k / n;
  return p > 0 && p < 2 ? fmt::format("{:.1f}%", p) : fmt::format("{:.0f}%", p);
}

// `failure_trials` for the rows whose change crashes or hangs (a rare keep needs many trials).
void single_decisions(int trials, int failure_trials, uint64_t seed) {
  std::vector<Row> rows;
  for (double noise : {0.01, 0.05, 0.15})
    for (double e : {-0.05, 0.0, 0.05, 0.20})
      rows.push_back({fmt::format("steady, {:.0f}% noise", noise * 100), {noise, "none", 0}, {e, 0, 0}});
  for (double e : {0.0, 0.05}) rows.push_back({"drift +0.5%/run, 5% noise", {0.05, "up", 0}, {e, 0, 0}});
  for (double e : {0.0, 0.05}) rows.push_back({"thermal drift, 5% noise", {0.05, "thermal", 0}, {e, 0, 0}});
  for (double e : {0.0, 0.05}) rows.push_back({"5% outlier runs, 5% noise", {0.05, "none", 0.05}, {e, 0, 0}});
  rows.push_back({"crashes in 50% of runs, 5% noise", {0.05, "none", 0}, {0.20, 0.5, 0}});
  rows.push_back({"hangs in 30% of runs, 5% noise", {0.05, "none", 0}, {0.20, 0, 0.3}});
  rows.push_back({"hangs in 10% of runs, 5% noise", {0.05, "none", 0}, {0.20, 0, 0.1}});

  optimize::DecideOptions o20;        // the defaults: min gain 2%, 8..20 pairs, keep 99%, revert 95%
  optimize::DecideOptions o40 = o20;  // "given enough runs"
  o40.max_pairs = 60;
  optimize::DecideOptions o20_before = o20;  // no clean-run count: a keep at 8 clean runs
  o20_before.exclude_failure_rate = 0;
  std::cout << fmt::format(
      "### Single decisions ({} per row, {} for a change that crashes or hangs; seed {})\n\n", trials,
      failure_trials, seed);
  std::cout
      << "| scenario | true effect | old rule: kept | new, 20 pairs, before the clean-run count: kept / "
         "inconclusive / failed (runs) | new, 20 pairs: kept / inconclusive / failed (runs) | runs, old rule "
         "| new, 60 pairs: kept (runs) |\n|---|---:|---:|---:|---:|---:|---:|\n";
  uint64_t s = seed;
  for (const auto& row : rows) {
    Tally t;
    const int n = row.change.crash > 0 || row.change.hang > 0 ? failure_trials : trials;
    for (int i = 0; i < n; ++i) {
      ++t.n;
      {
        StandIn b(row.world, ++s);
        auto base = bench::run(old_spec(), b);
        if (old_keep(b, base.stats, 100 * (1 + row.change.effect), row.change, 0.02)) ++t.old_keep;
        t.old_runs += b.t;
      }
      {
        StandIn b(row.world, s * 7919);
        auto d = new_decision(b, 100, row.change, o20);
        t.keep += d.verdict == "keep";
        t.inconclusive += d.verdict == "inconclusive";
        t.failed += d.verdict == "failed";
        t.runs += b.t;
      }
      {
        StandIn b(row.world, s * 7919);  // the same runs as the new rule's, until it differs
        auto d = new_decision(b, 100, row.change, o20_before);
        t.keep0 += d.verdict == "keep";
        t.inconclusive0 += d.verdict == "inconclusive";
        t.failed0 += d.verdict == "failed";
        t.runs0 += b.t;
      }
      {
        StandIn b(row.world, s * 104729);
        auto d = new_decision(b, 100, row.change, o40);
        t.keep40 += d.verdict == "keep";
        t.runs40 += b.t;
      }
    }
    std::string extra = row.change.crash > 0  ? fmt::format(", crash {:.0f}%", row.change.crash * 100)
                        : row.change.hang > 0 ? fmt::format(", hang {:.0f}%", row.change.hang * 100)
                                              : "";
    auto avg = [&](long runs) { return static_cast<double>(runs) / t.n; };
    std::cout << fmt::format(
        "| {} | {:+.0f}%{} | {} | {} / {} / {} ({:.1f}) | {} / {} / {} ({:.1f}) | {:.0f} | {} ({:.0f}) |\n",
        row.scenario, row.change.effect * 100, extra, pct(t.old_keep, t.n), pct(t.keep0, t.n),
        pct(t.inconclusive0, t.n), pct(t.failed0, t.n), avg(t.runs0), pct(t.keep, t.n),
        pct(t.inconclusive, t.n), pct(t.failed, t.n), avg(t.runs), avg(t.old_runs), pct(t.keep40, t.n),
        avg(t.runs40));
  }
}

// Five recipes, tried in order; target 1.25x the baseline.
struct CampaignTally {
  int n = 0, bad_kept = 0, good_reverted = 0, good = 0, bad = 0, claims = 0, false_claims = 0;
  int null_kept = 0, nulls = 0;
  double overstatement = 0;  // sum of claimed / true speed-up over claims
  long runs = 0;
};

void campaigns(int count, uint64_t seed) {
  const std::vector<double> pool = {-0.10, -0.03, 0.0, 0.0, 0.03, 0.05, 0.10, 0.20};
  const double target = 1.25, min_gain = 0.02;
  struct Cond {
    std::string name;
    World w;
  };
  std::vector<Cond> conds = {{"steady, 5% noise", {0.05, "none", 0}},
                             {"steady, 15% noise", {0.15, "none", 0}},
                             {"drift +0.5%/run, 5% noise", {0.05, "up", 0}},
                             {"thermal drift, 5% noise", {0.05, "thermal", 0}}};
  std::cout << fmt::format(
      "\n### {} five-recipe campaigns ({} per condition, seed {}, target 1.25x, effects drawn from "
      "-10/-3/0/0/+3/+5/+10/+20%)\n\n",
      count, count / static_cast<int>(conds.size()), seed);
  std::cout
      << "| condition | rule | harmful (< 0) kept | no-effect kept | good (>= +5%) not kept | \"target met\" "
         "claims | false claims | claimed / true speed-up | runs per campaign |\n"
         "|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  std::mt19937_64 pick(seed);
  for (const auto& cond : conds) {
    CampaignTally old_t, new_t, before_t;
    const int per = count / static_cast<int>(conds.size());
    for (int c = 0; c < per; ++c) {
      std::vector<Change> recipes;
      for (int i = 0; i < 5; ++i) recipes.push_back({pool[pick() % pool.size()], 0, 0});
      auto score = [&](CampaignTally& t, const std::vector<bool>& kept) {
        ++t.n;
        for (size_t i = 0; i < recipes.size(); ++i) {
          if (recipes[i].effect < 0) {
            ++t.bad;
            t.bad_kept += kept[i];
          }
          if (recipes[i].effect == 0) {
            ++t.nulls;
            t.null_kept += kept[i];
          }
          if (recipes[i].effect >= 0.05) {
            ++t.good;
            t.good_reverted += !kept[i];
          }
        }
      };
      auto truth_of = [&](const std::vector<bool>& kept) {
        double x = 1;
        for (size_t i = 0; i < recipes.size(); ++i)
          if (kept[i]) x *= 1 + recipes[i].effect;
        return x;
      };
      // Old: baseline once; best is the winning measurement; stop when best >= target.
      {
        StandIn b(cond.w, seed + 1000003ull * static_cast<uint64_t>(c));
        set_state(b, 100, nullptr);
        auto base = bench::run(old_spec(), b);
        auto best = base.stats;
        std::vector<bool> kept(recipes.size(), false);
        bool claimed = false;
        for (size_t i = 0; i < recipes.size() && !claimed; ++i) {
          std::optional<bench::Stats> m;
          auto with = kept;
          with[i] = true;
          if (old_keep(b, best, 100 * truth_of(with), recipes[i], min_gain, &m)) {
            kept[i] = true;
            best = m;
            claimed = best->median >= target * base.stats->median;
          }
        }
        score(old_t, kept);
        if (claimed) {
          ++old_t.claims;
          old_t.false_claims += truth_of(kept) < target;
          old_t.overstatement += best->median / base.stats->median / truth_of(kept);
        }
        old_t.runs += b.t;
      }
      // New: every candidate against the current state, interleaved; reverted recipes retried
      // once after a keep; a target claim only on a final A/B against the baseline.
      auto new_campaign = [&](CampaignTally& t, double exclude_failure_rate) {
        StandIn b(cond.w, seed * 31 + 1000003ull * static_cast<uint64_t>(c));
        optimize::DecideOptions o;
        o.min_gain = min_gain;
        o.exclude_failure_rate = exclude_failure_rate;
        std::vector<bool> kept(recipes.size(), false);
        std::vector<size_t> queue = {0, 1, 2, 3, 4}, reverted;
        std::set<size_t> retried;
        double estimate = 1;  // the product of the kept ratios
        bool claimed = false;
        double claimed_ratio = 0;
        for (size_t qi = 0; qi < queue.size() && !claimed; ++qi) {
          const size_t i = queue[qi];
          auto d = new_decision(b, 100 * truth_of(kept), recipes[i], o);
          if (!d.kept()) {
            if (!retried.count(i)) reverted.push_back(i);
            continue;
          }
          kept[i] = true;
          estimate *= d.ratio;
          for (size_t j : reverted) {  // after a keep, the reverted get one more try
            retried.insert(j);
            queue.push_back(j);
          }
          reverted.clear();
          if (estimate >= target) {  // the final A/B against the baseline
            auto f = new_decision(b, 100, Change{truth_of(kept) - 1, 0, 0}, o);
            if (f.low >= target) {
              claimed = true;
              claimed_ratio = f.ratio;
            }
          }
        }
        score(t, kept);
        if (claimed) {
          ++t.claims;
          t.false_claims += truth_of(kept) < target;
          t.overstatement += claimed_ratio / truth_of(kept);
        }
        t.runs += b.t;
      };
      new_campaign(new_t, optimize::DecideOptions{}.exclude_failure_rate);
      new_campaign(before_t, 0);
    }
    for (auto* t : {&old_t, &before_t, &new_t}) {
      std::cout << fmt::format(
          "| {} | {} | {} of {} | {} of {} | {} of {} | {} | {} | {} | {:.0f} |\n", cond.name,
          t == &old_t      ? "old"
          : t == &before_t ? "new, before the clean-run count"
                           : "new",
          t->bad_kept, t->bad, t->null_kept, t->nulls, t->good_reverted, t->good, t->claims, t->false_claims,
          t->claims ? fmt::format("{:.3f}", t->overstatement / t->claims) : "-",
          static_cast<double>(t->runs) / t->n);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 120, count = 240, failure_trials = 0;
  uint64_t seed = 19;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--trials")) trials = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--campaigns")) count = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--failure-trials")) failure_trials = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  single_decisions(trials, failure_trials > 0 ? failure_trials : trials, seed);
  campaigns(count, seed);
  return 0;
}
