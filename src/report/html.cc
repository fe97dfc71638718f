#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <vector>

#include "kcat/core/cuda_files.h"
#include "kcat/report/run_report.h"

namespace kcat::report {

namespace {

// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `count` ticks up to `max`.
double tick_step(double max, int count) {
  double raw = max / count;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

const char* kStyle = R"css(
:root{--fg:#1b1f24;--muted:#59636e;--line:#d0d7de;--bg2:#f6f8fa;--good:#1a7f37;--bad:#cf222e;--warn:#9a6700}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;padding:.8rem 1.5rem 3rem;
color:var(--fg);max-width:1280px}
h1{font-size:1.35rem;margin:.2rem 0}h2{font-size:1.1rem;margin:1.4rem 0 .4rem}
.meta{color:var(--muted);margin:.1rem 0 .8rem}code{font-size:12px}
#kcat-totals{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.cards{display:grid;grid-template-columns:repeat(4,minmax(7.5rem,1fr));gap:.5rem;flex:1 1 28rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.35rem .7rem}
.card b{display:block;font-size:1.35rem}.card small{display:block;color:var(--muted)}
.bad b{color:var(--bad)}.good b{color:var(--good)}
#kcat-filters{position:sticky;top:0;background:#fff;padding:.45rem 0;margin-top:.8rem;
border-bottom:1px solid var(--line);z-index:1}
#kcat-filters a{display:inline-block;padding:.1rem .7rem;border:1px solid var(--line);border-radius:2rem;
margin-right:.3rem;text-decoration:none;color:var(--fg)}
#kcat-filters a[aria-current=true]{background:var(--fg);color:#fff}
details{border:1px solid var(--line);border-radius:6px;margin:.3rem 0}
details>summary{cursor:pointer;padding:.3rem .6rem;background:var(--bg2);overflow-wrap:anywhere}
details[open]>summary{border-bottom:1px solid var(--line)}
details details{margin:.3rem .6rem}.body{padding:.3rem .6rem}
.pill{font-size:12px;border-radius:1rem;padding:0 .45rem;margin-left:.3rem;border:1px solid var(--line);
white-space:nowrap}
.pill.fixed,.st-done{color:var(--good)}.pill.left,.st-failed{color:var(--bad)}.pill.note{color:var(--muted)}
table{border-collapse:collapse;width:100%;table-layout:fixed}
th,td{border-top:1px solid var(--line);padding:.2rem .4rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
th{background:var(--bg2);font-weight:600}
col.c-line{width:4.5rem}col.c-rule{width:13rem}col.c-sev{width:5.5rem}col.c-done{width:16%}col.c-left{width:26%}
tr.k-fixed td:first-child{box-shadow:inset 3px 0 var(--good)}tr.k-left td:first-child{box-shadow:inset 3px 0 var(--bad)}
tr.k-note{color:var(--muted)}tr.k-note td:first-child{box-shadow:inset 3px 0 #afb8c1}
pre{background:var(--bg2);padding:.6rem;overflow:auto;font-size:12px;max-height:36rem;margin:.3rem 0}
.add{color:#116329;background:#dafbe1}.del{color:#82071e;background:#ffebe9}.trunc{color:var(--warn)}
body[data-filter=left] .k-fixed,body[data-filter=left] .k-note,body[data-filter=left] .grp:not(.h-left),
body[data-filter=fixed] .k-left,body[data-filter=fixed] .k-note,body[data-filter=fixed] .grp:not(.h-fixed),
body[data-filter=notes] .k-fixed,body[data-filter=notes] .k-left,body[data-filter=notes] .grp:not(.h-note)
{display:none}
)css";

// Colours each line of a unified diff.
std::string render_diff(const std::string& diff) {
  std::string out;
  size_t p = 0;
  while (p < diff.size()) {
    size_t e = diff.find('\n', p);
    if (e == std::string::npos) e = diff.size();
    std::string_view line(diff.data() + p, e - p);
    std::string esc = xml_escape(line);
    if (!line.empty() && line[0] == '+' && line.substr(0, 3) != "+++")
      out += "<span class=\"add\">" + esc + "</span>";
    else if (!line.empty() && line[0] == '-' && line.substr(0, 3) != "---")
      out += "<span class=\"del\">" + esc + "</span>";
    else
      out += esc;
    out += '\n';
    p = e + 1;
  }
  return out;
}

}  // namespace

std::string render_chart_svg(const RunReport& r, int width, int height) {
  if (r.iterations.empty()) return {};
  const double left = 60, right = 20, top = 20, bottom = 40;
  double max_v = 0;
  for (auto& it : r.iterations) max_v = std::max(max_v, it.metric);
  if (r.target_metric) max_v = std::max(max_v, *r.target_metric);
  if (r.baseline) max_v = std::max(max_v, *r.baseline);
  if (max_v <= 0) max_v = 1;
  double step = tick_step(max_v, 5);
  double y_max = std::ceil(max_v * 1.05 / step) * step;
  size_t n = r.iterations.size();
  double plot_w = width - left - right, plot_h = height - top - bottom;
  auto x_of = [&](size_t i) {
    return left + (n == 1 ? plot_w / 2 : plot_w * static_cast<double>(i) / static_cast<double>(n - 1));
  };
  auto y_of = [&](double v) { return top + plot_h * (1 - v / y_max); };

  std::string svg = fmt::format(
      "<svg id=\"kcat-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 "
      "{} {}\" "
      "role=\"img\" aria-label=\"{} per optimization iteration\">\n",
      width, height, width, height, xml_escape(r.metric_unit));
  for (double v = 0; v <= y_max + step / 2; v += step) {
    svg += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eaeef2\"/>"
        "<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"end\">{:g}</text>\n",
        left, width - right, y_of(v), y_of(v), left - 6, y_of(v) + 4, v);
  }
  for (size_t i = 0; i < n; ++i) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                       x_of(i), height - bottom + 16, r.iterations[i].n);
  }
  svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">iteration</text>\n",
                     left + plot_w / 2, height - 6);
  auto hline = [&](double v, const char* colour, const char* label, const char* id) {
    svg += fmt::format(
        "<line id=\"{}\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
        "stroke-dasharray=\"6 4\"/><text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\" fill=\"{}\" "
        "text-anchor=\"end\">{} {:g}</text>\n",
        id, left, width - right, y_of(v), y_of(v), colour, width - right, y_of(v) - 4, colour, label, v);
  };
  if (r.target_metric) hline(*r.target_metric, "#1a7f37", "target", "kcat-target");
  if (r.baseline) hline(*r.baseline, "#6e7781", "baseline", "kcat-baseline");
  std::string points;
  for (size_t i = 0; i < n; ++i)
    points += fmt::format("{:.1f},{:.1f} ", x_of(i), y_of(r.iterations[i].metric));
  svg += fmt::format(
      "<polyline id=\"kcat-series\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" points=\"{}\"/>\n",
      points);
  for (size_t i = 0; i < n; ++i) {
    auto& it = r.iterations[i];
    svg += fmt::format(
        "<circle class=\"point {}\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"><title>#{} {}: "
        "{:.2f} {} ({})</title></circle>\n",
        it.kept ? "kept" : "reverted", x_of(i), y_of(it.metric), it.kept ? "#1a7f37" : "#cf222e", it.n,
        xml_escape(it.change), it.metric, xml_escape(r.metric_unit), it.kept ? "kept" : "reverted");
  }
  svg += "</svg>\n";
  return svg;
}

