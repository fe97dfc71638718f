// Sending a branch to a work tree on "another host": a temp dir on this machine reached through a
// real sshd on 127.0.0.1, started by the test with its own host key and an authorized key.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "kcat/core/error.h"
#include "kcat/exec/process.h"
#include "kcat/exec/sync.h"
#include "testsupport/sshd.h"
#include "testsupport/support.h"

namespace kcat::exec {

namespace {

// The sshd of ssh_test.cc, copied: a test helper shared by copy keeps the test files independent.

std::string user() { return getenv("USER") ? getenv("USER") : "root"; }

test::Result git(const std::filesystem::path& repo, std::vector<std::string> args) {
  args.insert(args.begin(), {"git", "-c", "user.name=Test", "-c", "user.email=test@example.com"});
  auto r = test::run(args, repo);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r;
}

std::string head(const std::filesystem::path& repo) {
  auto out = git(repo, {"rev-parse", "HEAD"}).out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

TEST(SyncBranch, TheRemoteWorkTreeFollowsCommitsRevertsAndDropsJunk) {
  if (!std::filesystem::exists("/usr/sbin/sshd")) {
    GTEST_SKIP() << "no /usr/sbin/sshd (tools/install.sh --test installs openssh-server)";
  }
  test::Sshd sshd;
  ASSERT_TRUE(sshd.ok()) << "sshd did not start";
  test::TempDir local_dir;
  auto repo = local_dir / "model";
  test::write(repo / "a.txt", "one\n");
  test::write(repo / ".gitignore", "build/\n");
  test::git_init_commit(repo);
  git(repo, {"checkout", "-q", "-b", "kcat/npu"});
  // A path the shell would split or expand, and that does not exist yet.
  auto remote_dir = sshd.dir() / "work dir/it's $HOME";
  RemoteTree remote{user() + "@127.0.0.1", sshd.args(), remote_dir.string()};
  auto local = local_runner();

  auto first = sync_to_host(repo, "kcat/npu", remote, *local);
  EXPECT_EQ(first.commit, head(repo));
  EXPECT_EQ(first.dir, std::filesystem::canonical(remote_dir).string());
  EXPECT_EQ(test::read(remote_dir / "a.txt"), "one\n");
  auto old = head(repo);

  // Fast-forward: a new commit arrives, with a new file.
  test::write(repo / "a.txt", "two\n");
  test::write(repo / "b.txt", "new\n");
  git(repo, {"add", "-A"});
  git(repo, {"commit", "-q", "-m", "second"});
  EXPECT_EQ(sync_branch(repo, "kcat/npu", remote, *local), head(repo));
  EXPECT_EQ(test::read(remote_dir / "a.txt"), "two\n");
  EXPECT_TRUE(std::filesystem::exists(remote_dir / "b.txt"));

  // Non-fast-forward (the optimize loop reverting), with a dirty remote tree: an edited tracked
  // file and untracked junk are reset; the ignored build output is kept.
  test::write(remote_dir / "a.txt", "edited on the host\n");
  test::write(remote_dir / "junk.txt", "junk\n");
  test::write(remote_dir / "build/out.o", "object\n");
  git(repo, {"reset", "-q", "--hard", old});
  EXPECT_EQ(sync_branch(repo, "kcat/npu", remote, *local), old);
  EXPECT_EQ(test::read(remote_dir / "a.txt"), "one\n");
  EXPECT_FALSE(std::filesystem::exists(remote_dir / "b.txt"));
  EXPECT_FALSE(std::filesystem::exists(remote_dir / "junk.txt"));
  EXPECT_TRUE(std::filesystem::exists(remote_dir / "build/out.o"));
  auto status = git(remote_dir, {"status", "--porcelain"}).out;
  EXPECT_EQ(status, "");
  auto branch = git(remote_dir, {"symbolic-ref", "--short", "HEAD"}).out;
  EXPECT_EQ(branch, "kcat/npu\n");

  // Another branch into the same work tree.
  EXPECT_EQ(sync_branch(repo, "main", remote, *local), old);
  EXPECT_EQ(git(remote_dir, {"symbolic-ref", "--short", "HEAD"}).out, "main\n");
}

TEST(SyncBranch, AnExistingDirectoryWithFilesBecomesTheWorkTree) {
  if (!std::filesystem::exists("/usr/sbin/sshd")) {
    GTEST_SKIP() << "no /usr/sbin/sshd (tools/install.sh --test installs openssh-server)";
  }
  test::Sshd sshd;
  ASSERT_TRUE(sshd.ok()) << "sshd did not start";
  test::TempDir local_dir;
  test::write(local_dir / "a.txt", "committed\n");
  test::git_init_commit(local_dir.path());  // branch main
  // A fresh repository on the host whose unborn current branch is the one pushed, with a file in
  // the way: updateInstead alone would refuse this push.
  auto remote_dir = sshd.dir() / "existing";
  test::write(remote_dir / "a.txt", "in the way\n");
  ASSERT_EQ(test::run({"git", "init", "-q", "-b", "main"}, remote_dir).exit_code, 0);
  auto local = local_runner();
  RemoteTree remote{user() + "@127.0.0.1", sshd.args(), remote_dir.string()};
  EXPECT_EQ(sync_branch(local_dir.path(), "main", remote, *local), head(local_dir.path()));
  EXPECT_EQ(test::read(remote_dir / "a.txt"), "committed\n");
}

TEST(SyncBranch, AMissingBranchIsAUsageError) {
  test::TempDir dir;
  test::write(dir / "a.txt", "x");
  test::git_init_commit(dir.path());
  auto local = local_runner();
  RemoteTree remote{"nobody@127.0.0.1", {}, (dir / "remote").string()};
  try {
    sync_branch(dir.path(), "kcat/none", remote, *local);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("kcat/none"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "remote"));
}

TEST(SyncBranch, AnUnreachableHostIsAnEnvironmentErrorThatSaysWhatToCheck) {
  test::TempDir dir;
  test::write(dir / "a.txt", "x");
  test::git_init_commit(dir.path());
  auto local = local_runner();
  RemoteTree remote{"nobody@127.0.0.1",
                    {"-p", std::to_string(test::free_port()), "-o", "StrictHostKeyChecking=no", "-o",
                     "UserKnownHostsFile=/dev/null", "-o", "SetEnv=API_TOKEN=s3cr3t-value"},
                    "~/kcat-work/model"};
  try {
    sync_branch(dir.path(), "main", remote, *local);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Environment);
    auto text = e.render();
    EXPECT_NE(text.find("nobody@127.0.0.1"), std::string::npos) << text;
    EXPECT_NE(text.find("preparing the work tree"), std::string::npos) << text;
    EXPECT_NE(text.find("exit 255"), std::string::npos) << text;
    EXPECT_NE(text.find("Connection refused"), std::string::npos) << text;
    EXPECT_NE(text.find("BatchMode=yes"), std::string::npos) << text;
    EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
  }
}

}  // namespace kcat::exec
