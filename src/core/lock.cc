#include "kcat/core/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <sstream>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"

namespace kcat {

namespace {

std::string command_line() {
  std::string raw;
  try {
    raw = read_file("/proc/self/cmdline");
  } catch (const Error&) {
    return "kcat";
  }
  std::string out;
  bool first = true;
  for (std::string_view rest = raw; !rest.empty();) {
    auto end = rest.find('\0');
    auto arg = rest.substr(0, end);
    if (first) {
      auto slash = arg.rfind('/');
      if (slash != std::string_view::npos) arg = arg.substr(slash + 1);
    }
    out += (first ? "" : " ") + std::string(arg);
    first = false;
    if (end == std::string_view::npos) break;
    rest = rest.substr(end + 1);
  }
  return out;
}

std::string now_utc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// "pid N\ncommand ...\nsince ...\n" as the holder wrote it (a field may be missing if it is still
// writing).
std::string field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + " ", 0) == 0) return line.substr(key.size() + 1);
  }
  return {};
}

}  // namespace

RepoLock RepoLock::acquire(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(ErrorKind::Environment,
                "cannot open the repository lock: " + std::string(std::strerror(errno)), file.string(),
                "check that the repository is writable");
  }
  int rc;
  while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    int err = errno;
    std::string text(4096, '\0');
    auto n = ::pread(fd, text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    ::close(fd);
    if (err != EWOULDBLOCK) {
      throw Error(ErrorKind::Environment, "cannot lock the repository: " + std::string(std::strerror(err)),
                  file.string());
    }
    auto pid = field(text, "pid");
    auto cmd = field(text, "command");
    auto since = field(text, "since");
    throw Error(ErrorKind::Environment,
                "another kcat is changing this repository: pid " + (pid.empty() ? "?" : pid) +
                    (cmd.empty() ? "" : " (" + cmd + ")") + (since.empty() ? "" : ", since " + since),
                file.string(),
                "wait for it to finish, or stop it with `kill " + (pid.empty() ? "PID" : pid) +
                    "` (it rolls back the step in progress and says how to continue); two runs at once "
                    "would interleave their commits");
  }
  auto text =
      "pid " + std::to_string(::getpid()) + "\ncommand " + command_line() + "\nsince " + now_utc() + "\n";
  if (::ftruncate(fd, 0) == 0) {
    auto w = ::pwrite(fd, text.data(), text.size(), 0);
    (void)w;  // the holder's description is a courtesy; the flock is the lock
  }
  return RepoLock(fd);
}

RepoLock& RepoLock::operator=(RepoLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

RepoLock::~RepoLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace kcat