namespace {

// A big step diff is cut here, with a note naming the command that shows all of it.
constexpr size_t kMaxDiffLines = 400;
// Up to this many sites, the page opens every phase and file. Above it, what matters starts open:
// the phases with a step not done, and the files with sites left, up to this many rows in all;
// the rest starts closed (their summaries carry the counts), so that a report of thousands of sites
// opens fast. Steps, with their diffs, always start closed: the list of steps stays short enough to
// read. The page's script measures its rows only up to this many too (kScript).
constexpr size_t kOpenAllUpTo = 400;

// What a site counts as for the page's filters: fixed, left (work to do) or a note (an Info
// finding left, e.g. a mention in a comment: nothing to port).
const char* kind_of(const Site& s) {
  if (s.status == "fixed") return "fixed";
  if (s.status == "note") return "note";
  return s.finding.severity == Severity::Info ? "note" : "left";
}

// Sites of a group by kind: the summary's pills and the classes the filters hide groups by.
struct Tally {
  size_t fixed = 0, left = 0, note = 0, blocking = 0;
  void add(const Site& s) {
    std::string_view k = kind_of(s);
    if (k == "fixed") ++fixed;
    if (k == "left") ++left;
    if (k == "note") ++note;
    if (k != "fixed" && s.finding.severity == Severity::Blocking) ++blocking;
  }
  std::string classes() const {
    return std::string(fixed ? " h-fixed" : "") + (left ? " h-left" : "") + (note ? " h-note" : "");
  }
  std::string pills() const {
    std::string p;
    if (fixed) p += fmt::format("<span class=\"pill fixed\">{} fixed</span>", fixed);
    if (left)
      p += fmt::format("<span class=\"pill left\">{} left{}</span>", left,
                       blocking ? fmt::format(", {} blocking", blocking) : "");
    if (note) p += fmt::format("<span class=\"pill note\">{} note{}</span>", note, note == 1 ? "" : "s");
    return p;
  }
};

// The plan's phases in its order (plan::to_string(Phase); the report layer sits below plan).
const char* const kPhases[] = {"environment", "device-api",    "distributed",
                               "attention",   "kernels-build", "performance"};

// The plan phase of a step id: "device-api-2", "attention-1/3" and "environment-requirements" are in
// "device-api", "attention" and "environment"; any other id is its own phase.
std::string phase_of_step(std::string_view id) {
  id = id.substr(0, id.find('/'));
  for (std::string_view p : kPhases) {
    if (id == p || (id.size() > p.size() && id.starts_with(p) && id[p.size()] == '-')) return std::string(p);
  }
  return std::string(id);
}

// A step's diff, coloured, cut after kMaxDiffLines lines with a note.
std::string step_diff(const StepRecord& s) {
  size_t p = 0, lines = 0;
  while (p < s.diff.size() && lines < kMaxDiffLines) {
    size_t e = s.diff.find('\n', p);
    p = e == std::string::npos ? s.diff.size() : e + 1;
    ++lines;
  }
  std::string out = "<pre>" + render_diff(s.diff.substr(0, p)) + "</pre>\n";
  if (p < s.diff.size()) {
    size_t more =
        static_cast<size_t>(std::count(s.diff.begin() + static_cast<std::ptrdiff_t>(p), s.diff.end(), '\n'));
    out += fmt::format(
        "<p class=\"trunc\">Diff truncated after {} lines ({} more): <code>kcat diff {}</code> shows all of "
        "it.</p>\n",
        kMaxDiffLines, more + (s.diff.back() == '\n' ? 0 : 1), xml_escape(s.id));
  }
  return out;
}

// One bar per outcome of the sites found, so the split is seen at a glance.
std::string render_totals_chart(const RunReport::Totals& t) {
  struct Bar {
    const char* label;
    size_t n;
    const char* colour;
  };
  const Bar bars[] = {{"fixed by codemod", t.fixed_by_codemod, "#1a7f37"},
                      {"fixed by recipe", t.fixed_by_recipe, "#2da44e"},
                      {"fixed by the agent", t.fixed_by_llm, "#4ac26b"},
                      {"covered by the shim", t.covered_by_shim, "#8ddb9f"},
                      {"left for a recipe", t.left_for_recipe, "#bf8700"},
                      {"left for an LLM", t.left_for_llm, "#fb8f44"},
                      {"left for a person", t.left_for_person, "#cf222e"},
                      {"notes (not work)", t.notes, "#afb8c1"}};
  const int width = 480, label_w = 140, num_w = 50, row = 22, bar_h = 14;
  const int height = row * static_cast<int>(std::size(bars)) + 4;
  size_t max_n = 1;
  for (auto& b : bars) max_n = std::max(max_n, b.n);
  std::string svg = fmt::format(
      "<svg id=\"kcat-totals-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" role=\"img\" aria-label=\"sites found, by outcome\">\n",
      width, height);
  for (size_t i = 0; i < std::size(bars); ++i) {
    auto& b = bars[i];
    int y = static_cast<int>(i) * row + 4;
    double w = b.n == 0 ? 0 : std::max(2.0, (width - label_w - num_w) * static_cast<double>(b.n) / max_n);
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"end\">{}</text>"
        "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"><title>{}: "
        "{}</title></rect>"
        "<text x=\"{:.1f}\" y=\"{}\" font-size=\"12\">{}</text>\n",
        label_w - 8, y + bar_h - 2, b.label, label_w, y, w, bar_h, b.colour, b.label, b.n, label_w + w + 5,
        y + bar_h - 2, b.n);
  }
  return svg + "</svg>\n";
}

