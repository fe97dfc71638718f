#include "testsupport/support.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace kcat::test {

TempDir::TempDir() {
  std::random_device rd;
  auto base = fs::temp_directory_path();
  for (int i = 0; i < 100; ++i) {
    auto p = base / ("kcat-test-" + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(p, ec)) {
      path_ = fs::canonical(p);
      return;
    }
  }
  throw std::runtime_error("cannot create temp dir");
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("KCAT_KEEP_TEMP") == nullptr) fs::remove_all(path_, ec);
}

void write(const fs::path& path, const std::string& bytes) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result run(const std::vector<std::string>& argv, const fs::path& cwd,
           const std::map<std::string, std::string>& env) {
  int out_pipe[2], err_pipe[2];
  // O_CLOEXEC: the pipe's own descriptors must not leak into grandchildren (a daemon such as a
  // tmux server would hold them open and we would never see end of file).
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    close(out_pipe[0]);
    close(err_pipe[0]);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(127);
    for (auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  Result r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Background::Background(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{kcat_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto e = env;
  e.emplace("KCAT_DATA_DIR", (source_dir() / "patches").string());
  e.emplace("NO_COLOR", "1");
  auto out = out_ / "out", err = out_ / "err";
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int r = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(devnull, 0);
    dup2(o, 1);
    dup2(r, 2);
    for (auto& [k, v] : e) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
}

Background::~Background() {
  if (!waited_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

Result Background::wait(int timeout_s) {
  Result r;
  int status = 0;
  for (int i = 0; i < timeout_s * 20; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      waited_ = true;
      break;
    }
    usleep(50000);
  }
  if (!waited_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    waited_ = true;
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read(out_ / "out");
  r.err = read(out_ / "err");
  return r;
}

bool wait_for_file(const fs::path& path, int timeout_s) {
  for (int i = 0; i < timeout_s * 20; ++i) {
    std::error_code ec;
    if (fs::exists(path, ec)) return true;
    usleep(50000);
  }
  return false;
}

bool process_alive(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

Result sh(const std::string& command, const fs::path& cwd) { return run({"/bin/sh", "-c", command}, cwd); }

fs::path source_dir() {
  if (const char* s = std::getenv("KCAT_SOURCE_DIR")) return s;
#ifdef KCAT_SOURCE_DIR
  return KCAT_SOURCE_DIR;
#else
  return fs::current_path();
#endif
}

bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && *ci;
}

fs::path fixtures_dir() { return source_dir() / "tests" / "fixtures"; }

fs::path kcat_binary() {
  if (const char* s = std::getenv("KCAT_BINARY")) return s;
#ifdef KCAT_BINARY
  return KCAT_BINARY;
#else
  return "kcat";
#endif
}

std::map<std::string, std::string> home_env(const fs::path& home,
                                            const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> e{{"HOME", home.string()},
                                       {"XDG_CONFIG_HOME", (home / ".config").string()},
                                       {"XDG_STATE_HOME", (home / ".local/state").string()},
                                       {"CI", ""},
                                       {"KCAT_LLM_BASE_URL", ""},
                                       {"KCAT_LLM_MODEL", ""},
                                       {"KCAT_LLM_API_KEY", ""},
                                       {"OPENAI_BASE_URL", ""},
                                       {"OPENAI_API_KEY", ""}};
  for (auto& [k, v] : extra) e[k] = v;
  return e;
}

Result kcat(const std::vector<std::string>& args, const fs::path& cwd,
            const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{kcat_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto e = env;
  e.emplace("KCAT_DATA_DIR", (source_dir() / "patches").string());
  e.emplace("NO_COLOR", "1");
  return run(argv, cwd, e);
}

void copy_tree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(
      from, to,
      fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing);
}

void git_init_commit(const fs::path& dir, const std::string& message) {
  auto r = run({"git", "init", "-q", "-b", "main"}, dir);
  if (r.exit_code != 0) throw std::runtime_error("git init failed: " + r.err);
  run({"git", "add", "-A"}, dir);
  r = run({"git", "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "-q", "-m", message},
          dir);
  if (r.exit_code != 0) throw std::runtime_error("git commit failed: " + r.err + r.out);
}

}  // namespace kcat::test
