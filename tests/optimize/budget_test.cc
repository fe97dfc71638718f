// optimize --max-minutes reaches the build and bench commands: a benchmark that never ends, with
// no timeout of its own, stops when the budget does.
#include <gtest/gtest.h>

#include <chrono>

#include "kcat/core/error.h"
#include "kcat/optimize/optimize.h"
#include "testsupport/support.h"

namespace kcat::optimize {
namespace {

using namespace std::chrono_literals;

TEST(OptimizeBudget, ABenchCommandWithoutATimeoutGetsWhatIsLeftOfMaxMinutes) {
  test::TempDir dir;
  test::write(dir / "README", "x\n");
  test::git_init_commit(dir.path());
  auto repo = patch::GitRepo::open(dir.path());
  Options o;
  o.bench.command = "echo 'throughput: 1'; sleep 40";
  o.bench.metric_regex = "throughput: ([0-9.]+)";
  o.bench.runs = 1;
  o.max_minutes = 0.02;  // 1.2 s
  auto runner = exec::local_runner();
  auto start = std::chrono::steady_clock::now();
  try {
    run(repo, kb::RecipeSet{}, {}, o, *runner);
    FAIL() << "the baseline cannot produce a number within the budget";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Environment);
    EXPECT_NE(std::string(e.what()).find("time budget"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(OptimizeBudget, ABuildWithoutATimeoutGetsWhatIsLeftOfMaxMinutes) {
  test::TempDir dir;
  test::write(dir / "README", "x\n");
  test::git_init_commit(dir.path());
  auto repo = patch::GitRepo::open(dir.path());
  Options o;
  o.build_command = "sleep 40";
  o.bench.command = "echo 'throughput: 1'";
  o.bench.metric_regex = "throughput: ([0-9.]+)";
  o.max_minutes = 0.02;
  auto runner = exec::local_runner();
  auto start = std::chrono::steady_clock::now();
  try {
    run(repo, kb::RecipeSet{}, {}, o, *runner);
    FAIL() << "the baseline build cannot finish within the budget";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Environment);
    EXPECT_NE(std::string(e.what()).find("timed out"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace kcat::optimize
