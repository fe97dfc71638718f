// The ssh Runner against a real sshd on 127.0.0.1, started by the test with its own host key and
// an authorized key in a temp dir.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "kcat/exec/process.h"
#include "kcat/exec/shell_quote.h"
#include "testsupport/sshd.h"
#include "testsupport/support.h"

namespace kcat::exec {

TEST(ShellQuote, HardStringsSurviveTheShell) {
  for (std::string s : {"plain", "two words", "it's", "$HOME `id` \"q\"", "new\nline", "", "a'b'c", "*?[]"}) {
    auto r = test::run({"/bin/sh", "-c", "printf %s " + shell_quote(s)});
    EXPECT_EQ(r.out, s);
  }
}

namespace {}  // namespace

TEST(SshRunner, RunsRemotelyWithCwdEnvAndExitCode) {
  if (!std::filesystem::exists("/usr/sbin/sshd"))
    GTEST_SKIP() << "no /usr/sbin/sshd (tools/install.sh --test installs openssh-server)";
  test::Sshd sshd;
  ASSERT_TRUE(sshd.ok()) << "sshd did not start";
  auto user = std::string(getenv("USER") ? getenv("USER") : "root");
  auto r = ssh_runner(user + "@127.0.0.1", sshd.args());
  EXPECT_EQ(r->describe(), "ssh " + user + "@127.0.0.1");
  Command c;
  c.shell = "echo \"$KCAT_X in $(pwd)\"; exit 4";
  c.cwd = sshd.dir().path();
  c.env = {{"KCAT_X", "it's 42"}};
  auto o = r->run(c);
  EXPECT_EQ(o.exit_code, 4) << o.err;
  EXPECT_EQ(o.out, "it's 42 in " + sshd.dir().path().string() + "\n");
  Command argv;
  argv.argv = {"printf", "%s", "a b"};
  EXPECT_EQ(r->run(argv).out, "a b");
}

// Test support: when a test's sshd ends, so do its connections (kcat's multiplexed ssh master
// would otherwise stay for ControlPersist=60 s, and a later sshd on the same port would be reached
// through it: test shards run side by side).
TEST(SshRunner, TheTestSshdTakesItsConnectionsWithIt) {
  if (!std::filesystem::exists("/usr/sbin/sshd"))
    GTEST_SKIP() << "no /usr/sbin/sshd (tools/install.sh --test installs openssh-server)";
  std::vector<int> sessions;
  {
    test::Sshd sshd;
    ASSERT_TRUE(sshd.ok()) << "sshd did not start";
    auto r = ssh_runner(test::Sshd::user() + "@127.0.0.1", sshd.args());
    Command c;
    c.shell = "true";
    ASSERT_EQ(r->run(c).exit_code, 0);
    auto listener = test::sh("pgrep -f '" + (sshd.dir() / "sshd_config").string() + "'").out;
    std::ifstream children("/proc/" + std::to_string(std::atoi(listener.c_str())) + "/task/" +
                           std::to_string(std::atoi(listener.c_str())) + "/children");
    for (int child = 0; children >> child;) sessions.push_back(child);
    ASSERT_FALSE(sessions.empty()) << "no session process under the sshd (the connection is multiplexed)";
  }
  for (int pid : sessions) {
    for (int i = 0; i < 100 && test::process_alive(pid); ++i) usleep(50000);
    EXPECT_FALSE(test::process_alive(pid)) << "session " << pid << " outlived its sshd";
  }
}

TEST(SshRunner, AnUnreachableHostSaysWhatToCheck) {
  auto r = ssh_runner("nobody@127.0.0.1", {"-p", std::to_string(test::free_port()), "-o",
                                           "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"});
  Command c;
  c.shell = "true";
  auto o = r->run(c);
  EXPECT_EQ(o.exit_code, 255);
  EXPECT_NE(o.err.find("BatchMode"), std::string::npos) << o.err;
}

}  // namespace kcat::exec

namespace kcat::exec {

TEST(SshRunner, ARefusedConnectionSaysCouldNotConnect) {
  auto r = ssh_runner("nobody@127.0.0.1", {"-p", std::to_string(test::free_port()), "-o",
                                           "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"});
  Command c;
  c.shell = "true";
  auto o = r->run(c);
  EXPECT_EQ(o.exit_code, 255);
  EXPECT_NE(o.err.find("kcat: could not connect to nobody@127.0.0.1"), std::string::npos) << o.err;
}

}  // namespace kcat::exec
