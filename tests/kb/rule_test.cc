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

// Issue 14 §4: every rule file is validated when it is loaded, with an error naming the file and
// the key; nothing a rule says can abort the process or make the scanner skip files later.
TEST(Rules, EveryBadRuleIsRefusedAtLoadNamingFileAndKey) {
  const std::string head =
      "[[rule]]\nid = \"x\"\nlanguages = [\"python\"]\ncategory = \"c\"\n"
      "severity = \"warning\"\nmessage = \"m\"\n";
  std::string nested;
  for (int i = 0; i < 50000; ++i) nested += "(";
  nested += "a";
  for (int i = 0; i < 50000; ++i) nested += ")";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"match = { kind = \"method\", names = 5 }\n", "'names'"},
      {"match = { kind = \"method\", names = [\"cuda\", 5] }\n", "'names'"},
      {"match = { kind = \"nonesuch\", names = [\"a\"] }\n", "match.kind"},
      {"match = { kind = \"method\", nams = [\"cuda\"] }\n", "unknown key 'nams'"},
      {"match = { kind = \"method\", whole = \"yes\" }\n", "match.whole"},
      {"match = { kind = \"api\", guarded_severity = \"fatal\" }\n", "match.guarded_severity"},
      {"match = \"method\"\n", "'match' must be a table"},
      {"pattern = \"a(b\"\n", "bad pattern"},
      {"pattern = \"" + nested + "\"\n", "pattern is 100001 bytes"},
      {"pattern = \"a\"\nmesage = \"typo\"\n", "unknown key 'mesage'"},
      {"pattern = \"a\"\nsource = 3\n", "'source' must be text"},
      {"pattern = \"a\"\nprefilter = [1]\n", "'prefilter'"},
  };
  for (auto& [tail, expect] : cases) {
    test::TempDir dir;
    test::write(dir / "bad.toml", head + tail);
    try {
      load_rules(dir.path());
      ADD_FAILURE() << "accepted: " << tail.substr(0, 80);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos)
          << e.what() << " for " << tail.substr(0, 80);
      EXPECT_NE(e.where().find("bad.toml:1 (rule x)"), std::string::npos) << e.where();
    }
  }
  // A pattern RE2 accepts but cannot compile within its memory bound is refused too.
  test::TempDir dir;
  test::write(dir / "big.toml", head + "pattern = \"(a{1000}){1000}\"\n");
  EXPECT_THROW(load_rules(dir.path()), Error);
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
