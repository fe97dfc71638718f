// PEP 440 and PEP 508, tested with the PEPs' own examples.
#include "kcat/env/pep508.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"

namespace kcat::env::pep {
namespace {

std::string norm(const char* v) { return Version::parse(v).str(); }

TEST(Pep440, NormalisesAsThePepSays) {
  // PEP 440, "Normalization"
  for (auto v : {"1.0a1", "1.0.a1", "1.0-a1", "1.0_a1", "1.0alpha1", "1.0ALPHA1", "1.0a.1", "1.0-a.1"})
    EXPECT_EQ(norm(v), "1.0a1") << v;
  EXPECT_EQ(norm("1.0c1"), "1.0rc1");
  EXPECT_EQ(norm("1.0-pre1"), "1.0rc1");
  EXPECT_EQ(norm("1.0preview1"), "1.0rc1");
  EXPECT_EQ(norm("1.1RC1"), "1.1rc1");
  EXPECT_EQ(norm("1.0a"), "1.0a0");       // implicit pre-release number
  EXPECT_EQ(norm("1.0-1"), "1.0.post1");  // implicit post-release
  EXPECT_EQ(norm("1.0-r4"), "1.0.post4");
  EXPECT_EQ(norm("1.0rev4"), "1.0.post4");
  EXPECT_EQ(norm("1.0.post"), "1.0.post0");
  EXPECT_EQ(norm("1.0.dev"), "1.0.dev0");
  EXPECT_EQ(norm("1.0-dev2"), "1.0.dev2");
  EXPECT_EQ(norm("v1.0"), "1.0");
  EXPECT_EQ(norm("1.0+ubuntu-1"), "1.0+ubuntu.1");
  EXPECT_EQ(norm("1.0+Ubuntu_1"), "1.0+ubuntu.1");
  EXPECT_EQ(norm("1!2.0"), "1!2.0");
  EXPECT_EQ(norm(" 2.5.1+cu118 "), "2.5.1+cu118");
  EXPECT_EQ(norm("2.9.0.post1+git4c901a4"), "2.9.0.post1+git4c901a4");
  for (auto bad : {"", "a", "1.0+", "1.0+a..b", "1.0 extra", "1..0", "8.1.RC1.alpha001x!"})
    EXPECT_FALSE(Version::try_parse(bad)) << bad;
  EXPECT_THROW(Version::parse("not-a-version"), Error);
  // hostile input: segments beyond a long, long local numbers
  EXPECT_FALSE(Version::try_parse("1.99999999999999999999999"));
  EXPECT_FALSE(Version::try_parse("99999999999999999999999.0"));
  EXPECT_LT(compare(Version::parse("1.0+123456789012345678901234567890"),
                    Version::parse("1.0+123456789012345678901234567891")),
            0);
}

TEST(Pep440, OrdersAsThePepsSummary) {
  // PEP 440, "Summary of permitted suffixes and relative ordering", in order
  const char* ordered[] = {"1.0.dev456",    "1.0a1",         "1.0a2.dev456", "1.0a12.dev456",
                           "1.0a12",        "1.0b1.dev456",  "1.0b2",        "1.0b2.post345.dev456",
                           "1.0b2.post345", "1.0rc1.dev456", "1.0rc1",       "1.0",
                           "1.0+abc.5",     "1.0+abc.7",     "1.0+5",        "1.0.post456.dev34",
                           "1.0.post456",   "1.0.15",        "1.1.dev1"};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    EXPECT_LT(compare(Version::parse(ordered[i]), Version::parse(ordered[i + 1])), 0)
        << ordered[i] << " < " << ordered[i + 1];
  }
  EXPECT_EQ(compare(Version::parse("1.0"), Version::parse("1.0.0")), 0);  // zero padding
  EXPECT_GT(compare(Version::parse("1!1.0"), Version::parse("2.0")), 0);  // the epoch first
  EXPECT_GT(compare(Version::parse("2.10.0"), Version::parse("2.9.0")), 0);
}

bool in(const char* spec, const char* v, bool pre = false) {
  return SpecifierSet::parse(spec).contains(v, pre);
}

TEST(Pep440, SpecifiersMatchAsThePepSays) {
  // Compatible release: ~=2.2 is >=2.2,==2.*; ~=1.4.5 is >=1.4.5,==1.4.*
  EXPECT_TRUE(in("~=2.2", "2.3"));
  EXPECT_TRUE(in("~=2.2", "2.2"));
  EXPECT_FALSE(in("~=2.2", "3.0"));
  EXPECT_FALSE(in("~=2.2", "2.1"));
  EXPECT_TRUE(in("~=1.4.5", "1.4.9"));
  EXPECT_FALSE(in("~=1.4.5", "1.5.0"));
  EXPECT_TRUE(in("~=2.2.post3", "2.9"));
  EXPECT_FALSE(in("~=2.2.post3", "2.2"));
  EXPECT_TRUE(in("~=1.4.5a4", "1.4.5"));
  EXPECT_THROW(SpecifierSet::parse("~=1"), Error);
  // Version matching: ==1.1 is not 1.1.post1; ==1.1.* is; ==1.1.0 is 1.1
  EXPECT_FALSE(in("==1.1", "1.1.post1"));
  EXPECT_TRUE(in("==1.1.*", "1.1.post1"));
  EXPECT_TRUE(in("==1.1.0", "1.1"));
  EXPECT_TRUE(in("==0.20.*", "0.20.1"));
  EXPECT_FALSE(in("==0.20.*", "0.21.0"));
  EXPECT_TRUE(in("!=1.1.*", "1.2"));
  EXPECT_FALSE(in("!=1.1.*", "1.1.3"));
  // a public specifier ignores the candidate's local label
  EXPECT_TRUE(in("==2.5.1", "2.5.1+cu118"));
  EXPECT_FALSE(in("==2.5.1+cpu", "2.5.1+cu118"));
  // Exclusive ordered comparisons: >1.7 allows 1.7.1, not 1.7.0.post1; <3.1 not 3.1's pre-releases
  EXPECT_TRUE(in(">1.7", "1.7.1"));
  EXPECT_FALSE(in(">1.7", "1.7.0.post1"));
  EXPECT_TRUE(in(">1.7.post2", "1.7.1"));
  EXPECT_TRUE(in(">1.7.post2", "1.7.0.post3"));
  EXPECT_FALSE(in("<3.1", "3.1.dev0", true));
  EXPECT_TRUE(in("<3.1", "3.0.5"));
  // pre-releases only when asked, or when a clause names one
  EXPECT_FALSE(in(">=1.0", "2.0rc1"));
  EXPECT_TRUE(in(">=1.0", "2.0rc1", true));
  EXPECT_TRUE(in(">=2.0rc1", "2.0rc2"));
  EXPECT_TRUE(in("===foobar", "foobar") == false);  // not a version: never a candidate here
  // sets: every clause
  EXPECT_TRUE(in(">=4.55.0,<=5.8.0,!=4.57.0,!=5.6.0", "5.5.3"));
  EXPECT_FALSE(in(">=4.55.0,<=5.8.0,!=4.57.0,!=5.6.0", "4.57.0"));
  EXPECT_FALSE(in(">=3,<2", "2.5"));
  EXPECT_EQ(SpecifierSet::parse(" >= 1.0 , < 2 ").str(), ">=1.0,<2");
  EXPECT_EQ(SpecifierSet::parse("==2.5.1").pinned(), "2.5.1");
  EXPECT_FALSE(SpecifierSet::parse("==2.5.*").pinned());
  for (auto bad : {">=", "=>1.0", "==1.0.*.*", ">=1.0.*", "1.0", ">=1.0,"})
    EXPECT_THROW(SpecifierSet::parse(bad), Error) << bad;
}

TEST(Pep508, ParsesThePepsExamples) {
  // PEP 508, "Complete Grammar" test cases
  EXPECT_EQ(parse_requirement("A").name, "A");
  EXPECT_EQ(parse_requirement("A.B-C_D").key(), "a-b-c-d");
  EXPECT_EQ(parse_requirement("aa").name, "aa");
  EXPECT_EQ(parse_requirement("name<=1").specifier.str(), "<=1");
  EXPECT_EQ(parse_requirement("name>=3").specifier.str(), ">=3");
  EXPECT_EQ(parse_requirement("name>=3,<2").specifier.str(), ">=3,<2");
  auto url = parse_requirement("name@http://foo.com");
  EXPECT_EQ(url.url, "http://foo.com");
  auto full = parse_requirement("name [fred,bar] @ http://foo.com ; python_version=='2.7'");
  EXPECT_EQ(full.extras, (std::vector<std::string>{"fred", "bar"}));
  EXPECT_EQ(full.url, "http://foo.com");
  ASSERT_TRUE(full.marker);
  EXPECT_TRUE(full.marker->evaluate({{"python_version", "2.7"}}));
  EXPECT_FALSE(full.marker->evaluate({{"python_version", "3.11"}}));
  auto q = parse_requirement("name[quux, strange];python_version<'2.7' and platform_version=='2'");
  EXPECT_EQ(q.extras, (std::vector<std::string>{"quux", "strange"}));
  EXPECT_TRUE(q.marker->evaluate({{"python_version", "2.6"}, {"platform_version", "2"}}));
  EXPECT_FALSE(
      q.marker->evaluate({{"python_version", "2.10"}, {"platform_version", "2"}}));  // versions, not strings
  auto r = parse_requirement("requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"");
  EXPECT_EQ(r.specifier.str(), ">=2.8.1,==2.8.*");
  EXPECT_EQ(r.str(), "requests[security,tests]>=2.8.1,==2.8.*; python_version < \"2.7\"");
  auto pip = parse_requirement(
      "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686");
  EXPECT_EQ(pip.key(), "pip");
  EXPECT_NE(pip.url.find("1.3.1.zip"), std::string::npos);
  EXPECT_EQ(parse_requirement("name (>=1.0, <2)").specifier.str(), ">=1.0,<2");
  for (auto bad : {"", "-name", "name>=", "name @", "name[", "name extra", "name; os_name",
                   "name; os_name=='a' or", "name==1.0 ; bogus == 'a'", "torch==2.1.2 +cu118"})
    EXPECT_FALSE(try_parse_requirement(bad)) << bad;
}

TEST(Pep508, MarkerPrecedenceIsThePeps) {
  auto eval = [](const char* req, const char* os) {
    return parse_requirement(req).marker->evaluate({{"os_name", os}});
  };
  // (a and b) or c
  EXPECT_TRUE(eval("name; os_name=='a' and os_name=='b' or os_name=='c'", "c"));
  // a and (b or c)
  EXPECT_FALSE(eval("name; os_name=='a' and (os_name=='b' or os_name=='c')", "c"));
  // a or (b and c)
  EXPECT_TRUE(eval("name; os_name=='a' or os_name=='b' and os_name=='c'", "a"));
  // (a or b) and c
  EXPECT_FALSE(eval("name; (os_name=='a' or os_name=='b') and os_name=='c'", "a"));
  EXPECT_TRUE(eval("name; os_name=='a' or os_name=='b'", "b"));
  auto linux = linux_environment("3.11", "aarch64");
  EXPECT_FALSE(parse_marker("sys_platform == 'win32'").evaluate(linux));
  EXPECT_TRUE(parse_marker("sys_platform != 'darwin' and platform_machine == 'aarch64'").evaluate(linux));
  EXPECT_TRUE(parse_marker("python_version >= '3.8'").evaluate(linux));
  EXPECT_FALSE(parse_marker("python_version < '3.8'").evaluate(linux));
  EXPECT_TRUE(parse_marker("'linux' in sys_platform").evaluate(linux));
  EXPECT_TRUE(parse_marker("'win' not in sys_platform").evaluate(linux));
  EXPECT_TRUE(parse_marker("extra == 'Test_X'").evaluate({{"extra", "test-x"}}));
}

}  // namespace
}  // namespace kcat::env::pep
