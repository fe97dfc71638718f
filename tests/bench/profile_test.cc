#include "kcat/bench/profile.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::bench {

namespace {

std::filesystem::path fixture(const std::string& name) { return test::fixtures_dir() / "profile" / name; }

const OpStat* find_op(const Profile& p, const std::string& type) {
  for (const auto& op : p.ops) {
    if (op.op_type == type) return &op;
  }
  return nullptr;
}

}  // namespace

TEST(Profile, OpStatisticIsSortedByTotalTimeWithShares) {
  auto p = parse_op_statistic(fixture("op_statistic.csv"));
  ASSERT_EQ(p.ops.size(), 11u);
  EXPECT_DOUBLE_EQ(p.total_us, 1000000.0);
  EXPECT_EQ(p.ops[0].op_type, "MatMulV2");
  EXPECT_EQ(p.ops[0].core_type, "AI_CORE");
  EXPECT_EQ(p.ops[0].count, 5376);
  EXPECT_DOUBLE_EQ(p.ops[0].share, 0.4);
  EXPECT_EQ(p.ops[1].op_type, "BatchMatMulV2");
  EXPECT_EQ(p.ops[2].op_type, "SoftmaxV2");
  EXPECT_EQ(p.ops.back().op_type, "Neg");
  for (size_t i = 1; i < p.ops.size(); ++i) EXPECT_GE(p.ops[i - 1].total_us, p.ops[i].total_us);
  double sum = 0;
  for (const auto& op : p.ops) sum += op.share;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_NEAR(p.ops[0].avg_us, 400000.0 / 5376, 1e-9);
}

TEST(Profile, BomCrlfQuotesAndTabsAreTolerated_DevicesAreSummed) {
  auto p = parse_op_statistic(fixture("op_statistic_crlf_bom.csv"));
  ASSERT_EQ(p.ops.size(), 3u);              // two devices, three op types; the trailing blank line is no row
  EXPECT_EQ(p.ops[0].op_type, "MatMulV2");  // no BOM bytes or quotes left in the names
  EXPECT_EQ(p.ops[0].core_type, "AI_CORE");
  EXPECT_EQ(p.ops[0].count, 2 * 5376);
  EXPECT_DOUBLE_EQ(p.ops[0].total_us, 400000.0);  // 200000 on each device, written as "200000.000\t"
  EXPECT_DOUBLE_EQ(p.total_us, 650000.0);
  EXPECT_NEAR(p.ops[2].share, 100000.0 / 650000.0, 1e-12);
  EXPECT_GT(p.ops[0].max_us, p.ops[0].min_us);
}

