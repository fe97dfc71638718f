#include "kcat/core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <utility>

#include "kcat/core/error.h"
#include "kcat/core/fault.h"

namespace kcat {

std::string read_file(const fs::path& path) {
  // O_NONBLOCK so opening a FIFO does not wait for a writer; reads then block as usual (a FIFO
  // that has no writer reads as end of file).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    throw Error(ErrorKind::Io, "cannot read file: " + std::string(std::strerror(errno)), path.string(),
                "check that the file exists and is readable");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  // One buffer of the file's size and (mostly) one read; pipes and /proc files grow as they come.
  struct stat st {};
  std::string out;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  size_t have = 0;
  while (true) {
    ssize_t n;
    if (out.capacity() > have) {
      out.resize(out.capacity());
      n = ::read(fd, out.data() + have, out.size() - have);
      if (n > 0) have += static_cast<size_t>(n);
      out.resize(have);
      if (n > 0) continue;
    } else {
      n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        have = out.size();
        continue;
      }
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(ErrorKind::Io, "cannot read file: " + std::string(std::strerror(err)), path.string(),
                  "check that the file exists and is readable");
    }
    break;
  }
  ::close(fd);
  return out;
}

void write_file_atomic(const fs::path& path, std::string_view bytes, std::optional<fs::perms> mode) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  auto st = fs::status(path, ec);
  fs::perms perms = mode.value_or(fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                  fs::perms::others_read);
  if (!ec && fs::exists(st)) perms = st.permissions();

  std::random_device rd;
  auto tmp = path;
  tmp += ".kcat-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(ErrorKind::Io, "cannot create temporary file: " + std::string(std::strerror(errno)),
                tmp.string(), "check that the directory is writable");
  }
  const char* p = bytes.data();
  size_t left = bytes.size();
  int injected = fault::before_write(path.string());
  while (left > 0 || injected) {
    ssize_t n = injected ? -1 : ::write(fd, p, left);
    if (injected) errno = std::exchange(injected, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(ErrorKind::Io, "cannot write file: " + std::string(std::strerror(err)), path.string());
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::Io, "cannot flush file: " + std::string(std::strerror(err)), path.string());
  }
  fs::permissions(tmp, perms, ec);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(ErrorKind::Io, "cannot replace file: " + std::string(std::strerror(err)), path.string());
  }
}

void write_output(const fs::path& path, std::string_view bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode)) {
    std::error_code ec;
    auto target = fs::is_symlink(fs::symlink_status(path, ec)) ? fs::canonical(path, ec) : path;
    write_file_atomic(ec ? path : target, bytes);
    return;
  }
  if (S_ISDIR(st.st_mode)) throw Error(ErrorKind::Io, "is a directory", path.string(), "name a file");
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int err = errno;
    if (err == ENXIO)
      throw Error(ErrorKind::Io, "a pipe with no reader", path.string(), "start its reader first");
    throw Error(ErrorKind::Io, "cannot open for writing: " + std::string(std::strerror(err)), path.string());
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  for (size_t off = 0; off < bytes.size();) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      throw Error(ErrorKind::Io, "cannot write: " + std::string(std::strerror(err)), path.string());
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

std::optional<fs::path> resolve_within(const fs::path& root, const fs::path& path) {
  std::error_code ec;
  auto croot = fs::weakly_canonical(root, ec);
  if (ec) return std::nullopt;
  auto full = path.is_absolute() ? path : croot / path;
  auto cpath = fs::weakly_canonical(full, ec);
  if (ec) return std::nullopt;
  auto r = croot.lexically_normal().string();
  auto p = cpath.lexically_normal().string();
  if (p == r) return cpath;
  if (!r.empty() && r.back() != '/') r += '/';
  if (p.compare(0, r.size(), r) != 0) return std::nullopt;
  return cpath;
}

std::vector<std::string> repository_files(const fs::path& root, const fs::path& under) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(under.empty() ? root : under,
                                      fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec)) continue;
    if (it->is_directory(ec)) {
      auto name = it->path().filename().string();
      if ((!name.empty() && name[0] == '.') || name == "__pycache__" || name == "node_modules") {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (it->is_regular_file(ec)) out.push_back(relative_slash(root, it->path()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string relative_slash(const fs::path& root, const fs::path& path) {
  return path.lexically_relative(root).generic_string();
}

fs::path user_dir(UserDir kind) {
  static constexpr std::pair<const char*, const char*> kWhere[] = {
      {"XDG_CONFIG_HOME", ".config"}, {"XDG_STATE_HOME", ".local/state"}, {"XDG_CACHE_HOME", ".cache"}};
  const auto& [variable, fallback] = kWhere[static_cast<int>(kind)];
  if (const char* x = std::getenv(variable); x && *x == '/') return x;
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / fallback;
  return {};
}

fs::path user_cache_dir(const fs::path& root) {
  fs::path base = user_dir(UserDir::Cache);
  if (base.empty()) return {};
  std::error_code ec;
  auto real = fs::canonical(root, ec);
  if (ec) real = fs::absolute(root);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx",
                static_cast<unsigned long long>(std::hash<std::string>{}(real.string())));
  auto name = real.filename().string();
  return base / "kcat" / ((name.empty() ? std::string("root") : name) + "-" + hash);
}

std::string self_stamp() {
  struct stat st {};
  if (::stat("/proc/self/exe", &st) != 0) return "unknown";
  return std::to_string(st.st_size) + ":" + std::to_string(nanoseconds(st.st_mtim));
}

}  // namespace kcat
