#pragma once
// RunReport: everything one kcat run did, in one value that every renderer reads. `kcat migrate`
// and `kcat optimize` fill it and write report.json; `kcat report` reads report.json back and
// renders Markdown, JSON, JUnit XML or one self-contained HTML file.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat::report {

// What happened to one finding.
struct Site {
  Finding finding;
  std::string
      status;  // fixed | left | note (not work) | suppressed (kcat: ignore comment or --select/--exclude)
  std::string how;     // codemod id, "recipe:<id>", "llm", "manual", "shim:transfer_to_npu"
  std::string step;    // plan step id
  std::string commit;  // commit that fixed it, if fixed
};

struct StepRecord {
  std::string id;
  std::string title;
  std::string action;  // codemod | recipe | llm | manual
  std::string status;  // done | failed | skipped | needs-person | pending
  std::string reason;  // why it failed / was skipped
  std::string commit;
  std::string diff;                 // unified diff of the step's commit
  std::vector<std::string> checks;  // verifications run, e.g. "reparse", "py_compile", "rescan"
  std::vector<std::string> failed_checks;
};

struct Iteration {
  int n = 0;
  std::string change;  // recipe id or description
  double metric = 0;   // median
  double cv = 0;       // coefficient of variation of the runs
  int runs = 0;
  bool kept = false;
  std::string reason;  // why kept / reverted
  std::string commit;
};

// A kernel entry point and its reference fallback (patch/ref_fallback.h): routed, it runs the
// repository's pure-PyTorch reference where the kernel is not importable (a performance item for
// the optimize loop: port the kernel for speed); left, with the reason.
struct Fallback {
  std::string entry, file;
  int line = 0;
  std::string reference, reference_file;
  std::vector<std::string> kernels, why, unsupported;
  std::string status;  // routed | left
  std::string reason;
};

struct RunReport {
  std::string run_id;
  std::string repo;
  std::string target;
  std::string branch;
  std::string base_commit;
  std::string config;  // the configuration files used, and which were not trusted
  std::string started;
  std::string finished;
  std::string outcome;  // done | findings-left | target-met | target-missed | failed | interrupted
  std::vector<Site> sites;
  std::vector<StepRecord> steps;
  std::vector<Fallback> fallbacks;  // kernel entry points (source mode)
  // Optimization trajectory (empty when no bench ran).
  std::string metric_unit;  // e.g. "tok/s"
  std::optional<double> baseline;
  std::optional<double> target_metric;
  std::vector<Iteration> iterations;

  struct Totals {
    size_t found = 0, fixed_by_codemod = 0, fixed_by_recipe = 0, fixed_by_llm = 0, covered_by_shim = 0;
    size_t left_for_recipe = 0, left_for_llm = 0, left_for_person = 0, blocking_left = 0;
    size_t notes = 0;       // found and not work (a note): found = fixed + left + notes
    size_t suppressed = 0;  // not in `found`: set aside by a comment or an option
  };
  Totals totals() const;
};

void to_json(nlohmann::json& j, const RunReport& r);
void from_json(const nlohmann::json& j, RunReport& r);

std::string render_markdown(const RunReport& r);
std::string render_json(const RunReport& r);
// JUnit XML: one test case per verification check of each step and one per bench check
// (target, baseline ratio), so CI systems show them as tests.
std::string render_junit(const RunReport& r);
// One self-contained HTML file (no external resources, docs/report.md): the totals with an SVG bar
// per outcome, the metric per iteration against target and baseline (when optimized), the steps
// by phase with their diffs and the sites by file, collapsible, with filters (left/fixed/notes).
std::string render_html(const RunReport& r);
// The SVG chart alone (empty string when there are no iterations).
std::string render_chart_svg(const RunReport& r, int width = 640, int height = 260);

// Escapes &, <, >, " and ' for HTML and XML text and attributes.
std::string xml_escape(std::string_view s);

}  // namespace kcat::report