TEST(Profile, MissingColumnNamesTheFileAndLine) {
  try {
    parse_op_statistic(fixture("missing_total.csv"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Parse);
    EXPECT_NE(std::string(e.what()).find("Total Time(us)"), std::string::npos) << e.what();
    EXPECT_NE(e.where().find("missing_total.csv:1"), std::string::npos) << e.where();
  }
}

TEST(Profile, BadNumberNamesTheLine) {
  try {
    parse_op_statistic(fixture("bad_number.csv"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"fast\""), std::string::npos) << e.what();
    EXPECT_NE(e.where().find("bad_number.csv:4"), std::string::npos) << e.where();
  }
}

TEST(Profile, UnreadableAndEmptyInputsAreErrors) {
  EXPECT_THROW(parse_op_statistic(fixture("does-not-exist.csv")), Error);
  EXPECT_THROW(parse_op_statistic_text("", "empty.csv"), Error);
  EXPECT_THROW(parse_op_statistic_text("OP Type,Count,Total Time(us)\n\"MatMul,1,2\n", "open-quote.csv"),
               Error);
}

TEST(Profile, TextInputAndQuotedCommas) {
  auto p = parse_op_statistic_text(
      "OP Type,Count,Total Time(us)\n\"Weird, Op\",2,30\nMul,1,10\n\"Say \"\"hi\"\"\",1,60\n", "inline");
  ASSERT_EQ(p.ops.size(), 3u);
  EXPECT_EQ(p.source, "inline");
  EXPECT_EQ(p.ops[0].op_type, "Say \"hi\"");
  EXPECT_EQ(p.ops[1].op_type, "Weird, Op");
  EXPECT_DOUBLE_EQ(p.ops[1].avg_us, 15);
  EXPECT_EQ(p.ops[1].core_type, "");
}

TEST(Profile, KernelDetailsAreAggregatedPerType) {
  auto p = parse_op_statistic(fixture("kernel_details.csv"));
  ASSERT_EQ(p.ops.size(), 3u);
  const auto* mm = find_op(p, "MatMulV2");
  ASSERT_NE(mm, nullptr);
  EXPECT_EQ(mm->count, 3);
  EXPECT_DOUBLE_EQ(mm->total_us, 360.0);
  EXPECT_DOUBLE_EQ(mm->min_us, 118.0);
  EXPECT_DOUBLE_EQ(mm->max_us, 121.5);
  EXPECT_EQ(mm->core_type, "AI_CORE");
  EXPECT_EQ(p.ops[0].op_type, "MatMulV2");
  EXPECT_EQ(p.ops[2].op_type, "Mul");
}

TEST(Profile, CpuFallbacksAreFoundAndCounted) {
  auto log = test::read(fixture("fallback.log"));
  auto f = find_cpu_fallbacks(log);
  ASSERT_EQ(f.size(), 2u);  // the MPS warning is not an NPU fallback
  EXPECT_EQ(f[0].op, "aten::_linalg_solve_ex.result");
  EXPECT_EQ(f[0].count, 2u);
  EXPECT_EQ(f[1].op, "aten::bitwise_left_shift.Tensor_out");
  EXPECT_EQ(f[1].count, 1u);
  EXPECT_TRUE(find_cpu_fallbacks("all good\n").empty());
}

TEST(Profile, NormalizesVersionAndConstantSuffixes) {
  EXPECT_EQ(normalize_op_type("MatMulV2"), "MatMul");
  EXPECT_EQ(normalize_op_type("BatchMatMulV3"), "BatchMatMul");
  EXPECT_EQ(normalize_op_type("ConcatD"), "Concat");
  EXPECT_EQ(normalize_op_type("aclnnSoftmax"), "Softmax");
  EXPECT_EQ(normalize_op_type("TopKV2"), "TopK");
  EXPECT_EQ(normalize_op_type("Add"), "Add");
  EXPECT_EQ(normalize_op_type("ReduceMeanD"), "ReduceMean");
  EXPECT_EQ(normalize_op_type("RmsNorm"), "RmsNorm");
}

TEST(Profile, SummaryTopSharesFallbacksAndHints) {
  auto p = parse_op_statistic(fixture("op_statistic.csv"));
  auto s = summarize(p, find_cpu_fallbacks(test::read(fixture("fallback.log"))), 3);
  ASSERT_EQ(s.top.size(), 3u);
  EXPECT_NEAR(s.top_share, 0.65, 1e-12);
  EXPECT_EQ(s.op_types, 11u);
  ASSERT_EQ(s.hints.size(), 3u);
  EXPECT_EQ(s.hints[0].recipe, "fused-attention");  // SoftmaxV2 10% + BatchMatMulV2 15% + Transpose 2.5%
  EXPECT_NEAR(s.hints[0].share, 0.275, 1e-12);
  EXPECT_EQ(s.hints[1].recipe, "fused-rmsnorm");  // Pow 5% + ReduceMean 4% + Mul 8% + Add 6%
  EXPECT_NEAR(s.hints[1].share, 0.23, 1e-12);
  EXPECT_EQ(s.hints[2].recipe, "fused-rotary");  // Neg 2% + ConcatD 3% + Mul 8%
  EXPECT_NEAR(s.hints[2].share, 0.13, 1e-12);
  EXPECT_NE(std::find(s.hints[2].ops.begin(), s.hints[2].ops.end(), "ConcatD"), s.hints[2].ops.end());

  auto text = render_text(s);
  EXPECT_NE(text.find("MatMulV2"), std::string::npos) << text;
  EXPECT_NE(text.find("40.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("aten::_linalg_solve_ex.result (2x)"), std::string::npos) << text;
  EXPECT_NE(text.find("hint: recipe fused-attention"), std::string::npos) << text;
  EXPECT_EQ(text.find("Neg"), text.rfind("Neg"));  // Neg is not in the top 3, only in a hint

  nlohmann::json j = s;
  EXPECT_EQ(j["top"].size(), 3u);
  EXPECT_EQ(j["cpu_fallbacks"][0]["count"], 2);
  EXPECT_EQ(j["hints"][0]["recipe"], "fused-attention");
}

TEST(Profile, FusedOpsSuppressHintsAndMoeIsSpotted) {
  auto s = summarize(parse_op_statistic(fixture("op_statistic_fused.csv")), {}, 5);
  ASSERT_EQ(s.hints.size(), 1u);  // attention and RMSNorm are already fused kernels here
  EXPECT_EQ(s.hints[0].recipe, "native-moe");
  EXPECT_EQ(s.hints[0].ops.size(), 3u);  // TopKV2, GatherV2, IndexPutV2
  EXPECT_NE(render_text(s).find("CPU fallbacks: none seen"), std::string::npos);
}

}  // namespace kcat::bench
