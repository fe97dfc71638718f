#include "kcat/kb/versions.h"

#include <gtest/gtest.h>

#include "testsupport/support.h"

namespace kcat::kb {

TEST(Versions, ShippedMatrixIsSourcedAndConsistent) {
  auto m = VersionMatrix::load(test::source_dir() / "patches");
  EXPECT_EQ(m.torch_npu.size(), 26u);
  EXPECT_GE(m.vllm_ascend.size(), 30u);
  EXPECT_GE(m.torch_python.size(), 10u);
  EXPECT_EQ(m.contradictions(), std::vector<std::string>{});
}

TEST(Versions, LookupsAsTheSourcesStateThem) {
  auto m = VersionMatrix::load(test::source_dir() / "patches");
  auto* r = m.for_torch_npu("2.5.1");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->torch, "2.5.1");
  EXPECT_EQ(r->cann, "8.1.RC1");
  EXPECT_NE(m.for_torch_npu("2.5.1+cpu"), nullptr);
  EXPECT_EQ(m.for_cann("8.1.RC1.alpha001").size(), 4u);  // 2.5.1, 2.4.0.post4, 2.3.1.post6, 2.1.0.post12
  auto* py = m.python_for_torch("2.5.1+cpu");
  ASSERT_NE(py, nullptr);
  EXPECT_EQ(py->python, (std::vector<std::string>{"3.9", "3.10", "3.11"}));
  auto* va = m.for_vllm_ascend("v0.8.5rc1");
  ASSERT_NE(va, nullptr);
  EXPECT_EQ(va->vllm, "0.8.5.post1");
  EXPECT_EQ(va->cann, "8.1.RC1");
  EXPECT_EQ(va->torch_npu, "2.5.1");
}

TEST(Versions, ContradictionsAreReported) {
  VersionMatrix m;
  m.torch_npu = {{"2.5.1", "b", "2.5.1", "8.1.RC1", "s"}, {"2.5.1", "b", "2.6.0", "8.2.RC1", "s"}};
  m.vllm_ascend = {{"0.8.5rc1", "0.8.5", "", "8.1.RC1", "2.5.1", "2.5.1", ""}};
  auto c = m.contradictions();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_NE(c[0].find("maps to torch 2.5.1"), std::string::npos);
  EXPECT_NE(c[1].find("no source"), std::string::npos);
}

TEST(Versions, ReleaseOf) {
  EXPECT_EQ(release_of("8.1.RC1.alpha001"), "8.1.RC1");
  EXPECT_EQ(release_of("2.6.0+cu118"), "2.6.0");
  EXPECT_EQ(release_of("8.0.0"), "8.0.0");
}

TEST(Versions, CompareAndSatisfy) {
  EXPECT_LT(compare_versions("2.9.0", "2.10.0"), 0);
  EXPECT_LT(compare_versions("0.8.5", "0.8.5.post1"), 0);
  EXPECT_LT(compare_versions("0.9.0rc1", "0.9.0"), 0);
  EXPECT_LT(compare_versions("0.9.0rc1", "0.9.0rc2"), 0);
  EXPECT_EQ(compare_versions("2.6.0+cu118", "2.6.0"), 0);
  EXPECT_EQ(compare_versions("v0.8.5", "0.8.5.0"), 0);
  EXPECT_LT(compare_versions("8.1.RC1", "8.1.0"), 0);
  EXPECT_FALSE(satisfies("4.46.3", ">=", "4.51.1"));
  EXPECT_TRUE(satisfies("4.57.4", ">=", "4.51.1"));
  EXPECT_TRUE(satisfies("1.26.4", "<", "2.0.0"));
}

TEST(Versions, RequirementNotesAreLoaded) {
  auto m = VersionMatrix::load(test::source_dir() / "patches");
  bool vllm = false, va = false;
  for (auto& n : m.notes) {
    EXPECT_FALSE(n.source.empty());
    vllm |= n.package == "vllm" && n.version == "0.8.5" &&
            n.needs == std::vector<std::string>{"transformers>=4.51.1"};
    va |= n.package == "vllm-ascend" && n.version == "0.8.5rc1";
  }
  EXPECT_TRUE(vllm);
  EXPECT_TRUE(va);
}

}  // namespace kcat::kb

namespace kcat::kb {

TEST(Versions, FamiliesDefaultAndCannLine) {
  auto m = VersionMatrix::load(test::source_dir() / "patches");
  EXPECT_EQ(m.default_cann, "8.5.1");  // the plan's default route's CANN
  auto* f = m.family_for_torch("2.5.1");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->torchvision, "==0.20.*");
  EXPECT_EQ(f->torchaudio, "==2.5.*");
  ASSERT_TRUE(m.family_for_torch("2.10.0"));
  EXPECT_EQ(m.family_for_torch("2.10.0")->torchvision, "==0.25.*");  // not 2.1's row
  EXPECT_FALSE(m.tokenizers.empty());
  bool tilelang = false;
  for (auto& c : m.cuda_only) tilelang |= c.name == "tilelang" && !c.source.empty();
  EXPECT_TRUE(tilelang);
  // 8.5.1 has no torch_npu row of its own: 8.5.0's rows serve the patch release
  auto rows = m.for_cann_line("8.5.1");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front()->cann, "8.5.0");
  EXPECT_EQ(rows.front()->torch, "2.9.0");
  EXPECT_TRUE(m.for_cann_line("7.7.7").empty());
  EXPECT_EQ(m.contradictions(), std::vector<std::string>{});
}

}  // namespace kcat::kb
