#include "kcat/session/repl.h"

#include <gtest/gtest.h>

#include <sstream>

#include "session/scripted_reader.h"

namespace kcat::session {

namespace {
struct Calls {
  std::vector<std::vector<std::string>> scan;
  std::vector<std::string> requests;
};

ReplOptions options(Calls& calls, bool with_llm) {
  ReplOptions o;
  o.commands.push_back({"scan", "[PATH]", "find CUDA ties", [&calls](const std::vector<std::string>& a) {
                          calls.scan.push_back(a);
                          return a.empty() ? 0 : 1;
                        }});
  if (with_llm) {
    o.on_request = [&calls](const std::string& r) {
      calls.requests.push_back(r);
      return 0;
    };
  }
  return o;
}
}  // namespace

TEST(Repl, SlashCommandsGetTheirWordsAndExitCodesAreShown) {
  Calls calls;
  ScriptedReader reader(
      {line("/scan"), line("  /scan 'my repo' --format json"), line("/quit"), line("/scan")});
  std::ostringstream out;
  EXPECT_EQ(run_repl(reader, out, options(calls, false)), 0);
  ASSERT_EQ(calls.scan.size(), 2u);  // nothing after /quit runs
  EXPECT_TRUE(calls.scan[0].empty());
  EXPECT_EQ(calls.scan[1], (std::vector<std::string>{"my repo", "--format", "json"}));
  EXPECT_NE(out.str().find("(exit 1)"), std::string::npos);
  EXPECT_EQ(reader.history.size(), 3u);
}

TEST(Repl, UnknownCommandAndHelp) {
  Calls calls;
  ScriptedReader reader({line("/frobnicate"), line("/help")});
  std::ostringstream out;
  EXPECT_EQ(run_repl(reader, out, options(calls, false)), 0);
  EXPECT_NE(out.str().find("unknown command /frobnicate"), std::string::npos);
  EXPECT_NE(out.str().find("/scan [PATH]"), std::string::npos);
  EXPECT_NE(out.str().find("/quit"), std::string::npos);
}

TEST(Repl, PlainLanguageGoesToTheAgentOrExplainsWhatIsMissing) {
  Calls calls;
  ScriptedReader with({line("port the flash_attn call in model.py")});
  std::ostringstream out;
  run_repl(with, out, options(calls, true));
  EXPECT_EQ(calls.requests, std::vector<std::string>{"port the flash_attn call in model.py"});

  Calls none;
  ScriptedReader without({line("port it")});
  std::ostringstream out2;
  run_repl(without, out2, options(none, false));
  EXPECT_TRUE(none.requests.empty());
  EXPECT_NE(out2.str().find("no LLM is configured"), std::string::npos);
}

TEST(Repl, OneCtrlCWarnsTwoInARowLeave) {
  Calls calls;
  ScriptedReader reader({ctrl_c(), line("/scan"), ctrl_c(), ctrl_c(), line("/scan")});
  std::ostringstream out;
  EXPECT_EQ(run_repl(reader, out, options(calls, false)), 130);
  EXPECT_EQ(calls.scan.size(), 1u);
  EXPECT_NE(out.str().find("press Ctrl-C again"), std::string::npos);
}

TEST(Repl, SplitWords) {
  EXPECT_EQ(split_words(R"(a "b c" 'd e' f\ g "h\"i")"),
            (std::vector<std::string>{"a", "b c", "d e", "f g", "h\"i"}));
  EXPECT_EQ(split_words("  "), std::vector<std::string>{});
  EXPECT_EQ(split_words("x ''"), (std::vector<std::string>{"x", ""}));
}

TEST(Repl, TabCompletesSlashCommandsAndPathsOnlyWhereTaken) {
  ReplOptions o;
  o.commands.push_back({"scan", "[FILE]", "", {}, true});
  o.commands.push_back({"status", "", "", {}});
  o.commands.push_back({"target", "NAME", "", {}, false, {"ascend-a2", "ascend-a3", "ascend-310p"}});
  // `/` alone: every command, never file names.
  auto all = complete(o, "/");
  EXPECT_FALSE(all.paths);
  EXPECT_EQ(all.words, (std::vector<std::string>{"/scan", "/status", "/target", "/help", "/quit"}));
  EXPECT_EQ(complete(o, "/st").words, (std::vector<std::string>{"/status"}));
  EXPECT_EQ(complete(o, "  /q").words, (std::vector<std::string>{"/quit"}));
  // After a command that takes a path: file names.
  EXPECT_TRUE(complete(o, "/scan src/mo").paths);
  // After one that does not: nothing (no file names either).
  auto none = complete(o, "/status ");
  EXPECT_FALSE(none.paths);
  EXPECT_TRUE(none.words.empty());
  // After one that lists its values: those.
  EXPECT_EQ(complete(o, "/target ascend-a").words, (std::vector<std::string>{"ascend-a2", "ascend-a3"}));
  // A plain-language request: nothing.
  auto plain = complete(o, "port model");
  EXPECT_FALSE(plain.paths);
  EXPECT_TRUE(plain.words.empty());
}

}  // namespace kcat::session
