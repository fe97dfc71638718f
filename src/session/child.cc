#include "kcat/session/child.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <iostream>

namespace kcat::session {

int run_self(const std::vector<std::string>& args) {
  // Whatever the session printed must reach the terminal before the child writes.
  std::cout.flush();
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    std::vector<char*> argv;
    static char self[] = "kcat";
    argv.push_back(self);
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 127;  // EINTR: our own Ctrl-C handler ran; keep waiting for the child
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace kcat::session
