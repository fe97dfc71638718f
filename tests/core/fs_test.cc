#include "kcat/core/fs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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
TEST(SelfStamp, NamesThisProgramsSizeAndMtime) {
  auto stamp = self_stamp();
  EXPECT_EQ(stamp, self_stamp());
  struct stat st {};
  ASSERT_EQ(::stat("/proc/self/exe", &st), 0);
  EXPECT_EQ(stamp.substr(0, stamp.find(':')), std::to_string(st.st_size));
}

}  // namespace
}  // namespace kcat
