#include <fmt/format.h>
#include <fmt/ranges.h>

#include "kcat/core/cuda_files.h"
#include "kcat/report/run_report.h"

namespace kcat::report {

namespace {

// Table cells: a pipe or a newline would break the row.
std::string cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string fallbacks_markdown(const std::vector<Fallback>& fallbacks) {
  size_t routed = 0;
  for (auto& f : fallbacks) routed += f.status == "routed";
  std::string md = fmt::format(
      "## Kernel entry points\n\n{} found, {} routed to the repository's pure-PyTorch reference where the "
      "kernel is not importable (the NPU). Each routed one runs, slowly: a performance item (port the kernel "
      "for speed).\n\n| entry point | file:line | kernels | status | reference | why / reason |\n"
      "|---|---|---|---|---|---|\n",
      fallbacks.size(), routed);
  for (auto& f : fallbacks) {
    std::string why;
    for (auto& w : f.why) why += (why.empty() ? "" : "; ") + w;
    if (!f.unsupported.empty()) {
      why += "; refused unless at their default:";
      for (auto& u : f.unsupported) why += " `" + u + "`";
    }
    md +=
        fmt::format("| `{}` | {}:{} | {} | {} | {} | {} |\n", f.entry, cell(f.file), f.line,
                    cell(fmt::format("{}", fmt::join(f.kernels, ", "))), f.status,
                    f.reference.empty() ? "" : fmt::format("`{}` ({})", f.reference, cell(f.reference_file)),
                    cell(f.status == "routed" ? why : f.reason));
  }
  return md + "\n";
}

}  // namespace

std::string render_markdown(const RunReport& r) {
  auto t = r.totals();
  std::string md = fmt::format("# kcat migration report: {}\n\n", r.repo.empty() ? r.run_id : r.repo);
  md += fmt::format("- run `{}`, target `{}`, branch `{}` from `{}`\n", r.run_id, r.target, r.branch,
                    r.base_commit.substr(0, 12));
  if (!r.config.empty()) md += fmt::format("- configuration: {}\n", r.config);
  md += fmt::format("- outcome: **{}**\n\n", r.outcome);
  md +=
      "| found | fixed by codemod | fixed by recipe | fixed by LLM | left for a recipe | left for an LLM | "
      "left for a person | blocking left | notes |\n";
  md += "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n\n", t.found, t.fixed_by_codemod,
                    t.fixed_by_recipe, t.fixed_by_llm, t.left_for_recipe, t.left_for_llm, t.left_for_person,
                    t.blocking_left, t.notes);
  if (t.suppressed) {
    md += fmt::format(
        "{} site(s) suppressed (a `kcat: ignore` comment or --select/--exclude): listed below, "
        "not counted as found.\n\n",
        t.suppressed);
  }

  if (!r.steps.empty()) {
    md += "## Steps\n\n| step | action | status | commit | title |\n|---|---|---|---|---|\n";
    for (auto& s : r.steps) {
      md += fmt::format("| {} | {} | {} | {} | {}{} |\n", s.id, s.action, s.status, s.commit.substr(0, 10),
                        cell(s.title), s.reason.empty() ? "" : " (" + cell(s.reason) + ")");
    }
    md += "\n";
  }

  if (!r.fallbacks.empty()) md += fallbacks_markdown(r.fallbacks);

  if (!r.iterations.empty()) {
    md += fmt::format("## Optimization ({})\n\n", r.metric_unit);
    if (r.baseline) md += fmt::format("- baseline: {:.2f} {}\n", *r.baseline, r.metric_unit);
    if (r.target_metric) md += fmt::format("- target: {:.2f} {}\n", *r.target_metric, r.metric_unit);
    md += "\n| # | change | median | CV | runs | kept | why |\n|---:|---|---:|---:|---:|---|---|\n";
    for (auto& it : r.iterations) {
      md += fmt::format("| {} | {} | {:.2f} | {:.1f}% | {} | {} | {} |\n", it.n, cell(it.change), it.metric,
                        it.cv * 100, it.runs, it.kept ? "yes" : "reverted", cell(it.reason));
    }
    md += "\n";
  }

  // The sites of a CUDA source file are one row naming its kernels (the totals above count each).
  std::vector<const Finding*> counted;
  std::vector<const Site*> of;
  for (auto& s : r.sites) {
    if (s.status == "suppressed") continue;
    counted.push_back(&s.finding);
    of.push_back(&s);
  }
  auto cuda = group_cuda_files(counted);
  if (!cuda.empty()) md += cuda_files_summary(cuda, t.found) + ": one row per file below.\n\n";
  md += "## Sites\n\n| file:line | rule | severity | status | how | message |\n|---|---|---|---|---|---|\n";
  for (auto& g : cuda) {
    size_t fixed = 0;
    for (auto i : g.members) fixed += of[i]->status == "fixed";
    auto& first = *of[g.members.front()];
    md += fmt::format("| {} | CUDA source file ({} sites) | {} | {} left, {} fixed | {} | {}; {} |\n",
                      cell(g.file), g.sites, g.blocking ? "blocking" : to_string(first.finding.severity),
                      g.sites - fixed, fixed, cell(first.how), cell(describe_kernels(g)),
                      cell(first.finding.action.empty() ? first.finding.message : first.finding.action));
  }
  for (auto& s : r.sites) {
    if (s.status != "suppressed" && is_cuda_source(s.finding.file)) continue;
    auto& f = s.finding;
    md += fmt::format("| {}:{}:{} | {} | {} | {} | {} | {} |\n", cell(f.file), f.span.start.line,
                      f.span.start.column, f.rule_id, to_string(f.severity), s.status, cell(s.how),
                      cell(s.status == "fixed" ? f.message : (f.action.empty() ? f.message : f.action)));
  }
  return md;
}

}  // namespace kcat::report
