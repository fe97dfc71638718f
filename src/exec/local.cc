// The local Runner: fork/exec in a process group of its own, both pipes drained with poll(), a
// deadline that takes the whole group down (SIGTERM, then SIGKILL), and output kept up to a cap.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kcat/core/secrets.h"
#include "kcat/exec/process.h"

extern char** environ;

namespace kcat::exec {

namespace {

using Clock = std::chrono::steady_clock;

// Appends to a stream's buffer keeping at most `cap` bytes: the tail, where errors are.
void keep_tail(std::string& buf, std::string_view chunk, size_t cap, bool& truncated) {
  buf.append(chunk);
  if (buf.size() > cap) {
    buf.erase(0, buf.size() - cap);
    truncated = true;
  }
}

class LocalRunner : public Runner {
 public:
  Outcome run(const Command& cmd) override {
    Outcome out;
    auto t0 = Clock::now();
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0) return fail(out, "pipe: " + std::string(std::strerror(errno)));
    if (pipe2(err_pipe, O_CLOEXEC) != 0) {
      close(out_pipe[0]);
      close(out_pipe[1]);
      return fail(out, "pipe: " + std::string(std::strerror(errno)));
    }
    std::vector<std::string> argv = cmd.argv;
    if (argv.empty()) argv = {"/bin/sh", "-c", cmd.shell};
    // Built before fork(): the child only points environ at it (execvp searches its PATH).
    auto env = child_environment(cmd.env);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) return fail(out, "fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
      setpgid(0, 0);  // its own group: a timeout kills grandchildren too
      signal(SIGINT, SIG_DFL);
      signal(SIGPIPE, SIG_DFL);
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, 0);
      dup2(out_pipe[1], 1);
      dup2(err_pipe[1], 2);
      if (!cmd.cwd.empty() && chdir(cmd.cwd.c_str()) != 0) {
        dprintf(2, "kcat: cannot enter %s: %s\n", cmd.cwd.c_str(), std::strerror(errno));
        _exit(126);
      }
      environ = envp.data();
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      dprintf(2, "kcat: cannot run %s: %s\n", args[0], std::strerror(errno));
      _exit(127);
    }
    setpgid(pid, pid);  // also from the parent: no race with an early kill
    close(out_pipe[1]);
    close(err_pipe[1]);

    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    bool term_sent = false, kill_sent = false;
    Clock::time_point term_at{};
    char buf[65536];
    while (open_fds > 0) {
      int wait_ms = -1;
      auto now = Clock::now();
      if (cmd.timeout.count() > 0 && !kill_sent) {
        auto deadline = term_sent ? term_at + cmd.kill_grace : t0 + cmd.timeout;
        if (now >= deadline) {
          ::kill(-pid, term_sent ? SIGKILL : SIGTERM);
          out.timed_out = true;
          if (term_sent) {
            kill_sent = true;
          } else {
            term_sent = true;
            term_at = now;
          }
          continue;
        }
        wait_ms =
            static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) +
            1;
      }
      int rc = poll(fds, 2, wait_ms);
      if (rc < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
          continue;
        }
        std::string_view chunk(buf, static_cast<size_t>(n));
        keep_tail(i == 0 ? out.out : out.err, chunk, cmd.output_cap, out.truncated);
        if (cmd.on_output) cmd.on_output(chunk, i == 1);
      }
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    // Grandchildren that kept no pipe open may outlive the leader: a timeout takes them too.
    if (out.timed_out) ::kill(-pid, SIGKILL);
    if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
    out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
    return out;
  }

  std::string describe() const override { return "local"; }

 private:
  static Outcome fail(Outcome& out, const std::string& why) {
    out.exit_code = 127;
    out.err = "kcat: " + why + "\n";
    return out;
  }
};

}  // namespace

std::vector<std::string> child_environment(const std::map<std::string, std::string>& overlay) {
  auto names = secrets::env_names();
  auto values = secrets::values();
  auto contains = [](const std::vector<std::string>& v, std::string_view x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    auto name = entry.substr(0, eq);
    if (contains(names, name) || contains(values, entry.substr(eq + 1)) || overlay.count(std::string(name)))
      continue;
    out.emplace_back(entry);
  }
  for (auto& [k, v] : overlay) out.push_back(k + "=" + v);
  return out;
}

std::string Outcome::describe() const {
  if (timed_out)
    return fmt::format("timed out after {:.1f} s", static_cast<double>(elapsed.count()) / 1000.0);
  if (signal != 0) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exit {}", exit_code);
}

std::unique_ptr<Runner> local_runner() { return std::make_unique<LocalRunner>(); }

}  // namespace kcat::exec
