#include "kcat/core/glob.h"

#include <gtest/gtest.h>

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

}  // namespace kcat
