// Keep or revert on evidence (see decide.h).
#include "kcat/optimize/decide.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace kcat::optimize {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double median_of_sorted(const std::vector<double>& v) {
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The number of smallest Walsh averages to cut from each end for a two-sided interval at
// `confidence`: the largest k with P(T+ <= k - 1) <= alpha / 2 under the null (T+ the signed-rank
// statistic). 0 when even the extremes do not reach the confidence.
size_t signed_rank_cut(size_t n, double confidence) {
  const double half_alpha = (1 - confidence) / 2;
  if (n > 60) {  // the normal approximation, with a continuity correction
    const double nn = static_cast<double>(n);
    const double mean = nn * (nn + 1) / 4, sd = std::sqrt(nn * (nn + 1) * (2 * nn + 1) / 24);
    // z for half_alpha by bisection on erfc (no quantile function in <cmath>)
    double lo = 0, hi = 10;
    for (int i = 0; i < 100; ++i) {
      double mid = (lo + hi) / 2;
      if (0.5 * std::erfc(mid / std::sqrt(2.0)) > half_alpha)
        lo = mid;
      else
        hi = mid;
    }
    double k = std::floor(mean - hi * sd - 0.5) + 1;
    return k < 0 ? 0 : static_cast<size_t>(k);
  }
  const size_t m = n * (n + 1) / 2;
  std::vector<double> count(m + 1, 0.0);  // subsets of {1..n} by sum
  count[0] = 1;
  for (size_t r = 1; r <= n; ++r)
    for (size_t w = m; w >= r; --w) count[w] += count[w - r];
  const double total = std::ldexp(1.0, static_cast<int>(n));
  size_t k = 0;
  double cdf = 0;  // P(T+ <= k - 1)
  while (k <= m) {
    double next = cdf + count[k] / total;  // P(T+ <= k)
    if (next > half_alpha) break;
    cdf = next;
    ++k;
  }
  return k;
}

std::string times(double x) {
  if (std::isinf(x)) return x > 0 ? "inf" : "0";
  return fmt::format("{:.3f}x", x);
}

}  // namespace

std::optional<Interval> signed_rank_interval(const std::vector<double>& x, double confidence) {
  if (x.empty()) return std::nullopt;
  const size_t n = x.size();
  std::vector<double> walsh;
  walsh.reserve(n * (n + 1) / 2);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i; j < n; ++j) walsh.push_back((x[i] + x[j]) / 2);
  std::sort(walsh.begin(), walsh.end());
  Interval out;
  out.estimate = median_of_sorted(walsh);
  const size_t k = signed_rank_cut(n, confidence);
  if (k == 0 || k > walsh.size()) {
    out.low = -kInf;
    out.high = kInf;
  } else {
    out.low = walsh[k - 1];
    out.high = walsh[walsh.size() - k];
  }
  return out;
}

std::string Decision::evidence() const {
  if (pairs == 0) return fmt::format("no complete pair ({} runs)", runs);
  return fmt::format("{} [{}, {}] ({:.0f}%, {} pairs, {} runs)", times(ratio), times(low), times(high),
                     confidence * 100, pairs, runs);
}

Decision judge(const std::vector<double>& baseline, const std::vector<double>& candidate,
               const DecideOptions& o, bool budget_spent) {
  Decision d;
  d.baseline = baseline;
  d.candidate = candidate;
  d.pairs = static_cast<int>(std::min(baseline.size(), candidate.size()));
  d.runs = 2 * d.pairs;
  std::vector<double> logs;
  for (int i = 0; i < d.pairs; ++i) {
    if (!(baseline[i] > 0) || !(candidate[i] > 0)) {
      d.verdict = "failed";
      d.reason = fmt::format("pair {} has a metric that is not positive ({} vs {}): no ratio to judge", i + 1,
                             candidate[i], baseline[i]);
      return d;
    }
    logs.push_back(std::log(candidate[i] / baseline[i]));
  }
  const double bar = 1 + o.min_gain;
  auto set = [&](double confidence) {
    d.confidence = confidence;
    if (auto iv = signed_rank_interval(logs, confidence)) {
      d.ratio = std::exp(iv->estimate);
      d.low = std::exp(iv->low);
      d.high = std::exp(iv->high);
    }
  };
  if (d.pairs >= o.min_pairs) {
    set(o.keep_confidence);
    if (d.low > bar) {
      d.verdict = "keep";
      d.reason = fmt::format("{}: the whole interval is above {} (min gain {:.0f}%)", d.evidence(),
                             times(bar), o.min_gain * 100);
      return d;
    }
  }
  set(o.revert_confidence);
  if (d.pairs >= o.min_pairs && d.high < bar) {
    d.verdict = "revert";
    d.reason = fmt::format("{}: not above the best so far by {:.0f}% (the interval ends below {})",
                           d.evidence(), o.min_gain * 100, times(bar));
    return d;
  }
  if (budget_spent) {
    d.verdict = "inconclusive";
    d.reason = d.pairs == 0 ? fmt::format("{}: inconclusive, reverted", d.evidence())
                            : fmt::format(
                                  "{}: the interval spans {} when the budget is spent: inconclusive, "
                                  "reverted",
                                  d.evidence(), times(bar));
  }
  return d;
}

