#include "kcat/core/fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat {

TEST(Fs, AtomicWriteKeepsModeAndLeavesNoTemp) {
  test::TempDir dir;
  auto file = dir / "run.sh";
  test::write(file, "old\n");
  fs::permissions(file, fs::perms::owner_all | fs::perms::group_read);
  write_file_atomic(file, "new\r\n");
  EXPECT_EQ(test::read(file), "new\r\n");
  EXPECT_EQ(fs::status(file).permissions(), fs::perms::owner_all | fs::perms::group_read);
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(Fs, ReadMissingFileNamesThePath) {
  try {
    read_file("/nonexistent/kcat/file.py");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
    EXPECT_EQ(e.where(), "/nonexistent/kcat/file.py");
  }
}

TEST(Fs, ResolveWithinRefusesEscapes) {
  test::TempDir dir;
  fs::create_directories(dir / "repo/sub");
  test::write(dir / "outside.txt", "x");
  fs::create_symlink(dir / "outside.txt", dir / "repo/link");
  auto root = dir / "repo";
  EXPECT_TRUE(resolve_within(root, "sub").has_value());
  EXPECT_FALSE(resolve_within(root, "../outside.txt").has_value());
  EXPECT_FALSE(resolve_within(root, "link").has_value());
  EXPECT_FALSE(resolve_within(root, "/etc/passwd").has_value());
  EXPECT_FALSE(resolve_within(root, "sub/../../outside.txt").has_value());
}

}  // namespace kcat

namespace kcat {
namespace {

// The key part that makes every cache kcat keeps belong to one build of kcat.
// Issue 14 §4: a FIFO planted in a repository never hangs a read: with no writer it reads as empty.
TEST(Fs, ReadingAFifoWithNoWriterDoesNotHang) {
  test::TempDir dir;
  auto fifo = dir / "report.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto f = std::async(std::launch::async, [&] { return read_file(fifo); });
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "read_file hung on a FIFO";
  EXPECT_EQ(f.get(), "");
}

// Issue 14 §5: `-o FILE` replaces only regular files atomically. A symlink is written through (the
// link stays), a device is written to (it stays a device), a FIFO with no reader is an error, not a
// hang, and a FIFO with a reader gets the bytes.
TEST(Fs, WriteOutputWritesThroughNonRegularFiles) {
  test::TempDir dir;
  test::write(dir / "target.txt", "old\n");
  fs::create_symlink(dir / "target.txt", dir / "link.txt");
  write_output(dir / "link.txt", "new\n");
  EXPECT_TRUE(fs::is_symlink(dir / "link.txt"));
  EXPECT_EQ(test::read(dir / "target.txt"), "new\n");

  write_output(dir / "plain.txt", "fresh\n");
  EXPECT_EQ(test::read(dir / "plain.txt"), "fresh\n");

  write_output("/dev/null", "discarded\n");
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));

  auto fifo = dir / "out.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto lonely = std::async(std::launch::async, [&] {
    try {
      write_output(fifo, "x");
      return std::string("no error");
    } catch (const Error& e) {
      return std::string(e.what());
    }
  });
  ASSERT_EQ(lonely.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "write hung on a FIFO";
  EXPECT_NE(lonely.get().find("no reader"), std::string::npos);

  int rfd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(rfd, 0);
  write_output(fifo, "through the pipe");
  char buf[64] = {};
  auto n = ::read(rfd, buf, sizeof buf - 1);
  ::close(rfd);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "through the pipe");
  EXPECT_FALSE(fs::is_regular_file(fifo));
}

TEST(SelfStamp, NamesThisProgramsSizeAndMtime) {
  auto stamp = self_stamp();
  EXPECT_EQ(stamp, self_stamp());
  struct stat st {};
  ASSERT_EQ(::stat("/proc/self/exe", &st), 0);
  EXPECT_EQ(stamp.substr(0, stamp.find(':')), std::to_string(st.st_size));
}

}  // namespace
}  // namespace kcat

namespace kcat {

// One reading of the XDG Base Directory variables for all of kcat's own folders (config, trust
// store, history, caches): an absolute variable wins, a relative one is ignored as the
// specification says, else the default under HOME; nothing when neither is set.
TEST(UserDir, FollowsTheXdgSpecificationForEachKind) {
  struct Saved {
    std::string name;
    std::optional<std::string> value;
  };
  std::vector<Saved> saved;
  for (const char* v : {"HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"}) {
    const char* x = std::getenv(v);
    saved.push_back({v, x ? std::optional<std::string>(x) : std::nullopt});
  }
  ::setenv("HOME", "/home/u", 1);
  ::setenv("XDG_CONFIG_HOME", "/cfg", 1);
  ::setenv("XDG_STATE_HOME", "relative/state", 1);
  ::unsetenv("XDG_CACHE_HOME");
  EXPECT_EQ(user_dir(UserDir::Config), fs::path("/cfg"));
  EXPECT_EQ(user_dir(UserDir::State), fs::path("/home/u/.local/state")) << "a relative value is ignored";
  EXPECT_EQ(user_dir(UserDir::Cache), fs::path("/home/u/.cache"));
  EXPECT_EQ(user_cache_dir("/").parent_path(), fs::path("/home/u/.cache/kcat"));
  ::unsetenv("HOME");
  ::unsetenv("XDG_CONFIG_HOME");
  EXPECT_TRUE(user_dir(UserDir::Config).empty());
  EXPECT_TRUE(user_cache_dir("/").empty());
  for (auto& s : saved) {
    if (s.value) {
      ::setenv(s.name.c_str(), s.value->c_str(), 1);
    } else {
      ::unsetenv(s.name.c_str());
    }
  }
}

}  // namespace kcat