void render_totals(std::string& h, const RunReport& r) {
  auto t = r.totals();
  auto card = [&](const char* label, size_t v, const char* cls, const std::string& note = {}) {
    h += fmt::format("<div class=\"card {}\"><b>{}</b>{}{}</div>", cls, v, label,
                     note.empty() ? "" : "<small>" + note + "</small>");
  };
  size_t left = t.left_for_recipe + t.left_for_llm + t.left_for_person;
  h += "<section id=\"kcat-totals\"><div class=\"cards\" id=\"kcat-summary\">";
  card("found", t.found, "", t.suppressed ? fmt::format("{} suppressed", t.suppressed) : "");
  card("fixed by codemod", t.fixed_by_codemod, "good");
  card("fixed by recipe", t.fixed_by_recipe, "good");
  card("fixed by the agent", t.fixed_by_llm, "good");
  if (t.covered_by_shim) card("covered by the shim", t.covered_by_shim, "good");
  card("left", left, left ? "bad" : "good",
       fmt::format("{} for a recipe, {} for an LLM, {} for a person", t.left_for_recipe, t.left_for_llm,
                   t.left_for_person));
  card("blocking left", t.blocking_left, t.blocking_left ? "bad" : "good");
  card("notes", t.notes, "", "found, not work");
  h += "</div>\n" + render_totals_chart(t) + "</section>\n";
}

