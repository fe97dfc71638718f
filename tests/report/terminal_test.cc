#include "kcat/report/terminal.h"

#include <gtest/gtest.h>

#include "kcat/core/text.h"
#include "kcat/report/run_report.h"
#include "report/report_fixture.h"

namespace kcat::report {

TEST(TerminalReport, TablesAsAlignedColumnsWithoutPipes) {
  std::string md =
      "# kcat migration report: repo\n\n"
      "- outcome: **partial**, run `r1`\n\n"
      "| found | fixed by codemod |\n|---:|---:|\n| 12 | 3 |\n\n"
      "## Steps\n\n| step | status | title |\n|---|---|---|\n"
      "| device-api-1 | committed | a title with a \\| pipe |\n| s2 | failed | short |\n";
  auto out = markdown_for_terminal(md, 0);
  EXPECT_EQ(out,
            "kcat migration report: repo\n\n"
            "- outcome: partial, run r1\n\n"
            "found  fixed by codemod\n"
            "───────────────────────\n"
            "   12                 3\n\n"
            "Steps\n\n"
            "step          status     title\n"
            "──────────────────────────────────────────────\n"
            "device-api-1  committed  a title with a | pipe\n"
            "s2            failed     short\n");
}

TEST(TerminalReport, CutAtTheWidthWithAnEllipsis) {
  std::string md = "| a | b |\n|---|---|\n| x | a long message that does not fit |\n";
  auto out = markdown_for_terminal(md, 20);
  EXPECT_NE(out.find("x  a long message t…\n"), std::string::npos) << out;
  for (size_t start = 0; start < out.size();) {
    auto nl = out.find('\n', start);
    EXPECT_LE(display_width(out.substr(start, nl - start)), 20u);
    start = nl + 1;
  }
}

// Issue 16: at 60 and 80 columns the totals (eight columns, 120 wide) were cut mid-header and their
// numbers lost. Too wide, a table is stacked: every number on the line of its header, none cut.
TEST(TerminalReport, NarrowTerminalsStackTheTotalsAndCutNoNumber) {
  auto r = test_data::sample();
  auto t = r.totals();
  for (size_t width : {60u, 80u}) {
    auto out = markdown_for_terminal(render_markdown(r), width);
    for (size_t start = 0; start < out.size();) {
      auto nl = out.find('\n', start);
      EXPECT_LE(display_width(out.substr(start, nl - start)), width) << out.substr(start, nl - start);
      start = nl + 1;
    }
    auto line_of = [&](const std::string& head) {
      auto at = out.find("\n" + head + "  ");
      if (at == std::string::npos) return std::string();
      return out.substr(at + 1, out.find('\n', at + 1) - at - 1);
    };
    std::vector<std::pair<std::string, size_t>> totals = {{"found", t.found},
                                                          {"fixed by codemod", t.fixed_by_codemod},
                                                          {"left for a recipe", t.left_for_recipe},
                                                          {"left for a person", t.left_for_person},
                                                          {"blocking left", t.blocking_left}};
    for (auto& [head, n] : totals) {
      auto line = line_of(head);
      ASSERT_FALSE(line.empty()) << head << " at " << width << ":\n" << out;
      EXPECT_TRUE(line.ends_with(" " + std::to_string(n))) << line;
    }
    // The optimization table's numbers too, stacked or not.
    for (auto* median : {"20.00", "35.00", "12.00", "110.00"})
      EXPECT_NE(out.find(median), std::string::npos) << out;
  }
  // Wide enough, the totals stay one table.
  auto wide = markdown_for_terminal(render_markdown(r), 200);
  EXPECT_NE(wide.find("found  fixed by codemod"), std::string::npos) << wide;
}

}  // namespace kcat::report
