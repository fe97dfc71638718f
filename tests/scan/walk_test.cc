// The walk cache (src/scan/walk.h): a remembered walk is replayed only while nothing it depended
// on changed, by stat.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "../../src/scan/walk.h"
#include "testsupport/support.h"

namespace kcat::scan {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Walk {
  bool replayed = false;
  std::vector<std::string> files;  // "rel language size", sorted
  std::vector<std::string> skipped;
};

// settle 0: the tree was just made, and the test waits a clock tick before each change instead.
Walk walk(const fs::path& root, bool cached = true) {
  std::vector<Candidate> files;
  std::vector<SkippedFile> skipped;
  Walk w;
  auto canonical = fs::canonical(root);
  w.replayed = walk_repository(
      canonical, cached ? canonical / ".kcat" / "cache" / kWalkCacheFile : fs::path(), files, skipped, 0ns);
  for (auto& f : files) w.files.push_back(f.rel + " " + f.language + " " + std::to_string(f.size));
  for (auto& s : skipped) w.skipped.push_back(s.path + ": " + s.reason);
  std::sort(w.files.begin(), w.files.end());
  std::sort(w.skipped.begin(), w.skipped.end());
  return w;
}

bool has(const Walk& w, const std::string& rel) {
  return std::any_of(w.files.begin(), w.files.end(), [&](auto& f) { return f.rfind(rel + " ", 0) == 0; });
}

// A change in the same clock tick as the stamp could go unseen: the real walk guards that with
// `settle`; the tests wait a tick instead.
void tick() { std::this_thread::sleep_for(30ms); }

class WalkCache : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write(dir.path() / "a.py", "import torch\n");
    test::write(dir.path() / "sub" / "b.py", "x = 1\n");
    test::write(dir.path() / "ignored" / "c.py", "y = 2\n");
    test::write(dir.path() / ".gitignore", "ignored/\n");
    test::write(dir.path() / "run", "echo no shebang\n");
    test::git_init_commit(dir.path());
    // .kcat/ is made by the first save; made beforehand, the root's stamps stay as recorded.
    fs::create_directories(dir.path() / ".kcat" / "cache");
    tick();
  }
  test::TempDir dir;
};

TEST_F(WalkCache, AnUnchangedTreeIsReplayedWithTheSameResult) {
  auto first = walk(dir.path());
  EXPECT_FALSE(first.replayed);
  EXPECT_TRUE(has(first, "a.py"));
  EXPECT_TRUE(has(first, "sub/b.py"));
  EXPECT_FALSE(has(first, "ignored/c.py"));
  EXPECT_FALSE(has(first, "run"));
  auto second = walk(dir.path());
  EXPECT_TRUE(second.replayed);
  EXPECT_EQ(second.files, first.files);
  EXPECT_EQ(second.skipped, first.skipped);
}

TEST_F(WalkCache, AFileThatChangesIsReplayedWithItsNewSize) {
  walk(dir.path());
  test::write(dir.path() / "a.py", "import torch\ntorch.cuda.synchronize()\n");
  auto w = walk(dir.path());
  EXPECT_TRUE(w.replayed);
  EXPECT_TRUE(std::find(w.files.begin(), w.files.end(), "a.py python 38") != w.files.end()) << w.files[0];
}

TEST_F(WalkCache, NewAndRemovedFilesAreSeen) {
  walk(dir.path());
  test::write(dir.path() / "sub" / "new.py", "z = 3\n");
  auto w = walk(dir.path());
  EXPECT_FALSE(w.replayed);
  EXPECT_TRUE(has(w, "sub/new.py"));
  EXPECT_TRUE(walk(dir.path()).replayed);
  tick();
  fs::remove(dir.path() / "sub" / "b.py");
  w = walk(dir.path());
  EXPECT_FALSE(w.replayed);
  EXPECT_FALSE(has(w, "sub/b.py"));
}

TEST_F(WalkCache, IgnoreFilesThatChangeAreSeen) {
  walk(dir.path());
  test::write(dir.path() / ".gitignore", "ignored/\na.py\n");  // same folder entries, new content
  auto w = walk(dir.path());
  EXPECT_FALSE(w.replayed);
  EXPECT_FALSE(has(w, "a.py"));
  walk(dir.path());
  tick();
  test::write(dir.path() / ".git" / "info" / "exclude", "sub/\n");
  w = walk(dir.path());
  EXPECT_FALSE(w.replayed);
  EXPECT_FALSE(has(w, "sub/b.py"));
  walk(dir.path());
  tick();
  test::write(dir.path() / "sub" / ".gitignore", "*.py\n");  // a new ignore file in a subfolder
  fs::remove(dir.path() / ".git" / "info" / "exclude");
  w = walk(dir.path());
  EXPECT_FALSE(w.replayed);
  EXPECT_FALSE(has(w, "sub/b.py"));
  EXPECT_FALSE(has(w, "ignored/c.py"));
}

TEST_F(WalkCache, AShebangWrittenIntoAnExtensionlessFileIsSeen) {
  walk(dir.path());
  test::write(dir.path() / "run", "#!/bin/bash\nnvidia-smi\n");
  auto w = walk(dir.path());
  EXPECT_FALSE(w.replayed);
  EXPECT_TRUE(has(w, "run"));
}

TEST_F(WalkCache, AFolderThatBecomesUnreadableIsSeen) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every folder";
  walk(dir.path());
  fs::permissions(dir.path() / "sub", fs::perms::none);
  auto w = walk(dir.path());
  fs::permissions(dir.path() / "sub", fs::perms::owner_all);
  EXPECT_FALSE(w.replayed);
  EXPECT_FALSE(has(w, "sub/b.py"));
}

TEST_F(WalkCache, AChangedPermissionChangesTheFolderStamp) {
  walk(dir.path());
  ::chmod((dir.path() / "sub").c_str(), 0700);  // ctime moves even when nothing else does
  EXPECT_FALSE(walk(dir.path()).replayed);
}

TEST_F(WalkCache, ACorruptCacheIsWalkedOverAndRewritten) {
  walk(dir.path());
  auto cache = dir.path() / ".kcat" / "cache" / kWalkCacheFile;
  ASSERT_TRUE(fs::exists(cache));
  test::write(cache, "KCATWLK1\x05garbage");
  auto w = walk(dir.path());
  EXPECT_FALSE(w.replayed);
  EXPECT_TRUE(has(w, "a.py"));
  EXPECT_TRUE(walk(dir.path()).replayed);
}

TEST_F(WalkCache, WithoutACacheNothingIsWritten) {
  auto w = walk(dir.path(), false);
  EXPECT_FALSE(w.replayed);
  EXPECT_TRUE(has(w, "a.py"));
  EXPECT_FALSE(fs::exists(dir.path() / ".kcat" / "cache" / kWalkCacheFile));
}

TEST(WalkCacheSettle, AWalkOfJustChangedFilesIsNotRemembered) {
  test::TempDir dir;
  test::write(dir.path() / "a.py", "import torch\n");
  fs::create_directories(dir.path() / ".kcat" / "cache");
  std::vector<Candidate> files;
  std::vector<SkippedFile> skipped;
  auto root = fs::canonical(dir.path());
  auto cache = root / ".kcat" / "cache" / kWalkCacheFile;
  EXPECT_FALSE(walk_repository(root, cache, files, skipped));  // default settle: two seconds
  EXPECT_FALSE(fs::exists(cache));
  EXPECT_EQ(files.size(), 1u);
}

}  // namespace
}  // namespace kcat::scan