void render_filters(std::string& h, const RunReport& r) {
  Tally all;
  for (auto& s : r.sites) {
    if (s.status != "suppressed") all.add(s);
  }
  // Hidden until the script runs: without it every row shows and the links would do nothing.
  h += fmt::format(
      "<nav id=\"kcat-filters\" hidden>Show: <a href=\"#all\">all</a><a href=\"#left\">left ({})</a>"
      "<a href=\"#fixed\">fixed ({})</a><a href=\"#notes\">notes ({})</a></nav>\n",
      all.left, all.fixed, all.note);
}

// The plan's phases in order, each with its steps: status, checks, the sites in its scope, the diff.
void render_phases(std::string& h, const RunReport& r, bool open) {
  if (r.steps.empty()) return;
  // A done step counts the sites it fixed, any other step the sites left in its scope (a report of a
  // run before step ids were unique can name a committed codemod step and a pending one after it
  // alike, "device-api-1").
  std::map<std::pair<std::string, bool>, Tally> by_step;
  for (auto& s : r.sites) {
    if (s.status != "suppressed" && !s.step.empty()) by_step[{s.step, s.status == "fixed"}].add(s);
  }
  std::vector<std::string> order(std::begin(kPhases), std::end(kPhases));
  std::map<std::string, std::vector<const StepRecord*>> phases;
  for (auto& s : r.steps) {
    auto p = phase_of_step(s.id);
    if (std::find(order.begin(), order.end(), p) == order.end()) order.push_back(p);
    phases[p].push_back(&s);
  }
  h += "<h2>By phase</h2>\n<div id=\"kcat-phases\">\n";
  for (auto& p : order) {
    if (phases[p].empty()) continue;
    size_t done = 0;
    for (auto* s : phases[p]) done += s->status == "done";
    size_t rest = phases[p].size() - done;
    h +=
        fmt::format("<details class=\"grp phase{}{}\"{}><summary><b>{}</b> &mdash; {} step{}{}{}</summary>\n",
                    done ? " h-fixed" : "", rest ? " h-left" : "", open || rest ? " open" : "", xml_escape(p),
                    phases[p].size(), phases[p].size() == 1 ? "" : "s",
                    done ? fmt::format("<span class=\"pill fixed\">{} done</span>", done) : "",
                    rest ? fmt::format("<span class=\"pill left\">{} not done</span>", rest) : "");
    for (auto* s : phases[p]) {
      bool ok = s->status == "done";
      auto& tally = by_step[{s->id, ok}];
      h += fmt::format(
          "<details class=\"step k-{}\"><summary><b>{}</b> [{}] {} &mdash; <span "
          "class=\"st-{}\">{}</span>{}"
          "{}</summary>\n<div class=\"body\">",
          ok ? "fixed" : "left", xml_escape(s->id), xml_escape(s->action), xml_escape(s->title),
          xml_escape(s->status), xml_escape(s->status), s->reason.empty() ? "" : ": " + xml_escape(s->reason),
          tally.pills());
      if (!s->checks.empty()) {
        std::string checks;
        for (auto& c : s->checks) {
          bool failed =
              std::find(s->failed_checks.begin(), s->failed_checks.end(), c) != s->failed_checks.end();
          checks += fmt::format("{}<code>{}</code>{}", checks.empty() ? "" : ", ", xml_escape(c),
                                failed ? " <b class=\"st-failed\">failed</b>" : "");
        }
        h += "<p>Checks: " + checks + "</p>";
      }
      if (!s->commit.empty())
        h += fmt::format("<p>Commit <code>{}</code></p>", xml_escape(s->commit.substr(0, 12)));
      if (!s->diff.empty()) h += step_diff(*s);
      h += "</div></details>\n";
    }
    h += "</details>\n";
  }
  h += "</div>\n";
}

