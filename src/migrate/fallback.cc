// The reference fallback phase (issue #17, item 1): kernel entry points whose kernel is not
// importable run the repository's own pure-PyTorch reference (patch/ref_fallback.h), one step
// through the gate; every entry point found goes into the report, routed or left with the reason.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

#include "kcat/core/fs.h"
#include "kcat/migrate/phases.h"
#include "kcat/patch/ref_fallback.h"

namespace kcat::migrate {

namespace {

// Routed in this plan, not through an entry point routed earlier.
bool routed_now(const patch::FallbackPair& e) {
  return e.status == "routed" &&
         std::none_of(e.why.begin(), e.why.end(), [](auto& w) { return w.starts_with("routed by"); });
}

std::string fallback_message(const patch::FallbackPlan& plan, const std::string& target,
                             const std::set<std::string>& only = {}) {
  std::string msg = fmt::format(
      "kcat: reference fallback for {}: kernel entry points run the repository's references when the "
      "kernel is not importable\n\n"
      "With the CUDA extension importable the code runs as before; without it (the NPU) each entry point\n"
      "below returns its pure-PyTorch reference, and an argument the reference does not take raises\n"
      "NotImplementedError. Each one is a performance item: port the kernel for speed.\n",
      target);
  for (auto& e : plan.entries) {
    if (!routed_now(e) || (!only.empty() && !only.count(patch::fallback_key(e)))) continue;
    msg += fmt::format("- {} ({}:{}) -> {} ({})", e.entry, e.file, e.line, e.reference, e.reference_file);
    if (!e.unsupported.empty()) msg += fmt::format(", refuses: {}", fmt::join(e.unsupported, ", "));
    msg += "\n";
    if (!e.paired_by.empty()) msg += "  " + e.paired_by + "\n";
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

namespace {

// One step through the gate: "" when committed, else why not.
std::string gate_step(Run& r, const std::string& key, const std::string& id, const patch::FallbackPlan& plan,
                      const std::set<std::string>& only = {}) {
  r.book.attempted.insert(key);
  std::string title =
      "Reference fallback: kernel entry points run the repository's references without the kernel";
  if (only.size() == 1) {
    auto e = std::find_if(plan.entries.begin(), plan.entries.end(),
                          [&](auto& x) { return patch::fallback_key(x) == *only.begin(); });
    if (e != plan.entries.end())
      title = fmt::format("Reference fallback: {} runs {} without the kernel", e->entry, e->reference);
  }
  StepWork w{key, id, title, plan.patch, {}, {}, {}};
  w.patch.message = fallback_message(plan, r.o.target, only);
  run_step(r, w);
  auto& rec = r.book.records[key];
  if (rec.status == "done") return "";
  auto why = rec.reason.empty() ? rec.status : rec.reason;
  if (!rec.failed_checks.empty()) why = fmt::format("{} ({})", why, fmt::join(rec.failed_checks, ", "));
  return why;
}

// The whole step was refused by a check (not by a person, not for time): each entry point goes
// through the gate alone, so one refused edit does not cancel the others. An entry point whose
// reference calls another one (mamba_inner_ref -> selective_scan_fn) goes after it, and is planned
// again without the refused ones. Returns entry key -> why it was not committed.
std::map<std::string, std::string> per_entry_point(Run& r, const patch::FallbackPlan& whole,
                                                   const std::vector<std::string>& files) {
  std::vector<std::string> order, later;
  for (auto& e : whole.entries) {
    if (!routed_now(e)) continue;
    bool through = std::any_of(e.why.begin(), e.why.end(), [](auto& w) {
      return w.find("only through entry points") != std::string::npos;
    });
    (through ? later : order).push_back(patch::fallback_key(e));
  }
  order.insert(order.end(), later.begin(), later.end());
  std::map<std::string, std::string> rejected, left;
  int n = 1;
  for (auto& key : order) {
    if (r.out.budget_exhausted || r.over_budget()) {
      left[key] = "the time budget (--max-minutes) was spent";
      continue;
    }
    auto plan = patch::reference_fallbacks(r.p.root, files, r.p.within, rejected, {key});
    auto it = std::find_if(plan.entries.begin(), plan.entries.end(),
                           [&](auto& e) { return patch::fallback_key(e) == key; });
    if (it == plan.entries.end() || !routed_now(*it) || plan.patch.edits.empty()) {
      left[key] = it == plan.entries.end() ? "not found again" : it->reason;
      continue;
    }
    auto why = gate_step(r, "fallback:" + key, fmt::format("fallback-{}", ++n), plan, {key});
    if (why.empty()) continue;
    // -i: a person's "no" is theirs, not the gate's.
    rejected[key] =
        r.step_declined ? "declined by the person at the terminal" : "the gate refused its edit: " + why;
    left[key] = rejected[key];
  }
  return left;
}

}  // namespace

void fallback_phase(Run& r) {
  auto files = python_files(r.p.root);
  auto plan = patch::reference_fallbacks(r.p.root, files, r.p.within);
  std::string failed;
  std::map<std::string, std::string> left;  // entry key -> why its edit was not committed
  bool pending = !plan.patch.edits.empty();
  if (pending && !r.book.attempted.count("fallback") && !r.out.budget_exhausted) {
    failed = gate_step(r, "fallback", "fallback-1", plan);
    pending = !failed.empty();
    auto& rec = r.book.records["fallback"];
    auto routed = std::count_if(plan.entries.begin(), plan.entries.end(), routed_now);
    if (pending && rec.status == "failed" && routed > 1) {
      left = per_entry_point(r, plan, files);
      pending = false;
    }
  } else if (pending) {
    failed =
        r.out.budget_exhausted ? "the time budget (--max-minutes) was spent" : "an earlier attempt failed";
  }
  r.ledger->append("fallbacks", {{"entries", plan.entries.size()}, {"notes", plan.notes}});
  r.out.report.fallbacks.clear();
  for (auto& e : plan.entries) {
    auto f = to_report(e);
    if (routed_now(e) && pending) {
      f.status = "left";
      f.reason = "the fallback step was not committed: " + failed;
    } else if (auto l = left.find(patch::fallback_key(e)); routed_now(e) && l != left.end()) {
      f.status = "left";
      f.reason = l->second;
    }
    r.out.report.fallbacks.push_back(f);
  }
}

}  // namespace kcat::migrate
