// The one process runner: every descendant is stopped at a timeout however it detached, a
// grandchild holding the pipes never hangs the call, stdin data, environment removal, Ctrl-C,
// output caps and volume.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "kcat/core/cancel.h"
#include "kcat/exec/process.h"
#include "testsupport/support.h"

namespace kcat::exec {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double secs(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

// The pid a command wrote to `file` (waits a little for it to appear).
pid_t pid_in(const std::filesystem::path& file) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid > 0) return pid;
    usleep(10000);
  }
  return 0;
}

// Gone for good: not a process, not even a zombie (kill(pid, 0) succeeds on a zombie).
bool gone(pid_t pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }

// Killed: gone, or a zombie waiting to be reaped. On a loaded machine the kill can land a moment
// after the runner returns, so this waits up to 3 s; a process still running then fails the test.
bool killed(pid_t pid) {
  for (int i = 0; i < 300; ++i) {
    if (gone(pid)) return true;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z') return true;
    usleep(10000);
  }
  return false;
}

TEST(Runner, TimeoutKillsASetsidGrandchild) {
  test::TempDir dir;
  Command c;
  // A new session (so not in the child's process group) that keeps the pipes open, and a parent
  // that waits for it.
  c.shell = "setsid sh -c 'echo $$ > " + (dir / "pid").string() + "; exec sleep 40' & sleep 40";
  c.timeout = 1000ms;
  c.kill_grace = 500ms;
  auto o = run_local(c);
  std::cout << "[ measured ] setsid grandchild, 1 s timeout: returned after " << secs(o.elapsed) << " s\n";
  EXPECT_TRUE(o.timed_out);
  EXPECT_LT(o.elapsed, 2500ms);
  auto pid = pid_in(dir / "pid");
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(killed(pid)) << "the setsid grandchild " << pid << " survived the timeout";
}

TEST(Runner, TimeoutKillsAGrandchildWhoseParentLeft) {
  test::TempDir dir;
  Command c;
  // setsid -f forks and its parent exits at once: the grandchild is orphaned (kcat adopts it as
  // the subreaper) in a session of its own, ignoring SIGTERM.
  c.shell = "setsid -f sh -c 'trap \"\" TERM; echo $$ > " + (dir / "pid").string() +
            "; sleep 40; sleep 40' </dev/null >/dev/null 2>&1; sleep 40";
  c.timeout = 1000ms;
  c.kill_grace = 300ms;
  auto o = run_local(c);
  EXPECT_TRUE(o.timed_out);
  EXPECT_LT(o.elapsed, 2500ms);
  auto pid = pid_in(dir / "pid");
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(killed(pid)) << "the orphaned grandchild " << pid << " survived the timeout";
}

TEST(Runner, ExecToDevNullThenSleepStopsAtTheTimeout) {
  for (std::string redirect : {"exec >/dev/null", "exec >/dev/null 2>&1"}) {
    Command c;
    c.shell = redirect + "; sleep 40";
    c.timeout = 2000ms;
    auto o = run_local(c);
    std::cout << "[ measured ] `" << redirect << "; sleep 40`, 2 s timeout: returned after "
              << secs(o.elapsed) << " s\n";
    EXPECT_TRUE(o.timed_out) << redirect;
    EXPECT_GE(o.elapsed, 1900ms) << redirect;
    EXPECT_LT(o.elapsed, 3000ms) << redirect;
  }
}

TEST(Runner, AGrandchildHoldingStdoutDoesNotHangTheCall) {
  test::TempDir dir;
  Command c;
  c.shell = "sh -c 'echo $$ > " + (dir / "pid").string() + "; exec sleep 40' & echo started";
  c.kill_grace = 500ms;  // how long output is read after the child exited
  auto o = run_local(c);
  EXPECT_TRUE(o.ok()) << o.describe();
  EXPECT_EQ(o.out, "started\n");
  EXPECT_LT(o.elapsed, 2000ms);
  auto pid = pid_in(dir / "pid");
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(killed(pid)) << "the grandchild that held stdout was left running";
}