void render_site_row(std::string& h, const Site& s) {
  auto& f = s.finding;
  const char* kind = kind_of(s);
  bool fixed = s.status == "fixed";
  h += fmt::format(
      "<tr class=\"k-{}\"><td>{}:{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
      "</tr>\n",
      kind, f.span.start.line, f.span.start.column, xml_escape(f.rule_id), to_string(f.severity),
      xml_escape(f.message),
      fixed ? xml_escape(s.how + (s.commit.empty() ? "" : " in " + s.commit.substr(0, 10))) : "",
      fixed ? "" : xml_escape(f.action.empty() ? s.how : f.action));
}

// A CUDA source file is one row naming its kernels (issue 17 item 5); the totals count each site.
void render_cuda_file_row(std::string& h, const std::vector<const Site*>& sites) {
  std::vector<const Finding*> findings;
  for (auto* s : sites) findings.push_back(&s->finding);
  auto g = group_cuda_files(findings).at(0);
  size_t fixed = 0;
  for (auto* s : sites) fixed += s->status == "fixed";
  auto& first = sites.front()->finding;
  h += fmt::format(
      "<tr class=\"k-{}\"><td></td><td>CUDA source file ({} sites)</td><td>{}</td><td>{}</td><td>{} "
      "fixed</td><td>{}</td></tr>\n",
      fixed == g.sites ? "fixed" : "left", g.sites, g.blocking ? "blocking" : to_string(first.severity),
      xml_escape(describe_kernels(g)), fixed,
      fixed == g.sites ? "" : xml_escape(fmt::format("{} left: {}", g.sites - fixed, first.action)));
}

// "N of the M sites are in K CUDA source file(s)": said once above the files, when there are any.
void cuda_files_note(std::string& h, const RunReport& r) {
  std::vector<const Finding*> counted;
  for (auto& s : r.sites) {
    if (s.status != "suppressed") counted.push_back(&s.finding);
  }
  auto cuda = group_cuda_files(counted);
  if (cuda.empty()) return;
  h += "<p id=\"kcat-cuda-files\">" + cuda_files_summary(cuda, counted.size()) + ": one row per file.</p>\n";
}

