#include <gtest/gtest.h>

#include <filesystem>
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
  EXPECT_EQ(render_html(r).find("<svg"), std::string::npos);
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

}  // namespace kcat::report
