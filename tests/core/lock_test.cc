#include "kcat/core/lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat {

namespace {

// Whether another process can take the lock: 0 it could, 1 it was refused naming our pid, 2 refused
// otherwise.
int other_process_tries(const std::filesystem::path& file) {
  pid_t pid = fork();
  if (pid == 0) {
    try {
      auto lock = RepoLock::acquire(file);
      _exit(0);
    } catch (const Error& e) {
      std::string msg = e.what();
      _exit(msg.find("pid " + std::to_string(getppid())) != std::string::npos ? 1 : 2);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(RepoLock, ASecondHolderIsRefusedNamingTheFirstUntilItLetsGo) {
  test::TempDir dir;
  auto file = dir / "git" / "kcat.lock";
  {
    auto lock = RepoLock::acquire(file);
    EXPECT_TRUE(lock.held());
    EXPECT_EQ(other_process_tries(file), 1);
    EXPECT_NE(test::read(file).find("command "), std::string::npos);
  }
  EXPECT_EQ(other_process_tries(file), 0);
}

TEST(RepoLock, ADeadHolderLeavesNoStaleLock) {
  test::TempDir dir;
  auto file = dir / "kcat.lock";
  pid_t pid = fork();
  if (pid == 0) {
    auto lock = RepoLock::acquire(file);
    _exit(0);  // dies holding it
  }
  int status = 0;
  waitpid(pid, &status, 0);
  auto lock = RepoLock::acquire(file);  // the content names the dead one; the kernel let go
  EXPECT_TRUE(lock.held());
}

}  // namespace kcat
