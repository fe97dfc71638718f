#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testsupport/support.h"

namespace kcat {

TEST(BenchCommand, TargetMetAndMissedAndTheBaselineRatio) {
  auto met = test::kcat({"bench", "--cmd", "echo 'throughput: 100.0 tok/s'", "--metric", "throughput: ([0-9.]+)",
                         "--unit", "tok/s", "--runs", "3", "--warmup", "0", "--target", "90", "--baseline",
                         "echo 'throughput: 25'"});
  EXPECT_EQ(met.exit_code, 0) << met.err;
  EXPECT_NE(met.out.find("median 100.00 tok/s"), std::string::npos) << met.out;
  EXPECT_NE(met.out.find("ratio      4.00x the baseline"), std::string::npos) << met.out;
  EXPECT_NE(met.out.find("target     90.00 tok/s: met"), std::string::npos);
  auto missed = test::kcat({"bench", "--cmd", "echo 'throughput: 100'", "--metric", "throughput: ([0-9.]+)",
                            "--runs", "2", "--warmup", "0", "--target", "550", "--format", "json"});
  EXPECT_EQ(missed.exit_code, 1);
  auto j = nlohmann::json::parse(missed.out);
  EXPECT_EQ(j["target_met"], false);
  EXPECT_EQ(j["candidate"]["median"], 100);
}

TEST(BenchCommand, JsonMetricHangAndUsage) {
  auto js = test::kcat({"bench", "--cmd", "echo '{\"output_tokens_per_s\": 864}'", "--metric-json",
                        "output_tokens_per_s", "--runs", "2", "--warmup", "0"});
  EXPECT_EQ(js.exit_code, 0) << js.err;
  EXPECT_NE(js.out.find("median 864.00"), std::string::npos);
  auto hang = test::kcat({"bench", "--cmd", "sleep 30", "--timeout", "0.2", "--runs", "1", "--warmup", "0"});
  EXPECT_EQ(hang.exit_code, 3);
  EXPECT_NE(hang.err.find("timed out"), std::string::npos) << hang.err;
  EXPECT_EQ(test::kcat({"bench", "--cmd", "true", "--metric", "(x)", "--metric-json", "k"}).exit_code, 2);
  EXPECT_EQ(test::kcat({"bench"}).exit_code, 2);
}

}  // namespace kcat

#include "bench/tensor_files.h"

namespace kcat {

TEST(CompareCommand, WithinAndOutsideTolerance) {
  using namespace bench::testfiles;
  test::TempDir dir;
  test::write(dir / "ref.npy", npy("<f4", "3,", f32_bytes({1, 2, 3})));
  test::write(dir / "out.npy", npy("<f4", "3,", f32_bytes({1, 2.0001f, 3})));
  test::write(dir / "bad.npy", npy("<f4", "3,", f32_bytes({1, 2.5f, 3})));
  auto ok = test::kcat({"compare", (dir / "ref.npy").string(), (dir / "out.npy").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("within tolerance"), std::string::npos);
  auto bad = test::kcat({"compare", (dir / "ref.npy").string(), (dir / "bad.npy").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("[1] ref 2 out 2.5"), std::string::npos) << bad.out;
  EXPECT_EQ(test::kcat({"compare", (dir / "ref.npy").string(), (dir / "none.npy").string()}).exit_code, 2);
}

}  // namespace kcat
