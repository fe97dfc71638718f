#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "kcat/report/run_report.h"

namespace kcat::report {

namespace {

struct Case {
  std::string suite, name, failure, skipped, out;
};

// One case per plan step, in the report's order, named by the step id (a repeated id gets " #2").
// A step fails when it failed, needs a person, or blocking sites are left in its scope (listed
// file:line rule); a step the person declined is skipped.
void step_cases(const RunReport& r, std::vector<Case>& cases) {
  std::map<std::string, size_t> last;  // step id -> index of its last record (the final plan's)
  for (size_t i = 0; i < r.steps.size(); ++i) last[r.steps[i].id] = i;
  std::map<size_t, std::vector<const Site*>> left;
  std::vector<const Site*> unplanned;
  for (auto& site : r.sites) {
    if (site.status != "left" || site.finding.severity != Severity::Blocking) continue;
    auto it = last.find(site.step);
    if (it == last.end()) {
      unplanned.push_back(&site);
    } else {
      left[it->second].push_back(&site);
    }
  }
  auto list = [](const std::vector<const Site*>& sites) {
    std::string msg;
    for (auto* site : sites) {
      msg +=
          fmt::format("\n{}:{} {}", site->finding.file, site->finding.span.start.line, site->finding.rule_id);
    }
    return msg;
  };
  std::map<std::string, int> seen;
  for (size_t i = 0; i < r.steps.size(); ++i) {
    auto& s = r.steps[i];
    Case c{"plan", s.id, "", "", ""};
    if (int n = ++seen[s.id]; n > 1) c.name += fmt::format(" #{}", n);
    auto& sites = left[i];
    if (s.status == "declined" || s.status == "skipped") {
      c.skipped = s.reason.empty() ? s.status : s.reason;
    } else if (s.status == "failed" || s.status == "needs-person" || !sites.empty()) {
      c.failure = s.status == "failed" || s.status == "needs-person"
                      ? (s.reason.empty() ? s.status : s.reason)
                      : fmt::format("{} blocking site(s) left", sites.size());
      if (!sites.empty() && c.failure.find("blocking site") == std::string::npos) {
        c.failure += fmt::format("; {} blocking site(s) left", sites.size());
      }
      c.failure += list(sites);
    }
    if (!s.checks.empty()) {
      c.out = "checks:";
      for (auto& k : s.checks) {
        bool failed = std::find(s.failed_checks.begin(), s.failed_checks.end(), k) != s.failed_checks.end();
        c.out += " " + k + (failed ? " (failed)" : "");
      }
    }
    cases.push_back(c);
  }
  if (!unplanned.empty()) {
    cases.push_back(
        {"plan", "outside the plan",
         fmt::format("{} blocking site(s) left that no plan step covers", unplanned.size()) + list(unplanned),
         "", ""});
  }
}

}  // namespace

std::string render_junit(const RunReport& r) {
  std::vector<Case> cases;
  step_cases(r, cases);
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
                                                              best, r.metric_unit, *r.target_metric),
                       "", ""});
    }
    if (r.baseline && *r.baseline > 0) {
      cases.push_back({"bench", fmt::format("ratio over baseline {:.2f}x", best / *r.baseline),
                       best > *r.baseline ? "" : "not faster than the baseline", "", ""});
    }
  }
  size_t failures = 0, skipped = 0;
  for (auto& c : cases) {
    failures += !c.failure.empty();
    skipped += !c.skipped.empty();
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format("<testsuites name=\"kcat {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n",
                     xml_escape(r.run_id), cases.size(), failures, skipped);
  for (const char* suite : {"plan", "bench"}) {
    size_t n = 0, f = 0, k = 0;
    for (auto& c : cases) {
      if (c.suite == suite) {
        ++n;
        f += !c.failure.empty();
        k += !c.skipped.empty();
      }
    }
    if (n == 0) continue;
    xml += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">\n", suite, n, f,
                       k);
    for (auto& c : cases) {
      if (c.suite != suite) continue;
      xml += fmt::format("    <testcase classname=\"kcat.{}\" name=\"{}\"", suite, xml_escape(c.name));
      if (c.failure.empty() && c.skipped.empty() && c.out.empty()) {
        xml += "/>\n";
        continue;
      }
      xml += ">\n";
      if (!c.failure.empty()) {
        auto first = c.failure.substr(0, c.failure.find('\n'));
        xml += fmt::format("      <failure message=\"{}\">{}</failure>\n", xml_escape(first),
                           xml_escape(c.failure));
      }
      if (!c.skipped.empty()) xml += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(c.skipped));
      if (!c.out.empty()) xml += fmt::format("      <system-out>{}</system-out>\n", xml_escape(c.out));
      xml += "    </testcase>\n";
    }
    xml += "  </testsuite>\n";
  }
  xml += "</testsuites>\n";
  return xml;
}

}  // namespace kcat::report
