#include "testsupport/sshd.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace kcat::test {

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

bool Sshd::available() { return std::filesystem::exists("/usr/sbin/sshd"); }

std::string Sshd::user() {
  const char* u = std::getenv("USER");
  return u && *u ? u : "root";
}

// Waits until this sshd says it listens on its port (its log, not a connect: a connect could
// reach another process that took the port since free_port(), such as a test shard beside this
// one). False when it exited (the port was taken) or never got there (a slow machine: ~10 s).
bool Sshd::listening() {
  auto log = dir_ / "sshd.log";
  const std::string mark = "Server listening on 127.0.0.1 port " + std::to_string(port_) + ".";
  for (int i = 0; i < 400; ++i) {
    std::error_code ec;
    if (std::filesystem::exists(log, ec) && read(log).find(mark) != std::string::npos) return true;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

Sshd::Sshd() : port_(0) {
  auto d = dir_.path().string();
  if (sh("ssh-keygen -q -t ed25519 -N '' -f " + d + "/host && ssh-keygen -q -t ed25519 -N '' -f " + d +
         "/client && cp " + d + "/client.pub " + d + "/authorized_keys && chmod 600 " + d +
         "/authorized_keys")
          .exit_code != 0) {
    return;
  }
  // sshd refuses to start without its privilege-separation directory.
  std::error_code ec;
  std::filesystem::create_directories("/run/sshd", ec);
  // A port free a moment ago may be taken before sshd binds it: then another port.
  for (int attempt = 0; attempt < 5 && !ok_; ++attempt) {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    port_ = free_port();
    write(dir_ / "sshd_config",
          "Port " + std::to_string(port_) + "\nListenAddress 127.0.0.1\nHostKey " + d +
              "/host\nAuthorizedKeysFile " + d +
              "/authorized_keys\nPermitRootLogin yes\n"
              "StrictModes no\nUsePAM no\nPasswordAuthentication no\nLogLevel INFO\nPidFile " +
              d + "/pid\n");
    pid_ = fork();
    if (pid_ == 0) {
      int log = open((d + "/sshd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (log >= 0) dup2(log, 2);
      execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", (d + "/sshd_config").c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    ok_ = pid_ > 0 && listening();
  }
}

Sshd::~Sshd() {
  if (pid_ > 0) {
    // Its connections first: sshd's listener exits on SIGTERM and leaves each session process
    // (and so kcat's multiplexed ssh master, ControlPersist=60) running. A later Sshd given the same
    // port would then be reached through that old connection instead of its own sshd.
    std::ifstream children("/proc/" + std::to_string(pid_) + "/task/" + std::to_string(pid_) + "/children");
    for (int child = 0; children >> child;) kill(child, SIGTERM);
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
}

std::vector<std::string> Sshd::args() const {
  return {"-p", std::to_string(port_),
          "-i", (dir_ / "client").string(),
          "-o", "StrictHostKeyChecking=no",
          "-o", "UserKnownHostsFile=/dev/null",
          "-o", "LogLevel=ERROR"};
}

}  // namespace kcat::test
