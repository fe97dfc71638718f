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
