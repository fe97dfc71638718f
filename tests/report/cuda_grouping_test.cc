// Issue 17 item 5: the report lists a CUDA source file once, naming its kernels, and its summary
// still counts every site ("N of the M sites are in K CUDA source files").
#include <gtest/gtest.h>

#include "kcat/report/run_report.h"
#include "report/report_fixture.h"

namespace kcat::report {

namespace {

RunReport with_cuda_sites() {
  auto r = test_data::sample();
  auto cu = [](std::string file, uint32_t line, std::string matched, std::string status) {
    Site s;
    s.finding.file = std::move(file);
    s.finding.span.start = {line, 1};
    s.finding.rule_id = matched.starts_with("__global__") ? "cpp.global-kernel" : "cpp.cuda-device-qualifier";
    s.finding.severity = Severity::Blocking;
    s.finding.matched = std::move(matched);
    s.finding.action = "rewrite as an Ascend C kernel";
    s.status = std::move(status);
    s.how = "recipe:cuda-extension-port";
    return s;
  };
  r.sites.push_back(cu("csrc/fwd.cu", 47, "__global__ causal_conv1d_fwd_kernel", "left"));
  for (uint32_t l = 50; l < 80; ++l) r.sites.push_back(cu("csrc/fwd.cu", l, "threadIdx.x", "left"));
  r.sites.push_back(cu("csrc/upd.cu", 24, "__global__ causal_conv1d_update_kernel", "left"));
  return r;
}

}  // namespace

TEST(ReportCudaFiles, MarkdownHasOneRowPerCudaFileAndHonestCounts) {
  auto r = with_cuda_sites();
  EXPECT_EQ(r.totals().found, 36u);  // 4 + 32: every site is counted
  auto md = render_markdown(r);
  EXPECT_NE(md.find("32 of the 36 sites are in 2 CUDA source file(s) (.cu/.cuh)"), std::string::npos) << md;
  EXPECT_NE(
      md.find(
          "| csrc/fwd.cu | CUDA source file (31 sites) | blocking | 31 left, 0 fixed | "
          "recipe:cuda-extension-port | kernels: causal_conv1d_fwd_kernel; rewrite as an Ascend C kernel |"),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("| csrc/upd.cu | CUDA source file (1 sites)"), std::string::npos);
  EXPECT_EQ(md.find("csrc/fwd.cu:5"), std::string::npos);     // no per-site rows
  EXPECT_NE(md.find("| train.py:3:5 |"), std::string::npos);  // Python sites stay one row each
}

TEST(ReportCudaFiles, HtmlHasOneRowPerCudaFile) {
  auto html = render_html(with_cuda_sites());
  EXPECT_NE(html.find("32 of the 36 sites are in 2 CUDA source file(s)"), std::string::npos);
  // The file's group holds one row, naming its kernels, not a row per site.
  auto at = html.find("<code>csrc/fwd.cu</code>");
  ASSERT_NE(at, std::string::npos) << html;
  auto group = html.substr(at, html.find("</details>", at) - at);
  EXPECT_NE(
      group.find(
          "<td>CUDA source file (31 sites)</td><td>blocking</td><td>kernels: causal_conv1d_fwd_kernel</td>"),
      std::string::npos)
      << group;
  size_t rows = 0;
  for (auto p = group.find("<tr class=\"k-"); p != std::string::npos; p = group.find("<tr class=\"k-", p + 1))
    ++rows;
  EXPECT_EQ(rows, 1u) << group;
  EXPECT_EQ(render_html(test_data::sample()).find("kcat-cuda-files"), std::string::npos);  // none: no line
}

}  // namespace kcat::report
