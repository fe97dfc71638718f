#include <gtest/gtest.h>

#include "testsupport/support.h"

namespace kcat {

TEST(Cli, VersionPrintsVersion) {
  auto r = test::kcat({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("kcat 0."), std::string::npos) << r.out;
  // Issue 16: which grammars and which knowledge base this kcat uses.
  EXPECT_NE(
      r.out.find("grammars: tree-sitter-python 0.23.6, tree-sitter-cpp 0.23.4, tree-sitter-cuda 0.20.4"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("knowledge: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(checked 20"), std::string::npos) << r.out;
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

// Issue 16: a mistyped command names the command the user probably meant.
TEST(Cli, AMistypedCommandSaysDidYouMean) {
  auto r = test::kcat({"migrat", "."});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no command named 'migrat'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean `kcat migrate`?"), std::string::npos) << r.err;
  auto swapped = test::kcat({"sacn"});
  EXPECT_NE(swapped.err.find("did you mean `kcat scan`?"), std::string::npos) << swapped.err;
  auto help = test::kcat({"help", "doctr"});
  EXPECT_EQ(help.exit_code, 2);
  EXPECT_NE(help.err.find("did you mean `kcat doctor`?"), std::string::npos) << help.err;
  auto far = test::kcat({"frobnicate"});
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

}  // namespace kcat
