#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>

#include "kcat/report/run_report.h"
#include "report/report_fixture.h"
#include "testsupport/support.h"

namespace kcat::report {

TEST(Html, SelfContainedAndEscaped) {
  auto html = render_html(test_data::sample());
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_NE(html.find("uses &lt;cuda&gt; &amp; &quot;nccl&quot;"), std::string::npos);
  EXPECT_EQ(html.find("uses <cuda>"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"add\">+x.npu()</span>"), std::string::npos);
}

TEST(Html, ChartHasAPointPerIterationAndTargetAndBaselineLines) {
  auto svg = render_chart_svg(test_data::sample());
  std::regex circle("<circle class=\"point (kept|reverted)\"");
  auto n = std::distance(std::sregex_iterator(svg.begin(), svg.end(), circle), std::sregex_iterator());
  EXPECT_EQ(n, 4);
  EXPECT_NE(svg.find("point reverted"), std::string::npos);
  EXPECT_NE(svg.find("id=\"kcat-target\""), std::string::npos);
  EXPECT_NE(svg.find("id=\"kcat-baseline\""), std::string::npos);
  EXPECT_NE(svg.find("target 100"), std::string::npos);
}

TEST(Html, NoIterationsNoChart) {
  auto r = test_data::sample();
  r.iterations.clear();
  EXPECT_EQ(render_chart_svg(r), "");
  EXPECT_EQ(render_html(r).find("id=\"kcat-chart\""), std::string::npos);
  EXPECT_EQ(render_html(r).find("Throughput per optimization iteration"), std::string::npos);
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

TEST(Html, TotalsAndTheirChartComeFirst) {
  auto html = render_html(test_data::sample());
  auto totals = html.find("id=\"kcat-totals\"");
  ASSERT_NE(totals, std::string::npos);
  EXPECT_LT(totals, html.find("id=\"kcat-phases\""));
  EXPECT_LT(totals, html.find("id=\"kcat-sites\""));
  EXPECT_NE(html.find("<div class=\"card good\"><b>2</b>fixed by codemod</div>"), std::string::npos);
  EXPECT_NE(html.find("<b>2</b>left<small>1 for a recipe, 0 for an LLM, 1 for a person</small>"),
            std::string::npos);
  // One bar per outcome; the two fixed by codemod make the longest bar, the empty ones none.
  auto svg = html.substr(html.find("<svg id=\"kcat-totals-chart\""));
  svg = svg.substr(0, svg.find("</svg>"));
  EXPECT_EQ(count(svg, "<rect class=\"bar\""), 8u);  // and the notes: found, not work
  EXPECT_NE(svg.find("width=\"290.0\" height=\"14\" fill=\"#1a7f37\"><title>fixed by codemod: 2</title>"),
            std::string::npos)
      << svg;
  EXPECT_NE(svg.find("width=\"0.0\" height=\"14\" fill=\"#4ac26b\"><title>fixed by the agent: 0</title>"),
            std::string::npos);
  EXPECT_NE(svg.find("width=\"145.0\" height=\"14\" fill=\"#cf222e\"><title>left for a person: 1</title>"),
            std::string::npos);
}

TEST(Html, StepsByPhaseInThePlansOrderAndSitesByFile) {
  auto r = test_data::sample();
  r.steps.push_back(
      {"environment-requirements", "requirements-ascend.txt", "codemod", "done", "", "c0ffee", "", {}, {}});
  r.sites[2].step = "attention-1";  // left in the scope of the failed recipe step
  r.sites[0].step = r.sites[1].step = "device-api-1";
  auto html = render_html(r);
  auto env = html.find("<b>environment</b>"), dev = html.find("<b>device-api</b>"),
       attn = html.find("<b>attention</b>");
  ASSERT_NE(env, std::string::npos);
  EXPECT_LT(env, dev);
  EXPECT_LT(dev, attn);
  // Each step: its status, its sites, its checks and its diff.
  EXPECT_NE(
      html.find(
          "<b>device-api-1</b> [codemod] Device API codemods &mdash; <span class=\"st-done\">done</span>"
          "<span class=\"pill fixed\">2 fixed</span>"),
      std::string::npos);
  EXPECT_NE(
      html.find(
          "<span class=\"st-failed\">failed</span>: py_compile failed<span class=\"pill left\">1 left, 1 "
          "blocking</span>"),
      std::string::npos);
  EXPECT_NE(html.find("<code>py_compile</code> <b class=\"st-failed\">failed</b>"), std::string::npos);
  // Files in path order, sites by line, each file's counts in its summary.
  auto model = html.find("<summary><code>model.py</code>"),
       train = html.find("<summary><code>train.py</code>");
  ASSERT_NE(model, std::string::npos);
  EXPECT_LT(model, train);
  EXPECT_NE(html.find("<code>train.py</code><span class=\"pill fixed\">2 fixed</span></summary>"),
            std::string::npos);
  EXPECT_NE(
      html.find("<details class=\"grp file h-left\" open><summary><code>model.py</code><span class=\"pill "
                "left\">2 left, 1 blocking</span>"),
      std::string::npos);
  EXPECT_LT(html.find("<td>12:5</td>"), html.find("<td>40:5</td>"));
}

TEST(Html, AnInfoFindingLeftIsANoteNotWork) {
  auto r = test_data::sample();
  r.sites[3].finding.severity = Severity::Info;
  auto html = render_html(r);
  EXPECT_EQ(count(html, "<tr class=\"k-note\">"), 1u);
  EXPECT_EQ(count(html, "<tr class=\"k-left\">"), 1u);
  EXPECT_EQ(count(html, "<tr class=\"k-fixed\">"), 2u);
  EXPECT_NE(
      html.find(
          "<a href=\"#left\">left (1)</a><a href=\"#fixed\">fixed (2)</a><a href=\"#notes\">notes (1)</a>"),
      std::string::npos);
}

TEST(Html, WithoutScriptEverythingShowsAndTheFilterLinksAreHidden) {
  auto html = render_html(test_data::sample());
  // The links only work with the script, which shows them; the rows are hidden by the filter's
  // attribute on <body>, which only the script sets.
  EXPECT_NE(html.find("<nav id=\"kcat-filters\" hidden>"), std::string::npos);
  EXPECT_NE(html.find("<body>\n"), std::string::npos);
  EXPECT_EQ(html.find("style=\""), std::string::npos);
  EXPECT_EQ(count(html, "<details class=\"step"), 2u);
  EXPECT_EQ(count(html, "<script"), 1u);
}

// Repository content is untrusted: a file name, a message, a step title with markup stay text.
RunReport hostile() {
  auto r = test_data::sample();
  r.repo = "<img src=x onerror=alert(1)>";
  r.sites[2].finding.file = "<script>document.title='pwned'</script>.py";
  r.sites[3].finding.message = "</td></tr></table><script>document.title='pwned'</script>";
  r.sites[3].finding.action = "\"><svg onload=alert(1)>";
  r.steps[1].title = "<script>document.title='pwned'</script>";
  r.steps[0].diff += "+<script>document.title='pwned'</script>\n";
  return r;
}

TEST(Html, UntrustedTextStaysText) {
  auto html = render_html(hostile());
  EXPECT_EQ(count(html, "<script"), 1u);  // the page's own
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_EQ(html.find("<svg onload"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;.py"), std::string::npos)
      << html.substr(0, 200);
  EXPECT_NE(html.find("<span class=\"add\">+&lt;script&gt;"), std::string::npos);
}

TEST(Html, ABigDiffIsCutWithANoteNamingTheCommandThatShowsIt) {
  auto r = test_data::sample();
  r.steps[0].diff = "--- a/big.py\n+++ b/big.py\n@@ -1,1000 +1,1000 @@\n";
  for (int i = 0; i < 1000; ++i) r.steps[0].diff += fmt::format("+line {}\n", i);
  auto html = render_html(r);
  EXPECT_NE(html.find("<span class=\"add\">+line 396</span>"), std::string::npos);
  EXPECT_EQ(html.find("+line 397"), std::string::npos);
  EXPECT_NE(html.find("Diff truncated after 400 lines (603 more): <code>kcat diff device-api-1</code>"),
            std::string::npos);
  EXPECT_EQ(render_html(test_data::sample()).find("Diff truncated"), std::string::npos);
}

// A report of more than 400 sites opens what matters, the work left (issue 16: every section
// started closed), and keeps the rest closed so that it opens fast.
TEST(Html, ALargeReportOpensWhatIsLeftAndASmallOneAll) {
  auto r = test_data::sample();
  EXPECT_NE(render_html(r).find("<details class=\"grp file h-fixed\" open>"), std::string::npos);
  auto site = r.sites[0];
  for (int i = 0; i < 500; ++i) {
    site.finding.file = fmt::format("pkg/m{}.py", i % 50);
    r.sites.push_back(site);
  }
  auto html = render_html(r);
  EXPECT_EQ(count(html, "<details class=\"grp file"), 52u);
  EXPECT_NE(html.find("<code>pkg/m7.py</code><span class=\"pill fixed\">10 fixed</span>"), std::string::npos);
  // Open: the file with a site left and the phase with a step not done; closed: the rest.
  EXPECT_NE(html.find("<details class=\"grp file h-left\" open><summary><code>model.py</code>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<details class=\"grp phase h-left\" open><summary><b>attention</b>"),
            std::string::npos);
  EXPECT_NE(html.find("<details class=\"grp phase h-fixed\"><summary><b>device-api</b>"), std::string::npos);
  EXPECT_EQ(count(html, " open>"), 2u);
  // Files with sites left open up to 400 rows in all, blocking and small ones first (model.py's two
  // rows, then three of these): the next ones start closed.
  site.status = "left";
  for (int i = 0; i < 600; ++i) {
    site.finding.file = fmt::format("big/f{:02}.py", i / 100);  // six files of 100 rows
    r.sites.push_back(site);
  }
  html = render_html(r);
  for (int f = 0; f < 6; ++f) {
    auto open = html.find(fmt::format("\" open><summary><code>big/f{:02}.py</code>", f)) != std::string::npos;
    EXPECT_EQ(open, f < 3) << f;
  }
  EXPECT_NE(html.find("\" open><summary><code>model.py</code>"), std::string::npos);
  // The page's script measures up to the same number of rows (one constant, kOpenAllUpTo).
  EXPECT_NE(html.find("rows.length > 400 &&"), std::string::npos);
  EXPECT_EQ(html.find("KCAT_OPEN_ALL_UP_TO"), std::string::npos);
}

// Renders the page in headless Chromium and reads back what its own script measured.
TEST(Html, ChromiumDrawsTheChartAndTheTable) {
  const char* chromium = nullptr;
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (std::filesystem::exists(c)) chromium = c;
  }
  KCAT_NEED_PROGRAM(chromium, "chromium is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  test::write(dir / "report.html", render_html(test_data::sample()));
  auto r =
      test::run({chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + (dir / "profile").string(), "--virtual-time-budget=2000", "--dump-dom",
                 "file://" + (dir / "report.html").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("data-chart-drawn=\"true\""), std::string::npos) << r.out.substr(0, 400);
  EXPECT_NE(r.out.find("data-chart-points=\"4\""), std::string::npos);
  EXPECT_NE(r.out.find("data-table-rows=\"4\""), std::string::npos);
}

namespace {

std::string chromium() {
  for (const char* c : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (std::filesystem::exists(c)) return c;
  }
  return {};
}

// Where the browser test leaves its screenshots: $KCAT_TEST_OUTPUT_DIR/html, else under the temp dir.
std::filesystem::path screenshot_dir() {
  const char* env = std::getenv("KCAT_TEST_OUTPUT_DIR");
  auto dir = (env && *env ? std::filesystem::path(env)
                          : std::filesystem::temp_directory_path() / "kcat-test-output") /
             "html";
  std::filesystem::create_directories(dir);
  return dir;
}

// Headless Chromium at a laptop's 1366x768 on `url`: a screenshot when `png` is given, else the DOM
// after the page's script ran.
test::Result laptop(const std::string& browser, const test::TempDir& dir, const std::string& url,
                    const std::filesystem::path& png = {}) {
  std::vector<std::string> argv = {browser,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--hide-scrollbars",
                                   "--window-size=1366,768",
                                   "--user-data-dir=" + (dir / "profile").string(),
                                   "--virtual-time-budget=2000"};
  argv.push_back(png.empty() ? "--dump-dom" : "--screenshot=" + png.string());
  argv.push_back(url);
  return test::run(argv);
}

std::string attr(const std::string& dom, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(dom, m, std::regex(" " + name + "=\"([^\"]*)\""))) return "(absent)";
  return m[1];
}

}  // namespace

// The page at 1366x768: totals on the first screen, the "left" column on screen, the filters
// driven by the address's #fragment, and hostile content inert. Screenshots in screenshot_dir().
TEST(Html, ChromiumAtALaptopSizeShowsTotalsFirstAndFiltersRows) {
  auto browser = chromium();
  KCAT_NEED_PROGRAM(!browser.empty(), "chromium is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  auto r = hostile();
  r.sites[3].finding.message += " " + std::string(300, 'x');  // one long unbreakable word
  r.sites[3].finding.severity = Severity::Info;               // a note
  test::write(dir / "report.html", render_html(r));
  auto url = "file://" + (dir / "report.html").string() + "?measure";
  auto out = screenshot_dir();
  for (const char* frag : {"", "#left"}) {
    auto png = out / (std::string("report-1366x768") + (*frag ? "-left" : "") + ".png");
    std::filesystem::remove(png);
    auto shot = laptop(browser, dir, url + frag, png);
    ASSERT_EQ(shot.exit_code, 0) << shot.err;
    EXPECT_TRUE(std::filesystem::exists(png)) << shot.err;
    std::cout << "screenshot: " << png.string() << "\n";
  }

  auto all = laptop(browser, dir, url);
  ASSERT_EQ(all.exit_code, 0) << all.err;
  auto& dom = all.out;
  EXPECT_EQ(attr(dom, "data-filter"), "all");
  EXPECT_EQ(attr(dom, "data-viewport-width"), "1366") << "the window is not the laptop's size";
  EXPECT_LT(std::stoi(attr(dom, "data-totals-bottom")), 768) << "the totals are not on the first screen";
  EXPECT_EQ(attr(dom, "data-left-col-visible"), "true")
      << "left column ends at " << attr(dom, "data-left-col-right");
  EXPECT_EQ(attr(dom, "data-page-fits"), "true") << "the page scrolls sideways";
  EXPECT_EQ(attr(dom, "data-shown-fixed"), "2");
  EXPECT_EQ(attr(dom, "data-shown-left"), "1");
  EXPECT_EQ(attr(dom, "data-shown-notes"), "1");
  EXPECT_EQ(dom.find("<title>pwned"), std::string::npos);
  EXPECT_EQ(dom.find("<img src=\"x\""), std::string::npos);

  auto left = laptop(browser, dir, url + "#left");
  ASSERT_EQ(left.exit_code, 0) << left.err;
  EXPECT_EQ(attr(left.out, "data-filter"), "left");
  EXPECT_EQ(attr(left.out, "data-shown-fixed"), "0");
  EXPECT_EQ(attr(left.out, "data-shown-left"), "1");
  EXPECT_EQ(attr(left.out, "data-shown-notes"), "0");
  EXPECT_EQ(attr(left.out, "data-shown-steps"), "1");  // the failed step; the done one is hidden
  EXPECT_NE(left.out.find("<a href=\"#left\" aria-current=\"true\">"), std::string::npos);

  auto fixed = laptop(browser, dir, url + "#fixed");
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_EQ(attr(fixed.out, "data-shown-fixed"), "2");
  EXPECT_EQ(attr(fixed.out, "data-shown-left"), "0");
  EXPECT_EQ(attr(fixed.out, "data-shown-notes"), "0");
  EXPECT_EQ(attr(fixed.out, "data-shown-steps"), "1");

  auto notes = laptop(browser, dir, url + "#notes");
  ASSERT_EQ(notes.exit_code, 0) << notes.err;
  EXPECT_EQ(attr(notes.out, "data-shown-notes"), "1");
  EXPECT_EQ(attr(notes.out, "data-shown-left"), "0");
  EXPECT_EQ(attr(notes.out, "data-shown-fixed"), "0");
  EXPECT_EQ(attr(notes.out, "data-shown-steps"), "0");
}

// A big report at 1366x768: the first screen shows work left (issue 16: every section started
// closed, and the first screen showed totals and closed summaries only). Screenshot in
// screenshot_dir().
TEST(Html, ChromiumABigReportShowsWhatIsLeftOnTheFirstScreen) {
  auto browser = chromium();
  KCAT_NEED_PROGRAM(!browser.empty(), "chromium is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  auto r = test_data::sample();
  r.iterations.clear();  // no chart: the sections come right after the totals
  auto site = r.sites[0];
  for (int i = 0; i < 2500; ++i) {
    site.finding.file = fmt::format("pkg/m{:03}.py", i % 250);
    r.sites.push_back(site);
  }
  test::write(dir / "report.html", render_html(r));
  auto url = "file://" + (dir / "report.html").string();
  auto png = screenshot_dir() / "report-big-1366x768.png";
  std::filesystem::remove(png);
  auto shot = laptop(browser, dir, url, png);
  ASSERT_EQ(shot.exit_code, 0) << shot.err;
  std::cout << "screenshot: " << png.string() << "\n";
  auto dom = laptop(browser, dir, url);
  ASSERT_EQ(dom.exit_code, 0) << dom.err;
  EXPECT_LT(std::stoi(attr(dom.out, "data-totals-bottom")), 768);
  EXPECT_GE(std::stoi(attr(dom.out, "data-first-screen-left")), 1) << "no work left on the first screen";
}

}  // namespace kcat::report
