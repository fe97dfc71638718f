#include "kcat/bench/bench.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"

namespace kcat::bench {

namespace {

std::optional<double> from_json_line(const std::string& text, const std::string& key) {
  // The last line that parses as a JSON object wins: harnesses print one summary line at the end.
  std::istringstream in(text);
  std::string line;
  std::optional<nlohmann::json> last;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] != '{') continue;
    try {
      last = nlohmann::json::parse(line.substr(first));
    } catch (const nlohmann::json::exception&) {
    }
  }
  if (!last) return std::nullopt;
  const nlohmann::json* node = &*last;
  size_t p = 0;
  while (p <= key.size()) {
    auto dot = key.find('.', p);
    auto part = key.substr(p, dot == std::string::npos ? std::string::npos : dot - p);
    if (!node->is_object() || !node->contains(part)) return std::nullopt;
    node = &(*node)[part];
    if (dot == std::string::npos) break;
    p = dot + 1;
  }
  if (!node->is_number()) return std::nullopt;
  return node->get<double>();
}

}  // namespace

std::optional<double> extract_metric(const Spec& spec, const std::string& text) {
  if (!spec.metric_json_key.empty()) return from_json_line(text, spec.metric_json_key);
  RE2 re(spec.metric_regex.empty() ? R"(([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?))" : spec.metric_regex);
  if (!re.ok() || re.NumberOfCapturingGroups() < 1) {
    throw Error(ErrorKind::Usage,
                "--metric must be an RE2 pattern with one capture group: " + spec.metric_regex, "",
                "for example --metric 'throughput: ([0-9.]+)'");
  }
  // The last match: progress lines come first, the summary last.
  re2::StringPiece input(text);
  std::string value, last;
  while (RE2::FindAndConsume(&input, re, &value)) last = value;
  if (last.empty()) return std::nullopt;
  try {
    size_t used = 0;
    double v = std::stod(last, &used);
    if (used != last.size() || !std::isfinite(v)) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Stats statistics(std::vector<double> v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  double var = 0;
  for (double x : v) var += (x - s.mean) * (x - s.mean);
  double sd = v.size() > 1 ? std::sqrt(var / static_cast<double>(v.size() - 1)) : 0;
  s.cv = s.mean != 0 ? sd / std::fabs(s.mean) : 0;
  return s;
}

Result run(const Spec& spec, exec::Runner& runner) {
  if (!spec.metric_regex.empty() && !spec.metric_json_key.empty()) {
    throw Error(ErrorKind::Usage, "give --metric or --metric-json, not both");
  }
  Result r;
  r.command = spec.command;
  r.unit = spec.unit;
  exec::Command c;
  c.shell = spec.command;
  c.cwd = spec.cwd;
  c.env = spec.env;
  int max_runs = spec.max_runs > 0 ? spec.max_runs : 2 * spec.runs;
  int warmed = 0;
  auto once = [&]() {
    RunResult rr;
    c.timeout = spec.timeout;
    bool by_budget = false;
    if (spec.deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*spec.deadline -
                                                                        std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        rr.failure = "the time budget is spent";
        return rr;
      }
      by_budget = c.timeout.count() == 0 || left < c.timeout;
      if (by_budget) c.timeout = left;
    }
    auto o = runner.run(c);
    if (spec.cancelled && spec.cancelled())
      throw cancel::Interrupted(
          fmt::format("the benchmark stopped during its run {} of at most {} (warm-up "
                      "included); the run's processes were stopped and nothing was "
                      "recorded",
                      r.runs.size() + 1 + static_cast<size_t>(warmed), max_runs + spec.warmup));
    rr.output = o.out.size() > kOutputKept ? o.out.substr(o.out.size() - kOutputKept) : o.out;
    rr.stderr_tail = o.err.size() > kStderrKept ? o.err.substr(o.err.size() - kStderrKept) : o.err;
    if (!o.ok()) {
      rr.failure = by_budget && o.timed_out ? "the time budget ran out: " + o.describe() : o.describe();
      return rr;
    }
    rr.value = extract_metric(spec, o.out);
    if (!rr.value) rr.failure = "no metric in the output";
    return rr;
  };
  // Each run as it finishes, for the person waiting (a progress line on a terminal, a JSON event).
  auto timed = [&](bool warmup) {
    auto t0 = std::chrono::steady_clock::now();
    auto rr = once();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    nlohmann::json ev = {{"command", spec.command}, {"warmup", warmup}, {"run", r.runs.size() + 1},
                         {"unit", spec.unit},       {"ms", ms.count()}, {"failure", rr.failure}};
    if (rr.value) ev["value"] = *rr.value;
    events::emit("bench-run", ev);
    return rr;
  };
  for (; warmed < spec.warmup; ++warmed) timed(true);
  std::vector<double> values;
  auto spent = [&] { return spec.deadline && std::chrono::steady_clock::now() >= *spec.deadline; };
  for (int i = 0; i < max_runs; ++i) {
    if (spent() && !r.runs.empty()) break;
    auto rr = timed(false);
    if (rr.value) values.push_back(*rr.value);
    r.runs.push_back(rr);
    if (static_cast<int>(r.runs.size()) < spec.runs) continue;
    // Enough runs: stop unless the spread is too wide to trust the median.
    if (values.size() < 2 || statistics(values).cv <= spec.max_cv) break;
  }
  size_t failed = r.runs.size() - values.size();
  if (values.empty()) {
    r.failure = r.runs.empty() ? "no runs" : "every run failed: " + r.runs.front().failure;
    return r;
  }
  r.stats = statistics(values);
  if (failed)
    r.failure = fmt::format("{} of {} runs failed (first: {})", failed, r.runs.size(), [&] {
      for (auto& x : r.runs) {
        if (!x.value) return x.failure;
      }
      return std::string();
    }());
  return r;
}

void to_json(nlohmann::json& j, const Result& r) {
  j = {{"command", r.command}, {"unit", r.unit}, {"runs", nlohmann::json::array()}};
  for (auto& x : r.runs) {
    nlohmann::json run =
        x.value ? nlohmann::json{{"value", *x.value}} : nlohmann::json{{"failure", x.failure}};
    if (!x.output.empty()) run["output"] = x.output;
    if (!x.stderr_tail.empty()) run["stderr"] = x.stderr_tail;
    j["runs"].push_back(run);
  }
  if (r.stats) {
    j["median"] = r.stats->median;
    j["min"] = r.stats->min;
    j["max"] = r.stats->max;
    j["cv"] = r.stats->cv;
    j["n"] = r.stats->n;
  }
  if (!r.failure.empty()) j["failure"] = r.failure;
}

}  // namespace kcat::bench
