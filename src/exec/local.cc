// The local Runner, kcat's one way to start a process: posix_spawn (nothing of kcat runs in the
// child between fork and exec), pipes drained with poll(), stdin fed from memory, and a stop
// (timeout, Ctrl-C, or output still held open after the child exited) that reaches every process
// of the run however it detached (tree.h): SIGTERM, then SIGKILL after the grace.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "kcat/core/cancel.h"
#include "kcat/core/secrets.h"
#include "kcat/exec/process.h"
#include "tree.h"

extern char** environ;

namespace kcat::exec {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Appends to a stream's buffer keeping at most `cap` bytes: the tail, where errors are.
void keep_tail(std::string& buf, std::string_view chunk, size_t cap, bool& truncated) {
  if (chunk.size() >= cap) {
    truncated = truncated || !buf.empty() || chunk.size() > cap;
    buf.assign(chunk.substr(chunk.size() - cap));
    return;
  }
  buf.append(chunk);
  if (buf.size() > cap) {
    buf.erase(0, buf.size() - cap);
    truncated = true;
  }
}

struct Fd {
  int fd = -1;
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

bool make_pipe(Fd& r, Fd& w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  r.fd = p[0];
  w.fd = p[1];
  return true;
}

bool removed(const std::string& name, const std::vector<std::string>& remove) {
  for (const auto& r : remove) {
    if (!r.empty() && r.back() == '*') {
      if (name.compare(0, r.size() - 1, r, 0, r.size() - 1) == 0) return true;
    } else if (name == r) {
      return true;
    }
  }
  return false;
}

bool secret(const std::string& name, std::string_view value) {
  auto names = secrets::env_names();
  auto values = secrets::values();
  return std::find(names.begin(), names.end(), name) != names.end() ||
         std::find(values.begin(), values.end(), value) != values.end();
}

// kcat's environment minus env_remove and (unless kept) kcat's credentials, plus env, plus the
// run's token.
std::vector<std::string> child_environment(const Command& cmd, const std::string& token) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    std::string name(kv.substr(0, eq));
    if (name == tree::kTokenVariable || cmd.env.count(name) || removed(name, cmd.env_remove)) continue;
    if (!cmd.keep_secrets && secret(name, kv.substr(eq + 1))) continue;
    out.emplace_back(kv);
  }
  for (const auto& [k, v] : cmd.env) out.push_back(k + "=" + v);
  out.push_back(std::string(tree::kTokenVariable) + "=" + token);
  return out;
}

std::string lookup(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& kv : env) {
    if (kv.size() > name.size() && kv.compare(0, name.size(), name) == 0 && kv[name.size()] == '=')
      return kv.substr(name.size() + 1);
  }
  return {};
}

// write() without SIGPIPE for kcat when the child closed its stdin: EPIPE instead.
ssize_t write_quietly(int fd, const char* p, size_t n) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t w = ::write(fd, p, n);
  int saved = errno;
  if (w < 0 && saved == EPIPE) {
    timespec zero{};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return w;
}

