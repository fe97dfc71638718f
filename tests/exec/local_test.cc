#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>

#include "kcat/core/secrets.h"
#include "kcat/exec/process.h"
#include "testsupport/support.h"

namespace kcat::exec {

TEST(LocalRunner, ExitCodeOutputEnvAndCwd) {
  test::TempDir dir;
  Command c;
  c.shell = "echo out:$KCAT_X; echo err >&2; pwd; exit 3";
  c.env = {{"KCAT_X", "42"}};
  c.cwd = dir.path();
  auto o = local_runner()->run(c);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(o.out, "out:42\n" + dir.path().string() + "\n");
  EXPECT_EQ(o.err, "err\n");
  EXPECT_EQ(o.describe(), "exit 3");
}

TEST(LocalRunner, ArgvRunsWithoutAShell) {
  Command c;
  c.argv = {"printf", "%s|", "a b", "$HOME"};
  auto o = local_runner()->run(c);
  EXPECT_TRUE(o.ok());
  EXPECT_EQ(o.out, "a b|$HOME|");
}

TEST(LocalRunner, SignalIsReportedAsSuch) {
  Command c;
  c.shell = "kill -9 $$";
  auto o = local_runner()->run(c);
  EXPECT_EQ(o.signal, 9);
  EXPECT_NE(o.describe().find("killed by signal 9"), std::string::npos);
}

TEST(LocalRunner, TimeoutKillsTheWholeGroupIncludingGrandchildren) {
  test::TempDir dir;
  Command c;
  // A grandchild that ignores SIGTERM and keeps no pipe open, and a parent that waits.
  c.shell = "(trap '' TERM; exec sleep 30) </dev/null >/dev/null 2>&1 & echo $! > " + (dir / "pid").string() +
            "; sleep 30";
  c.timeout = std::chrono::milliseconds(300);
  c.kill_grace = std::chrono::milliseconds(200);
  auto o = local_runner()->run(c);
  EXPECT_TRUE(o.timed_out);
  EXPECT_NE(o.describe().find("timed out"), std::string::npos);
  auto pid = std::stoi(test::read(dir / "pid"));
  // Reaped by init or gone: no longer a live process we could signal in a moment.
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    gone = ::kill(pid, 0) != 0 && errno == ESRCH;
    if (!gone) usleep(20000);
  }
  EXPECT_TRUE(gone);
}

TEST(LocalRunner, OutputCapKeepsTheTail) {
  Command c;
  c.shell = "for i in $(seq 1 2000); do echo line$i; done";
  c.output_cap = 100;
  auto o = local_runner()->run(c);
  EXPECT_TRUE(o.truncated);
  EXPECT_EQ(o.out.size(), 100u);
  EXPECT_NE(o.out.find("line2000\n"), std::string::npos);
}

TEST(LocalRunner, StreamsChunksAsTheyArrive) {
  Command c;
  c.shell = "echo one; echo two >&2";
  std::string seen_out, seen_err;
  c.on_output = [&](std::string_view chunk, bool is_err) { (is_err ? seen_err : seen_out) += chunk; };
  auto o = local_runner()->run(c);
  EXPECT_EQ(seen_out, "one\n");
  EXPECT_EQ(seen_err, "two\n");
}

TEST(LocalRunner, AMissingProgramIs127WithAMessage) {
  Command c;
  c.argv = {"kcat-no-such-program-xyz"};
  auto o = local_runner()->run(c);
  EXPECT_EQ(o.exit_code, 127);
  EXPECT_NE(o.err.find("kcat-no-such-program-xyz"), std::string::npos);
}

// Children never inherit the LLM key: not the well-known variables, not the one api_key_env names,
// not another variable that holds the same value; the overlay and everything else pass.
TEST(LocalRunner, ChildrenDoNotInheritTheLlmKey) {
  setenv("KCAT_LLM_API_KEY", "sk-local-test-KEY-1", 1);
  setenv("OPENAI_API_KEY", "sk-local-test-KEY-2", 1);
  setenv("KCAT_TEST_TEAM_KEY", "sk-local-test-KEY-3", 1);
  setenv("KCAT_TEST_COPY", "sk-local-test-KEY-3", 1);
  setenv("KCAT_TEST_PLAIN", "kept", 1);
  secrets::add("KCAT_TEST_TEAM_KEY", "sk-local-test-KEY-3");
  Command c;
  c.argv = {"env"};
  c.env = {{"KCAT_STAGE", "after_edit"}};
  auto o = local_runner()->run(c);
  for (auto* name : {"KCAT_LLM_API_KEY", "OPENAI_API_KEY", "KCAT_TEST_TEAM_KEY", "KCAT_TEST_COPY"})
    EXPECT_EQ(o.out.find(std::string(name) + "="), std::string::npos) << name;
  EXPECT_EQ(o.out.find("sk-local-test-KEY"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("KCAT_TEST_PLAIN=kept\n"), std::string::npos);
  EXPECT_NE(o.out.find("KCAT_STAGE=after_edit\n"), std::string::npos);
  EXPECT_NE(o.out.find("PATH="), std::string::npos);
  EXPECT_EQ(secrets::redact("key sk-local-test-KEY-3."), "key [REDACTED].");
  for (auto* name :
       {"KCAT_LLM_API_KEY", "OPENAI_API_KEY", "KCAT_TEST_TEAM_KEY", "KCAT_TEST_COPY", "KCAT_TEST_PLAIN"})
    unsetenv(name);
}

}  // namespace kcat::exec
