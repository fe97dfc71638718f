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

}  // namespace kcat
