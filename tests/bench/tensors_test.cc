#include "kcat/bench/tensors.h"

#include <gtest/gtest.h>

#include "bench/tensor_files.h"
#include "kcat/core/error.h"

namespace kcat::bench {

using namespace testfiles;

TEST(Tensors, ReadsNpyF32AndI64) {
  test::TempDir dir;
  test::write(dir / "a.npy", npy("<f4", "2, 2", f32_bytes({1, 2, 3, 4.5f})));
  auto t = load_tensors(dir / "a.npy");
  ASSERT_EQ(t.count("a"), 1u);
  EXPECT_EQ(t["a"].shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t["a"].values, (std::vector<double>{1, 2, 3, 4.5}));
  std::string i64(16, '\0');
  int64_t v[2] = {-3, 1LL << 40};
  std::memcpy(i64.data(), v, 16);
  test::write(dir / "b.npy", npy("<i8", "2,", i64));
  EXPECT_EQ(load_tensors(dir / "b.npy")["b"].values, (std::vector<double>{-3, 1099511627776.0}));
}

TEST(Tensors, ReadsSafetensorsWithF16AndBf16) {
  test::TempDir dir;
  // f16 1.0 = 0x3C00, -2.0 = 0xC000; bf16 1.5 = 0x3FC0.
  std::string data = std::string("\x00\x3C\x00\xC0", 4) + std::string("\xC0\x3F", 2);
  test::write(
      dir / "m.safetensors",
      safetensors(R"({"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},)"
                  R"("b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]},"__metadata__":{"x":"y"}})",
                  data));
  auto t = load_tensors(dir / "m.safetensors");
  EXPECT_EQ(t["h"].values, (std::vector<double>{1.0, -2.0}));
  EXPECT_EQ(t["b"].values, (std::vector<double>{1.5}));
  EXPECT_EQ(t["b"].dtype, "bf16");
}

TEST(Tensors, BadFilesAreClearErrors) {
  test::TempDir dir;
  test::write(dir / "t.npy", npy("<f4", "4,", f32_bytes({1, 2})));  // data for 2 of 4
  EXPECT_THROW(load_tensors(dir / "t.npy"), Error);
  test::write(dir / "c.npy", npy("<c8", "1,", std::string(8, '\0')));
  try {
    load_tensors(dir / "c.npy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("<c8"), std::string::npos);
  }
  test::write(dir / "x.safetensors", std::string("\xff\xff\xff\xff\x00\x00\x00\x00", 8));
  EXPECT_THROW(load_tensors(dir / "x.safetensors"), Error);
  test::write(dir / "x.bin", "x");
  EXPECT_THROW(load_tensors(dir / "x.bin"), Error);
}

// Issue 14 §5: a shape whose element count overflows (2^32 x 2^32 wraps to 0) or is negative is an
// error, never an empty tensor that then compares "within tolerance".
TEST(Tensors, OverflowingOrNegativeShapesAreErrors) {
  test::TempDir dir;
  test::write(dir / "o.npy", npy("<f4", "4294967296, 4294967296", ""));
  EXPECT_THROW(load_tensors(dir / "o.npy"), Error);
  test::write(dir / "w.npy", npy("<f8", "2305843009213693952,", ""));  // 2^61 x 8 bytes wraps too
  EXPECT_THROW(load_tensors(dir / "w.npy"), Error);
  test::write(dir / "n.safetensors",
              safetensors(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", ""));
  EXPECT_THROW(load_tensors(dir / "n.safetensors"), Error);
  test::write(dir / "s.safetensors",
              safetensors(R"({"x":{"dtype":"F32","shape":"big","data_offsets":[0,0]}})", ""));
  EXPECT_THROW(load_tensors(dir / "s.safetensors"), Error);
}

// A per-dtype floor applies where both tensors have that dtype, also to a single tensor of each
// file whatever their names (optimize compared the floor again by name and threw out_of_range when
// reference.npy's tensor and out.npy's did not share one).
TEST(Tensors, CompareAppliesPerDtypeFloors) {
  std::map<std::string, Tensor> ref{{"reference", {"f16", {2}, {1.0, 2.0}}}};
  std::map<std::string, Tensor> out{{"out", {"f16", {2}, {1.0, 2.005}}}};
  EXPECT_FALSE(compare(ref, out, 1e-3, 1e-5)[0].within);
  DtypeTolerances floors{{"f16", {1e-2, 1e-5}}};
  auto d = compare(ref, out, 1e-3, 1e-5, floors);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].within);
  EXPECT_EQ(d[0].name, "reference");
  // A dtype without a floor, or a dtype that differs between the files, keeps the given tolerance.
  std::map<std::string, Tensor> f32{{"out", {"f32", {2}, {1.0, 2.005}}}};
  EXPECT_FALSE(compare(ref, f32, 1e-3, 1e-5, floors)[0].within);
  EXPECT_FALSE(compare({{"r", {"f32", {2}, {1.0, 2.0}}}}, f32, 1e-3, 1e-5, floors)[0].within);
}

TEST(Tensors, CompareFindsTheWorstElement) {
  std::map<std::string, Tensor> ref{{"y", {"f32", {3}, {1.0, 2.0, 3.0}}}};
  std::map<std::string, Tensor> out{{"y", {"f16", {3}, {1.0, 2.1, 3.0}}}};
  auto d = compare(ref, out, 1e-3, 1e-5);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FALSE(d[0].within);
  EXPECT_EQ(d[0].mismatches, 1u);
  EXPECT_EQ(d[0].worst_index, 1u);
  EXPECT_NEAR(d[0].max_abs, 0.1, 1e-12);
  EXPECT_NE(d[0].problem.find("dtype f32 vs f16"), std::string::npos);
  EXPECT_TRUE(compare(ref, out, 0.1, 0)[0].within);
  std::map<std::string, Tensor> wrong_shape{{"y", {"f32", {1, 3}, {1.0, 2.0, 3.0}}}};
  EXPECT_EQ(compare(ref, wrong_shape, 1, 1)[0].problem, "shape differs");
}

}  // namespace kcat::bench
