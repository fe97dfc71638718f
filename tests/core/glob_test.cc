#include "kcat/core/glob.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

namespace kcat {

TEST(Glob, Names) {
  EXPECT_TRUE(glob_match("torch.cuda.*", "torch.cuda.synchronize"));
  EXPECT_TRUE(glob_match("torch.cuda.*", "torch.cuda.amp.autocast"));
  EXPECT_FALSE(glob_match("torch.cuda.*", "torch.cudax"));
  EXPECT_FALSE(glob_match("torch.cuda.*", "torch.cuda"));
  EXPECT_TRUE(glob_match("CUDA_*", "CUDA_VISIBLE_DEVICES"));
  EXPECT_TRUE(glob_match("flash_attn", "flash_attn"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("a*b*c", "aXbY"));
}

TEST(Glob, Paths) {
  EXPECT_TRUE(path_glob_match("**/*.py", "a/b/c.py"));
  EXPECT_TRUE(path_glob_match("**/*.py", "c.py"));
  EXPECT_FALSE(path_glob_match("*.py", "a/c.py"));
  EXPECT_TRUE(path_glob_match("requirements*.txt", "requirements-dev.txt"));
  EXPECT_TRUE(path_glob_match("src/**/model.py", "src/x/y/model.py"));
}

// The matcher before issue 14 §4 (recursive, exponential in the number of '*'): the reference the
// linear one must agree with on small inputs.
bool reference_path_glob(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p.substr(0, 3) == "**/") {
    auto rest = p.substr(3);
    if (reference_path_glob(rest, t)) return true;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '/' && reference_path_glob(rest, t.substr(i + 1))) return true;
    }
    return false;
  }
  if (p[0] == '*') {
    for (size_t i = 0; i <= t.size(); ++i) {
      if (reference_path_glob(p.substr(1), t.substr(i))) return true;
      if (i < t.size() && t[i] == '/') break;
    }
    return false;
  }
  if (t.empty()) return false;
  if (p[0] == '?' ? t[0] != '/' : p[0] == t[0]) return reference_path_glob(p.substr(1), t.substr(1));
  return false;
}

TEST(Glob, PathsAgreeWithTheReferenceMatcher) {
  std::mt19937 rng(18);
  const std::string pattern_alphabet[] = {"a", "b", "/", "*", "?", "**/", "."};
  const char text_alphabet[] = {'a', 'b', '/', '.'};
  for (int n = 0; n < 20000; ++n) {
    std::string p, t;
    for (int i = static_cast<int>(rng() % 7); i > 0; --i) p += pattern_alphabet[rng() % 7];
    for (int i = static_cast<int>(rng() % 9); i > 0; --i) t += text_alphabet[rng() % 4];
    ASSERT_EQ(path_glob_match(p, t), reference_path_glob(p, t)) << "pattern '" << p << "' path '" << t << "'";
  }
}

TEST(Glob, HostilePatternsTakeLinearTime) {
  // issue 14 §4: '*' x40 then 'Z' hung list_files and search; 200k '*' crashed them.
  std::string stars(40, '*');
  std::string path(200, 'a');
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(path_glob_match(stars + "Z", path));
    EXPECT_FALSE(glob_match(stars + "Z", path));
    EXPECT_FALSE(
        path_glob_match("**/**/**/**/**/**/**/**/" + stars + "Z", "a/a/a/a/a/a/a/a/a/a/a/a/" + path));
  }
  EXPECT_TRUE(path_glob_match(stars + "a", path));
  EXPECT_TRUE(glob_match(stars + "a" + stars, path));
  std::string huge(200000, '*');
  EXPECT_FALSE(path_glob_match(huge, path));  // longer than the bound (4096): matches nothing
  EXPECT_FALSE(glob_match(huge, path));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_LT(ms.count(), 2000);
}

TEST(Glob, AStarInTheTextIsStillMatchedByAStar) {
  EXPECT_TRUE(glob_match("a*", "a*b"));
  EXPECT_TRUE(glob_match("torch.*", "torch.*"));
}

}  // namespace kcat
