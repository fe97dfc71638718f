#include <fmt/format.h>

#include <algorithm>

#include "kcat/report/run_report.h"

namespace kcat::report {

std::string render_junit(const RunReport& r) {
  struct Case {
    std::string suite, name, failure;
  };
  std::vector<Case> cases;
  for (auto& s : r.steps) {
    for (auto& c : s.checks) {
      bool failed = std::find(s.failed_checks.begin(), s.failed_checks.end(), c) != s.failed_checks.end();
      cases.push_back(
          {"verify", s.id + "." + c, failed ? (s.reason.empty() ? "check failed" : s.reason) : ""});
    }
    if (s.checks.empty() && (s.status == "failed" || s.status == "needs-person")) {
      cases.push_back({"verify", s.id, s.reason.empty() ? s.status : s.reason});
    }
  }
  if (!r.iterations.empty()) {
    double best = 0;
    for (auto& it : r.iterations) {
      if (it.kept && it.metric > best) best = it.metric;
    }
    if (best == 0) best = r.iterations.front().metric;
    if (r.target_metric) {
      cases.push_back({"bench", "target",
                       best >= *r.target_metric ? ""
                                                : fmt::format("best {:.2f} {} is below the target {:.2f}",
                                                              best, r.metric_unit, *r.target_metric)});
    }
    if (r.baseline && *r.baseline > 0) {
      cases.push_back({"bench", fmt::format("ratio over baseline {:.2f}x", best / *r.baseline),
                       best > *r.baseline ? "" : "not faster than the baseline"});
    }
  }
  size_t failures = 0;
  for (auto& c : cases) failures += !c.failure.empty();
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<testsuites name=\"kcat {}\" tests=\"{}\" failures=\"{}\">\n", xml_escape(r.run_id),
                     cases.size(), failures);
  for (const char* suite : {"verify", "bench"}) {
    size_t n = 0, f = 0;
    for (auto& c : cases) {
      if (c.suite == suite) {
        ++n;
        f += !c.failure.empty();
      }
    }
    if (n == 0) continue;
    xml += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">\n", suite, n, f);
    for (auto& c : cases) {
      if (c.suite != suite) continue;
      xml += fmt::format("    <testcase classname=\"kcat.{}\" name=\"{}\"", suite, xml_escape(c.name));
      if (c.failure.empty()) {
        xml += "/>\n";
      } else {
        xml += fmt::format(">\n      <failure message=\"{}\"/>\n    </testcase>\n", xml_escape(c.failure));
      }
    }
    xml += "  </testsuite>\n";
  }
  xml += "</testsuites>\n";
  return xml;
}

}  // namespace kcat::report