TEST(Runner, ADaemonThatLetGoOfThePipesIsLeftAloneAndReapedLater) {
  test::TempDir dir;
  Command c;
  c.shell =
      "setsid -f sh -c 'echo $$ > " + (dir / "pid").string() + "; exec sleep 30' </dev/null >/dev/null 2>&1";
  auto o = run_local(c);
  EXPECT_TRUE(o.ok()) << o.describe();
  EXPECT_LT(o.elapsed, 10000ms) << "the daemon's 30 s were waited for";  // loose: CI machines are busy
  auto pid = pid_in(dir / "pid");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0) << "a daemon such as ssh's ControlMaster must survive the command";
  ::kill(pid, SIGKILL);
  // The next run reaps what the earlier runs left behind once it has exited; on a loaded machine
  // the killed daemon may take a moment to become a zombie, so give it a few runs.
  Command next;
  next.argv = {"true"};
  for (int i = 0; i < 50 && !gone(pid); ++i) {
    usleep(50000);
    run_local(next);
  }
  EXPECT_TRUE(gone(pid)) << "kcat adopted the daemon and left its zombie";
}

// A daemon whose environment kcat cannot read (it cleared it, or it was read mid-exec or after
// it died) is still kcat's adopted child: once it has exited, the next run reaps it. Before, only
// children whose environment showed a finished run's token were reaped, so this one stayed a
// zombie for good (the CI failure of stop 23 was the mid-exec case).
TEST(Runner, AnAdoptedZombieWithoutAReadableTokenIsReaped) {
  test::TempDir dir;
  Command c;
  c.shell = "setsid -f env -i sh -c 'echo $$ > " + (dir / "pid").string() +
            "; exec sleep 30' </dev/null >/dev/null 2>&1";
  auto o = run_local(c);
  EXPECT_TRUE(o.ok()) << o.describe();
  auto pid = pid_in(dir / "pid");
  ASSERT_GT(pid, 0);
  ::kill(pid, SIGKILL);
  Command next;
  next.argv = {"true"};
  for (int i = 0; i < 100 && !gone(pid); ++i) {
    usleep(50000);
    run_local(next);
  }
  EXPECT_TRUE(gone(pid)) << "the killed daemon was left a zombie";
}

TEST(Runner, StdinData) {
  Command c;
  c.argv = {"sh", "-c", "read a; read b; echo got:$a,$b"};
  c.input = Input::data;
  c.input_data = "one\ntwo\n";
  auto o = run_local(c);
  EXPECT_TRUE(o.ok()) << o.describe();
  EXPECT_EQ(o.out, "got:one,two\n");
  Command null;
  null.argv = {"cat"};  // stdin is /dev/null by default: cat ends at once
  null.timeout = 5000ms;
  auto n = run_local(null);
  EXPECT_TRUE(n.ok()) << n.describe();
  EXPECT_EQ(n.out, "");
}

TEST(Runner, AChildThatIgnoresItsStdinDoesNotBlockTheWriter) {
  Command c;
  c.argv = {"true"};
  c.input = Input::data;
  c.input_data.assign(size_t{8} << 20, 'x');
  auto o = run_local(c);
  EXPECT_TRUE(o.ok()) << o.describe();
}