// Every file with sites, in path order, each a table of its sites by line.
// On a big page, the files with sites left that start open: those with blocking sites first, then
// the smaller first (more files on screen), up to kOpenAllUpTo rows in all.
std::set<std::string> files_to_open(const std::map<std::string, std::vector<const Site*>>& files) {
  struct Candidate {
    size_t blocking, rows;
    std::string file;
  };
  std::vector<Candidate> candidates;
  for (auto& [file, sites] : files) {
    Tally tally;
    for (auto* s : sites) tally.add(*s);
    if (tally.left) candidates.push_back({tally.blocking, is_cuda_source(file) ? 1 : sites.size(), file});
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return (a.blocking > 0) != (b.blocking > 0) ? a.blocking > 0 : a.rows < b.rows;
  });
  std::set<std::string> out;
  size_t budget = kOpenAllUpTo;
  for (auto& c : candidates) {
    if (c.rows > budget) continue;
    budget -= c.rows;
    out.insert(c.file);
  }
  return out;
}

void render_files(std::string& h, const RunReport& r, bool open) {
  std::map<std::string, std::vector<const Site*>> files;
  for (auto& s : r.sites) {
    if (s.status != "suppressed") files[s.finding.file].push_back(&s);  // counted in the totals only
  }
  h += "<h2>By file</h2>\n";
  cuda_files_note(h, r);
  h += "<div id=\"kcat-sites\">\n";
  auto opened = open ? std::set<std::string>() : files_to_open(files);
  for (auto& [file, sites] : files) {
    std::stable_sort(sites.begin(), sites.end(), [](const Site* a, const Site* b) {
      return a->finding.span.start.line < b->finding.span.start.line;
    });
    Tally tally;
    for (auto* s : sites) tally.add(*s);
    bool open_file = open || opened.count(file);
    h += fmt::format(
        "<details class=\"grp file{}\"{}><summary><code>{}</code>{}</summary>\n<table><colgroup><col "
        "class=\"c-line\"><col class=\"c-rule\"><col class=\"c-sev\"><col class=\"c-msg\"><col "
        "class=\"c-done\">"
        "<col "
        "class=\"c-left\"></colgroup><thead><tr><th>line</th><th>rule</th><th>severity</th><th>found</th>"
        "<th>done</th><th class=\"col-left\">left</th></tr></thead><tbody>\n",
        tally.classes(), open_file ? " open" : "", xml_escape(file), tally.pills());
    if (is_cuda_source(file)) {
      render_cuda_file_row(h, sites);
    } else {
      for (auto* s : sites) render_site_row(h, *s);
    }
    h += "</tbody></table></details>\n";
  }
  h += "</div>\n";
}

