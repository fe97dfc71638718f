#include "kcat/scan/cache.h"

#include <gtest/gtest.h>

#include "testsupport/support.h"

namespace kcat::scan {

namespace {

Finding full_finding(int n) {
  Finding f;
  f.rule_id = "py.rule-" + std::to_string(n);
  f.category = "device-call";
  f.severity = Severity::Info;
  f.file = "src/m.py";
  f.span = {10u + static_cast<uint32_t>(n), 14u + static_cast<uint32_t>(n), {2, 3}, {2, 7}};
  f.matched = "torch.cuda.synchronize";
  f.message = "message with ünïcode and \"quotes\"";
  f.action = "action";
  f.codemod = "replace";
  f.recipe = "recipe-id";
  f.replacement = "npu";
  f.context = Context::Docstring;
  f.verdict = Verdict::CpuFallback;
  f.equivalent = "torch_npu.npu.synchronize";
  f.source = "repo:path#L1";
  return f;
}

void expect_same(const Finding& a, const Finding& b) {
  EXPECT_EQ(a.rule_id, b.rule_id);
  EXPECT_EQ(a.category, b.category);
  EXPECT_EQ(a.severity, b.severity);
  EXPECT_EQ(a.file, b.file);
  EXPECT_EQ(a.span, b.span);
  EXPECT_EQ(a.matched, b.matched);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.codemod, b.codemod);
  EXPECT_EQ(a.recipe, b.recipe);
  EXPECT_EQ(a.replacement, b.replacement);
  EXPECT_EQ(a.context, b.context);
  EXPECT_EQ(a.verdict, b.verdict);
  EXPECT_EQ(a.equivalent, b.equivalent);
  EXPECT_EQ(a.source, b.source);
}

}  // namespace

TEST(ScanCache, SameBytesAreFoundByTheirHashWhenTheMtimeMoved) {
  test::TempDir dir;
  auto file = dir / ".kcat/cache/scan-v3.bin";
  auto info = full_finding(3);
  info.severity = Severity::Info;
  {
    ScanCache c(file, "key-1");
    CacheEntry e;
    e.size = 10;
    e.mtime_ns = 100;
    e.hash = content_hash("0123456789");
    e.syntax_errors = 1;
    e.findings = {full_finding(1), info};
    c.store("a.py", e);
    c.save();
  }
  ScanCache c(file, "key-1");
  c.load();
  std::vector<Finding> hit;
  size_t syntax_errors = 0;
  EXPECT_FALSE(c.lookup("a.py", 10, 200, true, hit, syntax_errors));  // the mtime moved
  CacheEntry entry;
  ASSERT_TRUE(c.lookup_content("a.py", 10, content_hash("0123456789"), entry));
  ASSERT_EQ(entry.findings.size(), 2u);  // info findings too: the entry is stored again whole
  expect_same(entry.findings[1], info);
  EXPECT_EQ(entry.syntax_errors, 1u);
  EXPECT_FALSE(c.lookup_content("a.py", 10, content_hash("0123456780"), entry));
  EXPECT_FALSE(c.lookup_content("a.py", 11, content_hash("0123456789"), entry));
  EXPECT_FALSE(c.lookup_content("b.py", 10, content_hash("0123456789"), entry));
  EXPECT_NE(content_hash("0123456789"), content_hash("0123456780"));
}

TEST(ScanCache, RoundTripsEveryFieldOfEveryFinding) {
  test::TempDir dir;
  auto file = dir / ".kcat/cache/scan-v3.bin";
  {
    ScanCache c(file, "key-1");
    c.load();
    CacheEntry e;
    e.size = 123;
    e.mtime_ns = -5;  // before 1970 is still a time
    e.syntax_errors = 2;
    e.findings = {full_finding(1), full_finding(2), Finding{}};
    c.store("src/m.py", e);
    c.store("empty.py", CacheEntry{7, 8, 0, 0, {}});
    c.save();
  }
  ScanCache c(file, "key-1");
  c.load();
  std::vector<Finding> hit;
  size_t syntax_errors = 0;
  ASSERT_TRUE(c.lookup("src/m.py", 123, -5, true, hit, syntax_errors));
  EXPECT_EQ(syntax_errors, 2u);
  ASSERT_EQ(hit.size(), 3u);
  expect_same(hit[0], full_finding(1));
  expect_same(hit[1], full_finding(2));
  expect_same(hit[2], Finding{});
  std::vector<Finding> without_info;
  ASSERT_TRUE(c.lookup("src/m.py", 123, -5, false, without_info, syntax_errors));
  ASSERT_EQ(without_info.size(), 1u);  // the two info findings are left out
  expect_same(without_info[0], Finding{});
  std::vector<Finding> none;
  EXPECT_TRUE(c.lookup("empty.py", 7, 8, true, none, syntax_errors));
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(c.lookup("src/m.py", 124, -5, true, none, syntax_errors));  // size changed
  EXPECT_FALSE(c.lookup("src/m.py", 123, -4, true, none, syntax_errors));  // mtime changed
  EXPECT_FALSE(c.lookup("other.py", 123, -5, true, none, syntax_errors));

  ScanCache other_rules(file, "key-2");
  other_rules.load();
  EXPECT_FALSE(other_rules.lookup("src/m.py", 123, -5, true, none, syntax_errors));
}

TEST(ScanCache, KeepsLoadedEntriesWhenOthersAreStored) {
  test::TempDir dir;
  auto file = dir / "c.bin";
  {
    ScanCache c(file, "k");
    c.store("a.py", CacheEntry{1, 2, 0, 0, {full_finding(1)}});
    c.store("b.py", CacheEntry{3, 4, 0, 1, {full_finding(2)}});
    c.save();
  }
  {
    ScanCache c(file, "k");
    c.load();
    c.store("b.py", CacheEntry{5, 6, 0, 0, {full_finding(3)}});
    c.save();
  }
  ScanCache c(file, "k");
  c.load();
  std::vector<Finding> a, b;
  size_t syntax_errors = 0;
  ASSERT_TRUE(c.lookup("a.py", 1, 2, true, a, syntax_errors));
  ASSERT_EQ(a.size(), 1u);
  expect_same(a[0], full_finding(1));
  EXPECT_FALSE(c.lookup("b.py", 3, 4, true, b, syntax_errors));
  ASSERT_TRUE(c.lookup("b.py", 5, 6, true, b, syntax_errors));
  ASSERT_EQ(b.size(), 1u);
  expect_same(b[0], full_finding(3));
}

TEST(ScanCache, TruncatedOrForeignFileIsIgnored) {
  test::TempDir dir;
  auto file = dir / "c.bin";
  {
    ScanCache c(file, "k");
    c.store("a.py", CacheEntry{1, 2, 0, 0, {full_finding(1)}});
    c.save();
  }
  auto bytes = test::read(file);
  for (size_t cut : {size_t{3}, size_t{12}, bytes.size() / 2, bytes.size() - 1}) {
    test::write(file, bytes.substr(0, cut));
    ScanCache c(file, "k");
    c.load();
    std::vector<Finding> out;
    size_t syntax_errors = 0;
    EXPECT_FALSE(c.lookup("a.py", 1, 2, true, out, syntax_errors)) << "cut at " << cut;
  }
  test::write(file, "\x82\xa3key\xa1k");  // the old MessagePack cache
  ScanCache c(file, "k");
  c.load();
  std::vector<Finding> out;
  size_t syntax_errors = 0;
  EXPECT_FALSE(c.lookup("a.py", 1, 2, true, out, syntax_errors));
}

}  // namespace kcat::scan