TEST(Runner, EnvRemoveDropsNamesAndPrefixes) {
  ::setenv("KCAT_TEST_SECRET_KEY", "s3cret", 1);
  ::setenv("KCAT_TEST_PFX_A", "a", 1);
  ::setenv("KCAT_TEST_PFX_B", "b", 1);
  ::setenv("KCAT_TEST_KEPT", "kept", 1);
  Command c;
  c.argv = {"env"};
  c.env_remove = {"KCAT_TEST_SECRET_KEY", "KCAT_TEST_PFX_*"};
  c.env = {{"KCAT_TEST_PFX_B", "set"}};  // env wins over env_remove
  auto o = run_local(c);
  ::unsetenv("KCAT_TEST_SECRET_KEY");
  ::unsetenv("KCAT_TEST_PFX_A");
  ::unsetenv("KCAT_TEST_PFX_B");
  ::unsetenv("KCAT_TEST_KEPT");
  ASSERT_TRUE(o.ok()) << o.describe();
  EXPECT_EQ(o.out.find("KCAT_TEST_SECRET_KEY"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("s3cret"), std::string::npos);
  EXPECT_EQ(o.out.find("KCAT_TEST_PFX_A"), std::string::npos);
  EXPECT_NE(o.out.find("KCAT_TEST_PFX_B=set\n"), std::string::npos);
  EXPECT_NE(o.out.find("KCAT_TEST_KEPT=kept\n"), std::string::npos);
}

TEST(Runner, CtrlCStopsTheChild) {
  cancel::reset();
  std::thread ctrl_c([] {
    std::this_thread::sleep_for(300ms);
    cancel::request();
  });
  Command c;
  c.shell = "sleep 40";
  auto o = run_local(c);
  ctrl_c.join();
  cancel::reset();
  EXPECT_TRUE(o.cancelled);
  EXPECT_FALSE(o.timed_out);
  EXPECT_FALSE(o.ok());
  EXPECT_LT(o.elapsed, 3000ms);
  EXPECT_NE(o.describe().find("cancelled"), std::string::npos) << o.describe();
}

TEST(Runner, NotCancellableIgnoresCtrlC) {
  cancel::request();
  Command c;
  c.shell = "sleep 0.3; exit 5";
  c.cancellable = false;
  auto o = run_local(c);
  cancel::reset();
  EXPECT_FALSE(o.cancelled);
  EXPECT_EQ(o.exit_code, 5);
}

TEST(Runner, AMissingProgramIsAClearError) {
  Command c;
  c.argv = {"kcat-no-such-program-xyz", "arg"};
  auto o = run_local(c);
  EXPECT_EQ(o.exit_code, 127);
  EXPECT_FALSE(o.ok());
  EXPECT_EQ(o.describe(), "cannot run kcat-no-such-program-xyz: not found on PATH");
  Command path;
  path.argv = {"/nonexistent/kcat-tool"};
  auto p = run_local(path);
  EXPECT_EQ(p.exit_code, 127);
  EXPECT_NE(p.describe().find("cannot run /nonexistent/kcat-tool"), std::string::npos) << p.describe();
  Command cwd;
  cwd.argv = {"true"};
  cwd.cwd = "/nonexistent-kcat-dir";
  auto w = run_local(cwd);
  EXPECT_FALSE(w.ok());
  EXPECT_NE(w.describe().find("/nonexistent-kcat-dir"), std::string::npos) << w.describe();
}

TEST(Runner, ProgramRunsInPlaceOfArgv0) {
  Command c;
  c.program = "/bin/sh";
  c.argv = {"my-name", "-c", "echo $0"};
  auto o = run_local(c);
  EXPECT_EQ(o.out, "my-name\n");
}

TEST(Runner, OutputCapsKeepTheTailOfEachStream) {
  Command c;
  c.shell = "seq 1 5000; seq 1 5000 >&2";
  c.output_cap = 10;
  size_t streamed = 0;
  c.on_output = [&](std::string_view chunk, bool) { streamed += chunk.size(); };
  auto o = run_local(c);
  EXPECT_TRUE(o.truncated);
  EXPECT_EQ(o.out.size(), 10u);
  EXPECT_EQ(o.out.substr(o.out.size() - 5), "5000\n");
  EXPECT_EQ(o.err.size(), 10u);
  EXPECT_EQ(o.err.substr(o.err.size() - 5), "5000\n");
  EXPECT_EQ(streamed, 2 * 23893u);  // every byte still streams: `seq 1 5000 | wc -c`
}

TEST(Runner, TenMegabytesThroughStdinAndStdoutDoNotDeadlock) {
  Command c;
  c.argv = {"cat"};
  c.input = Input::data;
  c.input_data.reserve(size_t{10} << 20);
  for (size_t i = 0; c.input_data.size() < (size_t{10} << 20); ++i) c.input_data += std::to_string(i) + "\n";
  c.output_cap = size_t{16} << 20;
  c.timeout = 60s;
  auto o = run_local(c);
  EXPECT_TRUE(o.ok()) << o.describe();
  EXPECT_FALSE(o.truncated);
  EXPECT_EQ(o.out.size(), c.input_data.size());
  EXPECT_TRUE(o.out == c.input_data);
  Command big;
  big.shell = "head -c 10000000 /dev/zero; head -c 10000000 /dev/zero >&2";  // both pipes at once
  big.timeout = 60s;
  auto b = run_local(big);
  EXPECT_TRUE(b.ok()) << b.describe();
  EXPECT_TRUE(b.truncated);
  EXPECT_EQ(b.out.size(), big.output_cap);
  EXPECT_EQ(b.err.size(), big.output_cap);
}

TEST(Runner, InheritedStdinKeepsTheChildInKcatsProcessGroupAndStillTimesOut) {
  Command c;
  c.shell = "ps -o pgid= -p $$; sleep 40";
  c.input = Input::inherit;
  c.timeout = 500ms;
  c.kill_grace = 300ms;
  auto o = run_local(c);
  EXPECT_TRUE(o.timed_out);
  EXPECT_LT(o.elapsed, 2000ms);
  EXPECT_EQ(std::atoi(o.out.c_str()), static_cast<int>(::getpgrp()));
}

}  // namespace
}  // namespace kcat::exec
