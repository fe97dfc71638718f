#include "kcat/session/approver.h"

#include <gtest/gtest.h>

#include <sstream>

#include "session/scripted_reader.h"

namespace kcat::session {

TEST(Approver, YesNoAndShowMore) {
  ScriptedReader reader({line("s"), line("y"), line("no"), line("huh"), line("n")});
  std::ostringstream out;
  auto a = prompt_approver(reader, out);
  EXPECT_EQ(a->ask("Apply edit to model.py?", "--- a/model.py\n+++ b/model.py\n"), Answer::Yes);
  EXPECT_NE(out.str().find("+++ b/model.py"), std::string::npos);
  EXPECT_EQ(a->ask("Run `make`?", "make"), Answer::No);
  EXPECT_EQ(a->ask("Run `rm -rf build`?", ""), Answer::No);
  EXPECT_NE(out.str().find("please answer"), std::string::npos);
  EXPECT_NE(reader.prompts[0].find("[y]es / [n]o / [a]ll / [s]how more"), std::string::npos);
}

TEST(Approver, AllAnswersEveryLaterQuestion) {
  ScriptedReader reader({line("a")});
  std::ostringstream out;
  auto a = prompt_approver(reader, out);
  EXPECT_EQ(a->ask("first?", ""), Answer::Yes);
  EXPECT_EQ(a->ask("second?", ""), Answer::Yes);
  EXPECT_EQ(reader.prompts.size(), 1u);
}

TEST(Approver, CtrlCOrEndOfInputIsARefusal) {
  ScriptedReader reader({ctrl_c()});
  std::ostringstream out;
  auto a = prompt_approver(reader, out);
  EXPECT_EQ(a->ask("apply?", ""), Answer::No);
  EXPECT_EQ(a->ask("apply?", ""), Answer::No);  // end of input
}

TEST(Approver, CiNeverPrompts) { EXPECT_EQ(ci_approver()->ask("apply?", "diff"), Answer::No); }

}  // namespace kcat::session
