#pragma once
// One kcat at a time changes a repository. Every command that changes it (migrate, undo, optimize,
// the session's agent turns) holds an exclusive flock on one file (the git directory's kcat.lock)
// for as long as it works; a second one fails at once, naming the holder. The kernel drops the lock
// when its holder dies, however it dies, so a lock is never stale.
#include <filesystem>
#include <string>

namespace kcat {

class RepoLock {
 public:
  // Takes the lock on `file` (created if missing), and records in it this process's pid, command
  // line and start time. Throws Error(Environment) when another process holds it: the message
  // names that process's pid and command, the hint how to proceed.
  static RepoLock acquire(const std::filesystem::path& file);
  RepoLock() = default;
  RepoLock(RepoLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RepoLock& operator=(RepoLock&& o) noexcept;
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;
  ~RepoLock();
  bool held() const { return fd_ >= 0; }

 private:
  explicit RepoLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace kcat
