#include "kcat/core/cancel.h"

#include <gtest/gtest.h>

#include <csignal>

namespace kcat {

TEST(Cancel, SigintSetsTheFlagAndCounts) {
  cancel::install_handler();
  cancel::reset();
  EXPECT_FALSE(cancel::requested());
  std::raise(SIGINT);
  EXPECT_TRUE(cancel::requested());
  std::raise(SIGINT);
  EXPECT_EQ(cancel::count(), 2);
  cancel::reset();
  EXPECT_FALSE(cancel::requested());
  signal(SIGINT, SIG_DFL);
}

}  // namespace kcat
