#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>

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

}  // namespace kcat::exec
