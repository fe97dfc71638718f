#include <fmt/format.h>

#include <algorithm>
#include <cmath>

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
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1200px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.cards{display:flex;flex-wrap:wrap;gap:.75rem}.card{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .9rem}
.card b{display:block;font-size:1.4rem}.bad b{color:#cf222e}.good b{color:#1a7f37}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.fixed td:first-child{border-left:4px solid #1a7f37}tr.left td:first-child{border-left:4px solid #cf222e}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;font-size:12px}.add{color:#1a7f37}.del{color:#cf222e}
code{font-size:12px}
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

std::string render_html(const RunReport& r) {
  auto t = r.totals();
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += fmt::format("<title>kcat report {}</title>\n<style>{}</style></head>\n<body>\n", xml_escape(r.run_id),
                   kStyle);
  h += fmt::format("<h1>kcat migration report: {}</h1>\n", xml_escape(r.repo));
  h += fmt::format(
      "<p>Run <code>{}</code>, target <code>{}</code>, branch <code>{}</code> from <code>{}</code>. "
      "Outcome: <b id=\"kcat-outcome\">{}</b>.</p>\n",
      xml_escape(r.run_id), xml_escape(r.target), xml_escape(r.branch),
      xml_escape(r.base_commit.substr(0, 12)), xml_escape(r.outcome));
  auto card = [&](const char* label, size_t v, const char* cls) {
    h += fmt::format("<div class=\"card {}\"><b>{}</b>{}</div>", cls, v, label);
  };
  h += "<div class=\"cards\" id=\"kcat-summary\">";
  card("found", t.found, "");
  card("fixed by codemod", t.fixed_by_codemod, "good");
  card("fixed by recipe", t.fixed_by_recipe, "good");
  card("fixed by LLM", t.fixed_by_llm, "good");
  card("left for a recipe", t.left_for_recipe, "");
  card("left for an LLM", t.left_for_llm, "");
  card("left for a person", t.left_for_person, "");
  card("blocking left", t.blocking_left, t.blocking_left ? "bad" : "good");
  h += "</div>\n";

  if (!r.iterations.empty()) {
    h += fmt::format("<h2>Throughput per optimization iteration ({})</h2>\n", xml_escape(r.metric_unit));
    h += render_chart_svg(r);
  }

  std::vector<const Finding*> counted;
  std::vector<const Site*> of;
  for (auto& s : r.sites) {
    if (s.status == "suppressed") continue;
    counted.push_back(&s.finding);
    of.push_back(&s);
  }
  // A CUDA source file is one row naming its kernels; the cards above count each of its sites.
  auto cuda = group_cuda_files(counted);
  if (!cuda.empty()) {
    size_t sites = 0;
    for (auto& g : cuda) sites += g.sites;
    h += fmt::format(
        "<p id=\"kcat-cuda-files\">{} of the {} sites are in {} CUDA source file(s) (.cu/.cuh): one row "
        "per file.</p>\n",
        sites, t.found, cuda.size());
  }
  h += "<h2>Sites</h2>\n<table id=\"kcat-sites\"><thead><tr><th>file:line</th><th>rule</th><th>severity</th>"
       "<th>found</th><th>done</th><th>left</th></tr></thead><tbody>\n";
  for (auto& g : cuda) {
    size_t fixed = 0;
    for (auto i : g.members) fixed += of[i]->status == "fixed";
    auto& first = of[g.members.front()]->finding;
    h += fmt::format(
        "<tr class=\"{}\"><td><code>{}</code></td><td>CUDA source file ({} sites)</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>\n",
        fixed == g.sites ? "fixed" : "left", xml_escape(g.file), g.sites,
        g.blocking ? "blocking" : to_string(first.severity), xml_escape(describe_kernels(g)),
        fmt::format("{} fixed", fixed),
        fixed == g.sites ? "" : xml_escape(fmt::format("{} left: {}", g.sites - fixed, first.action)));
  }
  for (auto& s : r.sites) {
    if (s.status == "suppressed") continue;  // counted in the totals, not left (kcat: ignore / --exclude)
    if (is_cuda_source(s.finding.file)) continue;
    auto& f = s.finding;
    bool fixed = s.status == "fixed";
    h += fmt::format(
        "<tr class=\"{}\"><td><code>{}:{}:{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        fixed ? "fixed" : "left", xml_escape(f.file), f.span.start.line, f.span.start.column,
        xml_escape(f.rule_id), to_string(f.severity), xml_escape(f.message),
        fixed ? xml_escape(s.how + (s.commit.empty() ? "" : " in " + s.commit.substr(0, 10))) : "",
        fixed ? "" : xml_escape(f.action.empty() ? s.how : f.action));
  }
  h += "</tbody></table>\n";

  if (!r.steps.empty()) {
    h += "<h2>Steps</h2>\n";
    for (auto& s : r.steps) {
      h += fmt::format("<details{}><summary><b>{}</b> [{}] {} &mdash; {}{}</summary>\n",
                       s.diff.empty() ? "" : " open", xml_escape(s.id), xml_escape(s.action),
                       xml_escape(s.title), xml_escape(s.status),
                       s.reason.empty() ? "" : ": " + xml_escape(s.reason));
      if (!s.diff.empty()) h += "<pre>" + render_diff(s.diff) + "</pre>\n";
      h += "</details>\n";
    }
  }
  // Lets a headless browser (and a test) confirm that the chart and the table were laid out.
  h += R"js(<script>
window.addEventListener('load', function () {
  var svg = document.getElementById('kcat-chart');
  var pts = svg ? svg.querySelectorAll('circle.point').length : 0;
  var box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  var rows = Array.prototype.filter.call(document.querySelectorAll('#kcat-sites tbody tr'),
    function (r) { return r.getBoundingClientRect().height > 0; }).length;
  document.body.setAttribute('data-chart-points', String(pts));
  document.body.setAttribute('data-chart-drawn', String(box.width > 0 && box.height > 0 && pts > 0));
  document.body.setAttribute('data-table-rows', String(rows));
});
</script>
)js";
  h += "</body></html>\n";
  return h;
}

}  // namespace kcat::report
