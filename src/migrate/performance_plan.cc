// The plan's performance phase: what `kcat optimize` (and the last phase of `kcat migrate`) will
// try on the NPU, written into the plan before anything runs, also when [bench] is not set yet.
#include <fmt/format.h>

#include "kcat/core/error.h"
#include "kcat/migrate/optimize_phase.h"
#include "kcat/migrate/phases.h"
#include "kcat/patch/ref_fallback.h"

namespace kcat::migrate {

namespace {

// Each kernel entry point routed to its reference (patch/ref_fallback.h) runs, slowly, on the NPU:
// porting its kernel is a performance item.
std::vector<std::string> fallback_items(const std::filesystem::path& root) {
  std::vector<std::string> out;
  try {
    for (auto& e : patch::reference_fallbacks(root, python_files(root)).entries) {
      if (e.status != "routed") continue;
      out.push_back(fmt::format(
          "port the kernel behind `{}` ({}:{}): on the NPU it runs the reference `{}` ({}), slowly; a kernel "
          "port is kept only when it matches the reference and is faster",
          e.entry, e.file, e.line, e.reference, e.reference_file));
    }
  } catch (const Error&) {
    // An unreadable file: the plan still has its recipes; the port reports the fallbacks.
  }
  return out;
}

}  // namespace

plan::Step performance_step(const std::filesystem::path& root, const cli::Config& config,
                            const std::vector<Finding>& findings) {
  plan::Step s;
  s.id = "performance-1";
  s.phase = plan::Phase::Performance;
  s.action = plan::Action::Recipe;
  s.risk = "low";
  s.title = "Optimize on the NPU: try each performance recipe, keep what is measurably faster";
  auto recipes = load_recipe_set(root, config);
  std::vector<std::string> skipped;
  for (const auto* r : recipes.by_gain("performance")) {
    auto why = optimize::why_not_applicable(*r, root, findings);
    if (why.empty()) {
      s.tries.push_back(fmt::format("try `{}`: {} (source: {})", r->id, r->title, r->source));
    } else {
      skipped.push_back(fmt::format("not tried: `{}`: {}", r->id, why));
    }
  }
  if (s.tries.empty()) s.tries.push_back("no performance recipe applies to this code");
  for (auto& item : fallback_items(root)) s.tries.push_back(item);
  s.tries.insert(s.tries.end(), skipped.begin(), skipped.end());
  if (optimize_configured(config, {})) {
    auto& b = config.bench;
    s.rationale = fmt::format(
        "the benchmark `{}` ({} runs per measurement{}), before and after each recipe, on the NPU: a change "
        "is kept only when it is faster beyond the noise (and, with [optimize] output, reproduces the "
        "baseline's output), else reverted; `kcat migrate` runs this phase after the port, `kcat optimize` "
        "alone",
        b.command, b.runs,
        b.target               ? fmt::format(", target {} {}", *b.target, b.unit)
        : b.target_speedup > 0 ? fmt::format(", target {}x the baseline", b.target_speedup)
                               : "");
  } else {
    s.rationale =
        "nothing yet: [bench] is not configured. Add it to the job's kcat.toml (command, "
        "metric_json or metric, unit, runs, target; docs/optimize.md); the harnesses in share/kcat/harness "
        "(docs/bench.md) print the metric as JSON. Then `kcat migrate` runs this phase after the port on "
        "the NPU host, or run `kcat optimize .`";
    s.status_reason = "[bench] is not configured";
  }
  return s;
}

}  // namespace kcat::migrate
