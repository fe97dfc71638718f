#include "kcat/core/text.h"

#include <gtest/gtest.h>

namespace kcat {

TEST(LineIndex, LfLinesAndColumns) {
  LineIndex idx("ab\ncd\n");
  EXPECT_EQ(idx.position(0), (Position{1, 1}));
  EXPECT_EQ(idx.position(1), (Position{1, 2}));
  EXPECT_EQ(idx.position(3), (Position{2, 1}));
  EXPECT_EQ(idx.position(4), (Position{2, 2}));
  EXPECT_EQ(idx.line_text(2), "cd");
  EXPECT_FALSE(idx.has_crlf());
}

TEST(LineIndex, CrlfCountsAsOneLineBreak) {
  LineIndex idx("ab\r\ncd\r\n");
  EXPECT_EQ(idx.position(4), (Position{2, 1}));
  EXPECT_EQ(idx.line_text(1), "ab");
  EXPECT_TRUE(idx.has_crlf());
  EXPECT_EQ(idx.line_count(), 3u);
}

TEST(LineIndex, LoneCrIsALineBreak) {
  LineIndex idx("ab\rcd");
  EXPECT_EQ(idx.position(3), (Position{2, 1}));
}

TEST(LineIndex, BomIsNotAColumn) {
  LineIndex idx("\xEF\xBB\xBFx = 1\n");
  EXPECT_TRUE(idx.has_bom());
  EXPECT_EQ(idx.position(3), (Position{1, 1}));
  EXPECT_EQ(idx.position(4), (Position{1, 2}));
  EXPECT_EQ(idx.line_text(1), "x = 1");
}

TEST(LineIndex, ColumnsCountCharactersNotBytes) {
  // "é" is two bytes; "中" three; an invalid byte counts as one character.
  std::string s = "\xC3\xA9\xE4\xB8\xAD\xFFx";
  LineIndex idx(s);
  EXPECT_EQ(idx.position(2), (Position{1, 2}));
  EXPECT_EQ(idx.position(5), (Position{1, 3}));
  EXPECT_EQ(idx.position(6), (Position{1, 4}));
}

TEST(Text, BinaryAndUtf8Detection) {
  EXPECT_TRUE(looks_binary(std::string("ab\0cd", 5)));
  EXPECT_FALSE(looks_binary("plain text"));
  EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo"));
  EXPECT_FALSE(is_valid_utf8("h\xE9llo"));
  EXPECT_FALSE(is_valid_utf8("\xC3"));
}

// Issue 14 §5: a hostile file cannot hide an added line from the person approving the diff.
TEST(Text, VisibleTextShowsWhatATerminalWouldHide) {
  // ESC [2K ESC [1A erases the previous line on a terminal: shown as text instead.
  EXPECT_EQ(visible_text("+curl x | sh\x1b[2K\x1b[1A\n"), "+curl x | sh\\x1b[2K\\x1b[1A\n");
  EXPECT_EQ(visible_text("a\rb\tc\n"), "a\\rb\tc\n");
  EXPECT_EQ(visible_text("crlf\r\n"), "crlf\r\n");  // a CRLF line ending hides nothing
  EXPECT_EQ(visible_text("del\x7f bs\x08"), "del\\x7f bs\\x08");
  EXPECT_EQ(visible_text("bad \xff byte"), "bad \\xff byte");
  EXPECT_EQ(visible_text("csi \xc2\x9b"
                         "2K"),
            "csi <U+009B>2K");
  EXPECT_EQ(visible_text("rlo \xe2\x80\xae x"), "rlo <U+202E> x");
  EXPECT_EQ(visible_text("\xe4\xb8\xad\xe6\x96\x87 ok \xf0\x9f\x98\x80"),
            "\xe4\xb8\xad\xe6\x96\x87 ok \xf0\x9f\x98\x80");
}

TEST(Text, FitWidthCutsWithAnEllipsisNeverMidCharacter) {
  EXPECT_EQ(fit_width("short", 10), "short");
  EXPECT_EQ(fit_width("exactly10!", 10), "exactly10!");
  EXPECT_EQ(fit_width("a longer line of text", 10), "a longer …");
  EXPECT_EQ(display_width(fit_width("a longer line of text", 10)), 10u);
  // Multi-byte characters count as one column each and are never split.
  EXPECT_EQ(fit_width("ééééééé", 4), "ééé…");
  // 0: not a terminal, the whole line.
  EXPECT_EQ(fit_width("a longer line of text", 0), "a longer line of text");
  EXPECT_EQ(display_width("añb"), 3u);
}

// One trim, lower and last_line for every layer (issue 13 §3: five trims and two lowers before).
TEST(Text, TrimLowerAndTheLastLineOfAnAnswer) {
  EXPECT_EQ(trim(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim_view("  x  "), "x");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(lower("MatMul_V2"), "matmul_v2");
  // A chatty ~/.bashrc prints before the answer; blank lines and spaces after it do not count.
  EXPECT_EQ(last_line("Welcome!\n/home/u/venv\r\n\n  \n"), "/home/u/venv");
  EXPECT_EQ(last_line("only"), "only");
  EXPECT_EQ(last_line("\n \n"), "");
}

}  // namespace kcat
