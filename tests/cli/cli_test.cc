#include <gtest/gtest.h>

#include "testsupport/support.h"

namespace kcat {

TEST(Cli, VersionPrintsVersion) {
  auto r = test::kcat({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("kcat 0."), std::string::npos) << r.out;
}

TEST(Cli, HelpTeachesTheFirstCommands) {
  auto r = test::kcat({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("kcat scan PATH"), std::string::npos);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
}

TEST(Cli, UnknownOptionIsAUsageError) {
  auto r = test::kcat({"--no-such-option"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--no-such-option"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kcat --help"), std::string::npos);
}

TEST(Cli, HelpForUnknownCommandIsAUsageError) {
  auto r = test::kcat({"help", "frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos);
}

}  // namespace kcat
