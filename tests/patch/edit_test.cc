#include "kcat/patch/edit.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::patch {

TEST(Edits, ApplyInAnyOrderAndKeepEverythingElse) {
  std::string s = "x = a.cuda()\r\ny = 'cuda:0'\r\n";
  auto out = apply_edits(s, {{"f.py", 19, 23, "npu", "r2"}, {"f.py", 6, 10, "npu", "r1"}});
  EXPECT_EQ(out, "x = a.npu()\r\ny = 'npu:0'\r\n");
}

TEST(Edits, OverlapsAreRefusedNamingBothRules) {
  try {
    apply_edits("abcdef", {{"f.py", 1, 4, "X", "rule.one"}, {"f.py", 3, 5, "Y", "rule.two"}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rule.one"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("rule.two"), std::string::npos);
    EXPECT_EQ(e.where(), "f.py");
  }
  EXPECT_THROW(apply_edits("abc", {{"f.py", 2, 9, "X", "r"}}), Error);
  // Touching edits and an insertion at an edit's start are fine.
  EXPECT_EQ(apply_edits("abc", {{"f", 1, 1, "+", "i"}, {"f", 1, 2, "B", "r"}, {"f", 2, 3, "C", "r"}}),
            "a+BC");
}

TEST(Edits, PatchIsAllOrNothing) {
  test::TempDir dir;
  test::write(dir / "a.py", "aaaa");
  test::write(dir / "b.py", "bbbb");
  Patch p{"m", {{"a.py", 0, 1, "A", "r"}, {"b.py", 2, 9, "B", "r"}}};  // the second edit is out of range
  EXPECT_THROW(apply_patch(dir.path(), p), Error);
  EXPECT_EQ(test::read(dir / "a.py"), "aaaa");
  EXPECT_EQ(test::read(dir / "b.py"), "bbbb");
  Patch ok{"m", {{"a.py", 0, 1, "A", "r"}, {"b.py", 3, 4, "B", "r"}}};
  EXPECT_EQ(apply_patch(dir.path(), ok), (std::vector<std::string>{"a.py", "b.py"}));
  EXPECT_EQ(test::read(dir / "b.py"), "bbbB");
}

TEST(Edits, PathsOutsideTheRepositoryAreRefused) {
  test::TempDir dir;
  Patch p{"m", {{"../escape.py", 0, 0, "x", "llm"}}};
  EXPECT_THROW(apply_patch(dir.path(), p), Error);
}

TEST(Edits, UnifiedDiff) {
  auto d = unified_diff("m.py", "a\nb\nc\n", "a\nB\nc\n");
  EXPECT_NE(d.find("--- a/m.py\n+++ b/m.py\n"), std::string::npos) << d;
  EXPECT_NE(d.find("-b\n+B\n"), std::string::npos) << d;
  EXPECT_EQ(unified_diff("m.py", "same\n", "same\n"), "");
}

}  // namespace kcat::patch
