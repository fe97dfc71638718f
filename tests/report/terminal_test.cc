#include "kcat/report/terminal.h"

#include <gtest/gtest.h>

#include "kcat/core/text.h"

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

}  // namespace kcat::report
