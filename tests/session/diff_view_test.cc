#include "kcat/session/diff_view.h"

#include <gtest/gtest.h>

#include <sstream>

namespace kcat::session {

namespace {
const char* kDiff =
    "diff --git a/m.py b/m.py\n"
    "--- a/m.py\n"
    "+++ b/m.py\n"
    "@@ -1,2 +1,2 @@\n"
    " import torch\n"
    "-x = x.cuda()\n"
    "+x = x.npu()  # \x1b[2K hidden\n";
}  // namespace

TEST(DiffView, ColouredLikeGitAddP) {
  auto out = render_diff(kDiff, true);
  EXPECT_NE(out.find("\x1b[1mdiff --git a/m.py b/m.py\x1b[m\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[36m@@ -1,2 +1,2 @@\x1b[m\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\x1b[31m-x = x.cuda()\x1b[m\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n import torch\n"), std::string::npos) << out;
  // The file's own escape is still shown as text, inside kcat's colour (issue 14 §5).
  EXPECT_NE(out.find("\x1b[32m+x = x.npu()  # \\x1b[2K hidden\x1b[m\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("\x1b[2K"), std::string::npos) << out;
}

TEST(DiffView, PlainWithoutColour) {
  auto out = render_diff(kDiff, false);
  EXPECT_EQ(out.find("\x1b["), std::string::npos) << out;
  EXPECT_NE(out.find("+x = x.npu()  # \\x1b[2K hidden\n"), std::string::npos) << out;
}

TEST(DiffView, NoPagerWhenNotATerminal) {
  // The test's standard output is not a terminal: the style never pages, and show_diff writes
  // the diff to the stream whatever its length.
  auto style = diff_style(false, false);
  if (style.pager) GTEST_SKIP() << "standard input and output are a terminal";
  std::string longer;
  for (int i = 0; i < 500; ++i) longer += "+line\n";
  std::ostringstream out;
  show_diff(out, longer, {false, false});
  EXPECT_EQ(out.str(), longer);
  EXPECT_FALSE(diff_style(true, true).pager);
}

}  // namespace kcat::session
