// The reference fallback phase (issue #17, item 1): kernel entry points whose kernel is not
// importable run the repository's own pure-PyTorch reference (patch/ref_fallback.h), one step
// through the gate; every entry point found goes into the report, routed or left with the reason.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "kcat/core/fs.h"
#include "kcat/migrate/phases.h"
#include "kcat/patch/ref_fallback.h"

namespace kcat::migrate {

namespace {

std::string fallback_message(const patch::FallbackPlan& plan, const std::string& target) {
  std::string msg = fmt::format(
      "kcat: reference fallback for {}: kernel entry points run the repository's references when the "
      "kernel is not importable\n\n"
      "With the CUDA extension importable the code runs as before; without it (the NPU) each entry point\n"
      "below returns its pure-PyTorch reference, and an argument the reference does not take raises\n"
      "NotImplementedError. Each one is a performance item: port the kernel for speed.\n",
      target);
  for (auto& e : plan.entries) {
    if (e.status != "routed") continue;
    msg += fmt::format("- {} ({}:{}) -> {} ({})", e.entry, e.file, e.line, e.reference, e.reference_file);
    if (!e.unsupported.empty()) msg += fmt::format(", refuses: {}", fmt::join(e.unsupported, ", "));
    msg += "\n";
  }
  for (auto& g : plan.guarded)
    msg += "- guarded: " + g +
           " (try/except ModuleNotFoundError: a CUDA build that is there but broken still fails)\n";
  return msg;
}

report::Fallback to_report(const patch::FallbackPair& e) {
  return {e.entry,   e.file, e.line,        e.reference, e.reference_file,
          e.kernels, e.why,  e.unsupported, e.status,    e.reason};
}

}  // namespace

std::vector<std::string> python_files(const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (auto& f : repository_files(root)) {
    if (f.ends_with(".py")) out.push_back(f);
  }
  return out;
}

void fallback_phase(Run& r) {
  auto plan = patch::reference_fallbacks(r.p.root, python_files(r.p.root), r.p.within);
  std::string failed;
  bool pending = !plan.patch.edits.empty();
  if (pending && !r.book.attempted.count("fallback") && !r.out.budget_exhausted) {
    r.book.attempted.insert("fallback");
    StepWork w{"fallback",
               "fallback-1",
               "Reference fallback: kernel entry points run the repository's references without the kernel",
               plan.patch,
               {},
               {}};
    w.patch.message = fallback_message(plan, r.o.target);
    run_step(r, w);
    auto& rec = r.book.records["fallback"];
    pending = rec.status != "done";
    failed = rec.reason.empty() ? rec.status : rec.reason;
  } else if (pending) {
    failed =
        r.out.budget_exhausted ? "the time budget (--max-minutes) was spent" : "an earlier attempt failed";
  }
  r.ledger->append("fallbacks", {{"entries", plan.entries.size()}, {"notes", plan.notes}});
  r.out.report.fallbacks.clear();
  for (auto& e : plan.entries) {
    auto f = to_report(e);
    bool earlier =
        std::any_of(e.why.begin(), e.why.end(), [](auto& w) { return w.starts_with("routed by"); });
    if (pending && e.status == "routed" && !earlier) {
      f.status = "left";
      f.reason = "the fallback step was not committed: " + failed;
    }
    r.out.report.fallbacks.push_back(f);
  }
}

}  // namespace kcat::migrate
