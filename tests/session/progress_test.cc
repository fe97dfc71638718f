#include "kcat/session/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace kcat::session {

TEST(Progress, RendersABar) {
  Progress p("scan", 10, false);
  EXPECT_EQ(p.render(5), "\rscan [###############...............] 5/10");
  EXPECT_EQ(p.render(99), "\rscan [##############################] 10/10");
}

TEST(Progress, DisabledWritesNothing) {
  std::FILE* f = std::tmpfile();
  {
    Progress p("scan", 3, false, f);
    p.update(1);
    p.update(3);
  }
  EXPECT_EQ(std::ftell(f), 0);
  std::fclose(f);
}

TEST(Progress, EnabledRedrawsOnlyWhenTheBarMovesAndEndsTheLine) {
  std::FILE* f = std::tmpfile();
  {
    Progress p("x", 1000, true, f);
    for (size_t i = 0; i < 1000; ++i) p.update(i);
  }
  long size = std::ftell(f);
  std::rewind(f);
  std::string s(static_cast<size_t>(size), '\0');
  ASSERT_EQ(std::fread(s.data(), 1, s.size(), f), s.size());
  std::fclose(f);
  size_t redraws = 0;
  for (char c : s) redraws += c == '\r';
  EXPECT_EQ(redraws, 101u);  // 0..99 percent, plus the final line
  EXPECT_EQ(s.back(), '\n');
  EXPECT_FALSE(progress_enabled(-1, false));
}

}  // namespace kcat::session
