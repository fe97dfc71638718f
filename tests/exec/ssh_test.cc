// The ssh Runner against a real sshd on 127.0.0.1, started by the test with its own host key and
// an authorized key in a temp dir.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "kcat/exec/process.h"
#include "kcat/exec/shell_quote.h"
#include "testsupport/support.h"

namespace kcat::exec {

TEST(ShellQuote, HardStringsSurviveTheShell) {
  for (std::string s : {"plain", "two words", "it's", "$HOME `id` \"q\"", "new\nline", "", "a'b'c", "*?[]"}) {
    auto r = test::run({"/bin/sh", "-c", "printf %s " + shell_quote(s)});
    EXPECT_EQ(r.out, s);
  }
}

namespace {

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

struct Sshd {
  test::TempDir dir;
  int port = free_port();
  pid_t pid = -1;
  bool ok = false;
  Sshd() {
    auto d = dir.path().string();
    if (test::sh("ssh-keygen -q -t ed25519 -N '' -f " + d + "/host && ssh-keygen -q -t ed25519 -N '' -f " + d +
                 "/client && cp " + d + "/client.pub " + d + "/authorized_keys && chmod 600 " + d + "/authorized_keys")
            .exit_code != 0) {
      return;
    }
    test::write(dir / "sshd_config", "Port " + std::to_string(port) + "\nListenAddress 127.0.0.1\nHostKey " + d +
                                         "/host\nAuthorizedKeysFile " + d + "/authorized_keys\nPermitRootLogin yes\n"
                                         "StrictModes no\nUsePAM no\nPasswordAuthentication no\nPidFile " + d +
                                         "/pid\n");
    // sshd refuses to start without its privilege-separation directory.
    std::error_code ec;
    std::filesystem::create_directories("/run/sshd", ec);
    pid = fork();
    if (pid == 0) {
      int log = open((d + "/sshd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (log >= 0) dup2(log, 2);
      execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", (d + "/sshd_config").c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Wait until it accepts connections (a slow machine, not a timing assertion).
    for (int i = 0; i < 200 && !ok; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(static_cast<uint16_t>(port));
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      close(fd);
      if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
  ~Sshd() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
  std::vector<std::string> args() const {
    return {"-p", std::to_string(port), "-i", (dir / "client").string(), "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"};
  }
};

}  // namespace

TEST(SshRunner, RunsRemotelyWithCwdEnvAndExitCode) {
  if (!std::filesystem::exists("/usr/sbin/sshd")) GTEST_SKIP() << "no /usr/sbin/sshd (tools/install.sh --test installs openssh-server)";
  Sshd sshd;
  ASSERT_TRUE(sshd.ok) << "sshd did not start";
  auto user = std::string(getenv("USER") ? getenv("USER") : "root");
  auto r = ssh_runner(user + "@127.0.0.1", sshd.args());
  EXPECT_EQ(r->describe(), "ssh " + user + "@127.0.0.1");
  Command c;
  c.shell = "echo \"$KCAT_X in $(pwd)\"; exit 4";
  c.cwd = sshd.dir.path();
  c.env = {{"KCAT_X", "it's 42"}};
  auto o = r->run(c);
  EXPECT_EQ(o.exit_code, 4) << o.err;
  EXPECT_EQ(o.out, "it's 42 in " + sshd.dir.path().string() + "\n");
  Command argv;
  argv.argv = {"printf", "%s", "a b"};
  EXPECT_EQ(r->run(argv).out, "a b");
}

TEST(SshRunner, AnUnreachableHostSaysWhatToCheck) {
  auto r = ssh_runner("nobody@127.0.0.1", {"-p", std::to_string(free_port()), "-o", "StrictHostKeyChecking=no",
                                            "-o", "UserKnownHostsFile=/dev/null"});
  Command c;
  c.shell = "true";
  auto o = r->run(c);
  EXPECT_EQ(o.exit_code, 255);
  EXPECT_NE(o.err.find("BatchMode"), std::string::npos) << o.err;
}

}  // namespace kcat::exec
