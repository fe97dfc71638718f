#include "kcat/kb/rule.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::kb {

TEST(Rules, LoadsAValidRule) {
  test::TempDir dir;
  test::write(dir / "r.toml", R"toml(
[[rule]]
id = "t.one"
languages = ["python"]
category = "device-call"
severity = "blocking"
match = { kind = "method", names = ["cuda"] }
message = "calls .cuda()"
source = "Ascend/pytorch:torch_npu/contrib/transfer_to_npu.py"
)toml");
  auto set = load_rules(dir.path());
  ASSERT_EQ(set.rules.size(), 1u);
  EXPECT_EQ(set.rules[0].matcher, "python");
  EXPECT_EQ(set.rules[0].match["names"][0], "cuda");
  EXPECT_TRUE(set.rules[0].applies_to("python"));
  EXPECT_FALSE(set.rules[0].applies_to("cpp"));
}

TEST(Rules, BadRuleNamesFileAndLine) {
  test::TempDir dir;
  test::write(dir / "bad.toml",
              "[[rule]]\nid = \"x\"\nlanguages = [\"python\"]\ncategory = \"c\"\nseverity = "
              "\"fatal\"\nmessage = \"m\"\npattern = \"a\"\n");
  try {
    load_rules(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.where().find("bad.toml:1"), std::string::npos) << e.where();
    EXPECT_NE(std::string(e.what()).find("severity"), std::string::npos);
  }
}

TEST(Rules, DuplicateIdsAreRefused) {
  test::TempDir dir;
  std::string rule =
      "[[rule]]\nid = \"dup\"\nlanguages = [\"shell\"]\ncategory = \"shell\"\nseverity = \"info\"\nmessage = "
      "\"m\"\npattern = \"nvidia-smi\"\n";
  test::write(dir / "a.toml", rule);
  test::write(dir / "b.toml", rule);
  EXPECT_THROW(load_rules(dir.path()), Error);
}

TEST(Rules, FingerprintChangesWithContent) {
  RuleSet a, b;
  Rule r;
  r.id = "x";
  r.message = "one";
  a.rules.push_back(r);
  r.message = "two";
  b.rules.push_back(r);
  EXPECT_NE(a.fingerprint(), b.fingerprint());
}

}  // namespace kcat::kb