double seconds(milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

class LocalRunner : public Runner {
 public:
  Outcome run(const Command& cmd) override;
  std::string describe() const override { return "local"; }
};

Outcome failed(Outcome& out, std::string why, int code, Clock::time_point t0) {
  out.exit_code = code;
  out.error = std::move(why);
  out.err = "kcat: " + out.error + "\n";
  out.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  return out;
}

// posix_spawn with the child's stdin, stdout and stderr, cwd, default signals and, unless it
// reads the terminal, a process group of its own. Returns posix_spawn's error (0: started).
int spawn_child(const Command& cmd, const std::string& program, std::vector<std::string>& argv,
                std::vector<std::string>& env, const Fd& in_r, const Fd& out_w, const Fd& err_w, bool capture,
                bool own_group, pid_t& pid) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (cmd.input == Input::null) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (cmd.input == Input::data) posix_spawn_file_actions_adddup2(&fa, in_r.fd, 0);
  if (capture) {
    posix_spawn_file_actions_adddup2(&fa, out_w.fd, 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.fd, 2);
  }
  if (!cmd.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cmd.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  for (int s : {SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGHUP, SIGCHLD}) sigaddset(&defaults, s);
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  if (own_group) {
    flags |= POSIX_SPAWN_SETPGROUP;  // its own group: a stop reaches what it starts
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  std::vector<char*> args, envp;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int rc = posix_spawn(&pid, program.c_str(), &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

// After the loop: the direct child is reaped, then whatever a stop killed and kcat adopted.
void reap_all(pid_t pid, std::set<pid_t> members, const std::string& token, Outcome& out) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // A zombie still answers kill(pid, 0): reap what the stop killed now.
  for (auto until = Clock::now() + milliseconds(500); !members.empty() && Clock::now() < until;) {
    members = tree::reap(members);
    if (!members.empty()) ::usleep(5000);
  }
  tree::end_run(token, pid);
  tree::collect_leftovers();
  if (WIFEXITED(status)) out.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
}

Outcome LocalRunner::run(const Command& cmd) {
  Outcome out;
  const auto t0 = Clock::now();
  tree::become_subreaper();
  std::vector<std::string> argv = cmd.argv;
  if (argv.empty()) argv = {"/bin/sh", "-c", cmd.shell};
  if (argv[0].empty() && cmd.program.empty())
    return failed(out, "nothing to run (an empty command)", 127, t0);
  const std::string token = tree::new_token();
  auto env = child_environment(cmd, token);

  std::error_code ec;
  if (!cmd.cwd.empty() && !std::filesystem::is_directory(cmd.cwd, ec)) {
    return failed(out, fmt::format("cannot enter {}: not a directory", cmd.cwd.string()), 126, t0);
  }
  // A name is looked up on the child's PATH here; a path (relative to the child's cwd) is for
  // posix_spawn to open.
  std::string program = cmd.program.empty() ? argv[0] : cmd.program.string();
  if (program.find('/') == std::string::npos) {
    auto found = find_program(program, lookup(env, "PATH").c_str());
    if (!found) return failed(out, fmt::format("cannot run {}: not found on PATH", program), 127, t0);
    program = found->string();
  }

  const bool capture = !cmd.inherit_output;
  const bool own_group = cmd.input != Input::inherit;
  Fd in_r, in_w, out_r, out_w, err_r, err_w;
  if ((cmd.input == Input::data && !make_pipe(in_r, in_w)) ||
      (capture && (!make_pipe(out_r, out_w) || !make_pipe(err_r, err_w)))) {
    return failed(out, fmt::format("pipe: {}", std::strerror(errno)), 127, t0);
  }

  auto spawn = [&](pid_t& child) {
    return spawn_child(cmd, program, argv, env, in_r, out_w, err_w, capture, own_group, child);
  };
  pid_t pid = 0;
  if (int rc = tree::begin_run(token, spawn, pid); rc != 0)
    return failed(out, fmt::format("cannot run {}: {}", argv[0], std::strerror(rc)), 127, t0);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  const pid_t pgid = own_group ? pid : 0;
  Fd pidfd;  // readable when the child exits; without it (old kernels) a short tick
  pidfd.fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));

  size_t in_off = 0;
  if (in_w.fd >= 0) {
    ::fcntl(in_w.fd, F_SETFL, O_NONBLOCK);
    if (cmd.input_data.empty()) in_w.reset();
  }
  bool exited = false;  // seen with WNOWAIT: still a zombie, so its pid and group stay ours
  Clock::time_point exited_at{}, term_at{};
  bool term_sent = false, kill_sent = false;
  std::set<pid_t> members;
  // The direct child is signalled, never in `members`: only the final waitpid reaps it.
  auto stop = [&](int sig) {
    members = tree::members(exited ? 0 : pid, pgid, token, members);
    members.erase(pid);
    if (pgid > 0) ::kill(-pgid, sig);
    if (!exited) ::kill(pid, sig);
    for (pid_t p : members) ::kill(p, sig);
  };
  char buf[65536];
  for (;;) {
    auto now = Clock::now();
    if (!exited) {
      siginfo_t si{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          si.si_pid == pid) {
        exited = true;
        exited_at = now;
        pidfd.reset();
      }
    }
    const bool reading = out_r.fd >= 0 || err_r.fd >= 0;
    if (!term_sent) {
      bool timeout = cmd.timeout.count() > 0 && now - t0 >= cmd.timeout;
      bool cancelled = cmd.cancellable && cancel::requested();
      bool held = exited && reading && now - exited_at >= cmd.kill_grace;  // a grandchild holds the pipes
      if (!exited && timeout) out.timed_out = true;
      if (!exited && cancelled && !timeout) out.cancelled = true;
      if ((!exited && (timeout || cancelled)) || held) {
        stop(SIGTERM);
        term_sent = true;
        term_at = now;
        if (held) {  // the command is over: what it left behind is not read any more
          out_r.reset();
          err_r.reset();
        }
        continue;
      }
    } else if (!kill_sent && now - term_at >= cmd.kill_grace) {
      stop(SIGKILL);
      kill_sent = true;
      continue;
    }
    if (term_sent) members = tree::reap(members);
    if (exited && (!reading || kill_sent) && (!term_sent || kill_sent || members.empty())) break;

    // Sleep until output, stdin room, the child's exit, or the next deadline.
    pollfd fds[4];
    int n = 0, i_out = -1, i_err = -1, i_in = -1;
    if (out_r.fd >= 0) fds[i_out = n++] = {out_r.fd, POLLIN, 0};
    if (err_r.fd >= 0) fds[i_err = n++] = {err_r.fd, POLLIN, 0};
    if (in_w.fd >= 0) fds[i_in = n++] = {in_w.fd, POLLOUT, 0};
    if (pidfd.fd >= 0) fds[n++] = {pidfd.fd, POLLIN, 0};
    milliseconds wait{-1};
    auto until = [&](Clock::time_point t) {
      auto d = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(t - now) + milliseconds(1));
      wait = wait.count() < 0 ? d : std::min(wait, d);
    };
    if (!term_sent && !exited && cmd.timeout.count() > 0) until(t0 + cmd.timeout);
    if (!term_sent && exited && reading) until(exited_at + cmd.kill_grace);
    if (term_sent && !kill_sent) until(term_at + cmd.kill_grace);
    if (term_sent) until(now + milliseconds(20));  // watching the processes go
    if (!term_sent && !exited && cmd.cancellable) until(now + milliseconds(100));
    if (!exited && pidfd.fd < 0) until(now + milliseconds(10));
    if (kill_sent) until(now + milliseconds(10));
    int rc2 = ::poll(fds, static_cast<nfds_t>(n), static_cast<int>(wait.count()));
    if (rc2 < 0 && errno != EINTR) break;
    if (rc2 <= 0) continue;
    for (int i : {i_out, i_err}) {
      if (i < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Fd& fd = i == i_out ? out_r : err_r;
      ssize_t got = ::read(fd.fd, buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        fd.reset();
        continue;
      }
      std::string_view chunk(buf, static_cast<size_t>(got));
      keep_tail(i == i_out ? out.out : out.err, chunk, cmd.output_cap, out.truncated);
      if (cmd.on_output) cmd.on_output(chunk, i == i_err);
    }
    if (i_in >= 0 && (fds[i_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write_quietly(in_w.fd, cmd.input_data.data() + in_off, cmd.input_data.size() - in_off);
      if (w > 0) in_off += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off >= cmd.input_data.size()) in_w.reset();
    }
  }
  out_r.reset();
  err_r.reset();
  in_w.reset();
  reap_all(pid, members, token, out);
  out.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  return out;
}

}  // namespace

std::string Outcome::describe() const {
  if (!error.empty()) return error;
  if (timed_out) return fmt::format("timed out after {:.1f} s", seconds(elapsed));
  if (cancelled) return fmt::format("cancelled after {:.1f} s", seconds(elapsed));
  if (signal != 0) return fmt::format("killed by signal {} ({})", signal, strsignal(signal));
  return fmt::format("exit {}", exit_code);
}

std::unique_ptr<Runner> local_runner() { return std::make_unique<LocalRunner>(); }

Outcome run_local(const Command& cmd) { return LocalRunner().run(cmd); }

std::optional<std::filesystem::path> find_program(const std::string& name, const char* path_env) {
  auto executable = [](const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos) {
    if (executable(name)) return std::filesystem::path(name);
    return std::nullopt;
  }
  std::string path = path_env && *path_env ? path_env : (std::getenv("PATH") ? std::getenv("PATH") : "");
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  for (size_t pos = 0; pos <= path.size();) {
    size_t colon = path.find(':', pos);
    if (colon == std::string::npos) colon = path.size();
    std::string dir = path.substr(pos, colon - pos);
    auto candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (executable(candidate)) return std::filesystem::path(candidate);
    pos = colon + 1;
  }
  return std::nullopt;
}

}  // namespace kcat::exec