int keep_clean_runs(const DecideOptions& o) {
  int n = o.min_pairs;
  const double rate = o.exclude_failure_rate, alpha = 1 - o.keep_confidence;
  if (rate > 0 && rate < 1 && alpha > 0 && alpha < 1) {
    // 1e-9: (1 - 0.3)^13 is 0.0097 but a rate like 0.5 with alpha 0.25 is exact
    n = std::max(n, static_cast<int>(std::ceil(std::log(alpha) / std::log(1 - rate) - 1e-9)));
  }
  return n;
}

namespace {

std::string failed_run(int n, const bench::RunResult& r) {
  return fmt::format("candidate run {} failed: {}", n, r.failure.empty() ? "no number" : r.failure);
}

// The interval says keep: the candidate alone runs until it has keep_clean_runs(o) runs without a
// failure; one failure fails it, a spent time budget makes it inconclusive.
Decision confirm(Decision d, const std::function<bench::RunResult(Side)>& run, const DecideOptions& o,
                 const std::function<bool()>& out_of_time, int& runs, int& clean) {
  const int need = keep_clean_runs(o);
  const int before = clean;
  while (clean < need) {
    if (out_of_time && out_of_time()) {
      d.verdict = "inconclusive";
      d.reason = fmt::format(
          "the time budget ran out after {} of the {} candidate runs without a failure a keep needs ({}): "
          "inconclusive, reverted",
          clean, need, d.evidence());
      return d;
    }
    auto r = run(Side::candidate);
    ++runs;
    if (!r.value) {
      d.verdict = "failed";
      d.reason = failed_run(clean + 1, r) + fmt::format(" (the interval said keep: {})", d.evidence());
      return d;
    }
    d.confirmation.push_back(*r.value);
    ++clean;
  }
  if (clean > before) {
    d.reason += fmt::format("; {} more candidate runs made it {} without a failure", clean - before, clean);
  }
  return d;
}

}  // namespace

Decision decide(const std::function<bench::RunResult(Side)>& run, const DecideOptions& o,
                const std::function<bool()>& out_of_time) {
  std::vector<double> a, b;
  int runs = 0, baseline_failures = 0, attempt = 0, clean = 0;
  std::string baseline_failure;
  constexpr int kBaselineFailuresAllowed = 3;
  auto finish = [&](Decision d) {
    d.runs = runs;
    d.clean_runs = clean;
    return d;
  };
  for (;; ++attempt) {
    const bool spent = static_cast<int>(a.size()) >= o.max_pairs;
    auto d = judge(a, b, o, spent);
    if (d.kept()) d = confirm(std::move(d), run, o, out_of_time, runs, clean);
    if (!d.verdict.empty()) return finish(d);
    if (out_of_time && out_of_time()) {
      d = judge(a, b, o, true);
      d.reason = "the time budget ran out: " + d.reason;
      return finish(d);
    }
    // A B, then B A: a linear drift biases alternate pairs by +d and -d.
    const Side order[2] = {attempt % 2 ? Side::candidate : Side::baseline,
                           attempt % 2 ? Side::baseline : Side::candidate};
    std::optional<double> va, vb;
    for (Side side : order) {
      auto r = run(side);
      ++runs;
      if (side == Side::candidate) {
        if (!r.value) {
          d = judge(a, b, o, false);
          d.verdict = "failed";
          d.reason = failed_run(clean + 1, r);
          return finish(d);
        }
        vb = r.value;
        ++clean;
      } else if (r.value) {
        va = r.value;
      } else if (baseline_failure.empty()) {
        baseline_failure = r.failure.empty() ? "no number" : r.failure;
      }
    }
    if (!va) {
      if (++baseline_failures >= kBaselineFailuresAllowed) {
        d = judge(a, b, o, true);
        d.verdict = "inconclusive";
        d.reason = fmt::format("{} baseline runs failed (first: {}): inconclusive, reverted",
                               baseline_failures, baseline_failure);
        return finish(d);
      }
      continue;
    }
    a.push_back(*va);
    b.push_back(*vb);
  }
}

bool legacy_keep(const bench::Stats& best, const bench::Stats& candidate, double min_gain) {
  const double noise = std::max(min_gain, best.cv + candidate.cv);
  return candidate.median >= best.median * (1 + noise);
}

nlohmann::json to_json(const Decision& d) {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  return {{"verdict", d.verdict},
          {"reason", d.reason},
          {"ratio", num(d.ratio)},
          {"low", num(d.low)},
          {"high", num(d.high)},
          {"confidence", d.confidence},
          {"pairs", d.pairs},
          {"runs", d.runs},
          {"baseline", d.baseline},
          {"candidate", d.candidate},
          {"confirmation", d.confirmation},
          {"clean_runs", d.clean_runs}};
}

}  // namespace kcat::optimize