// The filters (#left, #fixed, #notes in the address), and measurements a headless browser (and a
// test) reads back from the DOM: where the totals and the "left" column are, how many rows and
// steps the filter shows (on a page of more than kOpenAllUpTo rows only with ?measure in the
// address), and how many rows or steps left the first screen shows. KCAT_OPEN_ALL_UP_TO is replaced by
// kOpenAllUpTo (render_html).
const char* kScript = R"js(<script>
(function () {
  var kinds = {all: 1, left: 1, fixed: 1, notes: 1};
  function shown(el) {
    for (; el && el !== document.body; el = el.parentElement) {
      if (getComputedStyle(el).display === 'none') return false;
    }
    return true;
  }
  function count(sel) {
    return Array.prototype.filter.call(document.querySelectorAll(sel), shown).length;
  }
  function measure() {
    var b = document.body;
    var svg = document.getElementById('kcat-chart');
    var pts = svg ? svg.querySelectorAll('circle.point').length : 0;
    var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
    b.setAttribute('data-chart-points', String(pts));
    b.setAttribute('data-chart-drawn', String(box.width > 0 && box.height > 0 && pts > 0));
    var totals = document.getElementById('kcat-totals').getBoundingClientRect();
    b.setAttribute('data-totals-bottom', String(Math.round(totals.bottom + window.scrollY)));
    // The rest measures rows and columns, most of them in closed sections on a big page, where
    // that costs seconds (a style each): there only when the address asks (report.html?measure).
    // What the first screen shows of the work left: rows of open files, steps of open phases.
    var first = 0, lefts = document.querySelectorAll(
      '#kcat-sites details[open] tr.k-left, #kcat-phases details[open] > details.step.k-left > summary');
    for (var j = 0; j < lefts.length; j++) {
      var q = lefts[j].getBoundingClientRect();
      if (q.height > 0 && q.top + window.scrollY < window.innerHeight) ++first;
    }
    b.setAttribute('data-first-screen-left', String(first));
    var rows = document.querySelectorAll('#kcat-sites tbody tr');
    if (rows.length > KCAT_OPEN_ALL_UP_TO && location.search.indexOf('measure') < 0) return;
    b.setAttribute('data-table-rows', String(Array.prototype.filter.call(rows,
      function (r) { return r.getBoundingClientRect().height > 0; }).length));
    b.setAttribute('data-shown-left', String(count('#kcat-sites tr.k-left')));
    b.setAttribute('data-shown-fixed', String(count('#kcat-sites tr.k-fixed')));
    b.setAttribute('data-shown-notes', String(count('#kcat-sites tr.k-note')));
    b.setAttribute('data-shown-steps', String(count('#kcat-phases details.step')));
    var vw = document.documentElement.clientWidth;
    var heads = document.querySelectorAll('th.col-left'), right = -1;
    for (var i = 0; i < heads.length; i++) {
      var r = heads[i].getBoundingClientRect();
      if (r.width > 0) right = Math.max(right, Math.round(r.right));  // the widest table's
    }
    b.setAttribute('data-viewport-width', String(vw));
    b.setAttribute('data-left-col-right', String(right));
    b.setAttribute('data-left-col-visible', String(right > 0 && right <= vw));
    b.setAttribute('data-page-fits', String(document.documentElement.scrollWidth <= vw));
  }
  function apply() {
    var f = location.hash.replace(/^#/, '');
    if (!kinds[f]) f = 'all';
    document.body.setAttribute('data-filter', f);
    var links = document.querySelectorAll('#kcat-filters a');
    for (var i = 0; i < links.length; i++) {
      links[i].setAttribute('aria-current', String(links[i].getAttribute('href') === '#' + f));
    }
    measure();
  }
  document.getElementById('kcat-filters').hidden = false;
  window.addEventListener('hashchange', apply);
  window.addEventListener('load', apply);
})();
</script>
)js";

}  // namespace

std::string render_html(const RunReport& r) {
  size_t shown = 0;
  for (auto& s : r.sites) shown += s.status != "suppressed";
  bool open = shown <= kOpenAllUpTo;
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += fmt::format("<title>kcat report {}</title>\n<style>{}</style></head>\n<body>\n", xml_escape(r.run_id),
                   kStyle);
  h += fmt::format("<h1>kcat migration report: {}</h1>\n", xml_escape(r.repo));
  h += fmt::format(
      "<p class=\"meta\">Run <code>{}</code>, target <code>{}</code>, branch <code>{}</code> from "
      "<code>{}</code>. Outcome: <b id=\"kcat-outcome\">{}</b>.</p>\n",
      xml_escape(r.run_id), xml_escape(r.target), xml_escape(r.branch),
      xml_escape(r.base_commit.substr(0, 12)), xml_escape(r.outcome));
  render_totals(h, r);
  if (!r.iterations.empty()) {
    h += fmt::format("<h2>Throughput per optimization iteration ({})</h2>\n", xml_escape(r.metric_unit));
    h += render_chart_svg(r);
  }
  render_filters(h, r);
  render_phases(h, r, open);
  render_files(h, r, open);
  std::string script = kScript;
  auto at = script.find("KCAT_OPEN_ALL_UP_TO");
  script.replace(at, std::strlen("KCAT_OPEN_ALL_UP_TO"), std::to_string(kOpenAllUpTo));
  h += script;
  h += "</body></html>\n";
  return h;
}

}  // namespace kcat::report
