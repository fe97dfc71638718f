// The headline case, on a repository of our own with DeepSeek-OCR-2's shape
// (tests/fixtures/ocr2/repo): migrate ports every CUDA tie that rules and recipes can port, the
// plan explains both routes, requirements resolves the transformers pin. Real DeepSeek-OCR-2 runs
// are described in docs/deepseek-ocr2.md.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;

struct Ocr2 {
  test::TempDir dir;
  Ocr2() {
    test::copy_tree(test::fixtures_dir() / "ocr2/repo", dir.path());
    test::git_init_commit(dir.path());
  }
  std::string file(const std::string& rel) { return test::read(dir / rel); }
};

TEST(Ocr2, MigratePortsEveryTieRulesAndRecipesCanPort) {
  Ocr2 r;
  auto res = test::kcat(
      {"migrate", r.dir.path().string(), "--target", "ascend-a2", "--author", "T <t@example.com>"});
  ASSERT_NE(res.exit_code, 2) << res.out << res.err;
  ASSERT_NE(res.exit_code, 3) << res.out << res.err;

  auto sam = r.file("ocr_vllm/deepencoder/sam_sdpa.py");
  EXPECT_EQ(sam.find("from flash_attn import"), std::string::npos) << sam;
  EXPECT_NE(sam.find("from .flash_attn_npu import flash_attn_qkvpacked_func"), std::string::npos) << sam;
  // SDPA with a float bias runs on the NPU: a performance recipe (kcat optimize), not part of the port.
  EXPECT_NE(sam.find("torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)"),
            std::string::npos)
      << sam;
  EXPECT_TRUE(fs::exists(r.dir / "ocr_vllm/deepencoder/flash_attn_npu.py"));

  auto image = r.file("ocr_vllm/run_ocr_image.py");
  EXPECT_EQ(image.find("CUDA_VISIBLE_DEVICES"), std::string::npos) << image;
  EXPECT_NE(image.find("ASCEND_RT_VISIBLE_DEVICES"), std::string::npos);
  auto hf = r.file("ocr_hf/run_ocr_hf.py");
  EXPECT_EQ(hf.find("flash_attention_2"), std::string::npos) << hf;
  EXPECT_EQ(hf.find(".cuda()"), std::string::npos) << hf;
  EXPECT_NE(hf.find(".npu()"), std::string::npos);
  auto launch = r.file("scripts/launch.sh");
  EXPECT_NE(launch.find("ASCEND_RT_VISIBLE_DEVICES=0"), std::string::npos) << launch;
  EXPECT_EQ(launch.find("nvidia-smi"), std::string::npos) << launch;
  auto moe = r.file("ocr_vllm/model_moe.py");
  EXPECT_EQ(moe.find(".cuda()"), std::string::npos) << moe;

  // Every Python file still parses.
  for (auto& e : fs::recursive_directory_iterator(r.dir.path())) {
    if (e.path().extension() != ".py" || e.path().string().find("/.kcat/") != std::string::npos) continue;
    auto rc = test::run(
        {"python3", "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", e.path().string()});
    EXPECT_EQ(rc.exit_code, 0) << e.path() << rc.err;
  }

  // The report says what recipes fixed, and the plan carries both routes with the default first.
  auto report = nlohmann::json::parse(r.file(".kcat/report.json"));
  EXPECT_GE(report["totals"]["fixed_by_recipe"].get<int>(), 1) << report["totals"].dump();
  auto plan = nlohmann::json::parse(r.file(".kcat/plan.json"));
  ASSERT_GE(plan["notes"].size(), 2u);
  EXPECT_NE(plan["notes"][0].get<std::string>().find("ocr2-native-vllm-ascend"), std::string::npos);
  EXPECT_EQ(plan["steps"][0]["id"], "environment-route");

  // Commits carry what did it.
  auto log = test::sh("git log --format=%B kcat/ascend-a2", r.dir.path()).out;
  EXPECT_NE(
      log.find("Source: Ascend/op-plugin:docs/zh/custom_APIs/torch_npu/torch_npu-npu_fusion_attention.md"),
      std::string::npos)
      << log;

  // A second run changes nothing.
  auto again = test::kcat(
      {"migrate", r.dir.path().string(), "--target", "ascend-a2", "--author", "T <t@example.com>"});
  EXPECT_NE(again.out.find("nothing to change"), std::string::npos) << again.out << again.err;
}

TEST(Ocr2, PlanExplainsBothRoutesAndHonoursTheChoice) {
  Ocr2 r;
  auto res = test::kcat({"plan", r.dir.path().string()});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_NE(res.out.find("route ocr2-native-vllm-ascend"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("route ocr2-faithful-v085"), std::string::npos);
  EXPECT_NE(res.out.find("the highest expected throughput"), std::string::npos);
  auto faithful = test::kcat({"plan", r.dir.path().string(), "--route", "ocr2-faithful-v085"});
  ASSERT_EQ(faithful.exit_code, 0) << faithful.err;
  EXPECT_NE(faithful.out.find("pip install vllm-ascend==0.8.5rc1"), std::string::npos) << faithful.out;
  auto bad = test::kcat({"plan", r.dir.path().string(), "--route", "nope"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("routes that fit: "), std::string::npos) << bad.err;
}

// Issue 16: the plan tells users to choose a route with --route; migrate applies the same choice
// (its stack in requirements-ascend.txt, the route step and notes in the plan), and refuses an
// unknown route before anything changes.
TEST(Ocr2, MigrateAppliesTheRouteChosenWithRoute) {
  Ocr2 r;
  auto bad =
      test::kcat({"migrate", r.dir.path().string(), "--route", "nope", "--author", "T <t@example.com>"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("unknown route 'nope'"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("ocr2-faithful-v085"), std::string::npos) << bad.err;
  EXPECT_EQ(test::sh("git branch --list 'kcat/*'", r.dir.path()).out, "") << "nothing changed";

  auto res = test::kcat(
      {"migrate", r.dir.path().string(), "--route", "ocr2-faithful-v085", "--author", "T <t@example.com>"});
  ASSERT_NE(res.exit_code, 2) << res.out << res.err;
  ASSERT_NE(res.exit_code, 3) << res.out << res.err;
  auto req = r.file("requirements-ascend.txt");
  EXPECT_NE(req.find("vllm-ascend==0.8.5rc1"), std::string::npos) << req;
  EXPECT_EQ(req.find("vllm-ascend==0.19.1rc1"), std::string::npos) << req;
  auto plan = nlohmann::json::parse(r.file(".kcat/plan.json"));
  ASSERT_GE(plan["notes"].size(), 2u);
  EXPECT_NE(plan["notes"][0].get<std::string>().find("route ocr2-faithful-v085"), std::string::npos)
      << plan["notes"].dump();
  EXPECT_NE(plan["notes"][0].get<std::string>().find("chosen with --route"), std::string::npos);
}

TEST(Ocr2, RequirementsResolveTheTransformersPinAgainstVllm) {
  Ocr2 r;
  auto res = test::kcat({"requirements", r.dir.path().string(), "--cann", "8.1.RC1"});
  ASSERT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("vllm-ascend==0.8.5rc1"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("torch-npu==2.5.1"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("\n# flash-attn==2.7.3  # kcat: dropped"), std::string::npos) << res.out;
  EXPECT_EQ(res.out.find("\nflash-attn"), std::string::npos) << "flash-attn is only kept as a comment";
  EXPECT_NE(res.out.find("transformers>=4.51.1"), std::string::npos) << res.out;
}

}  // namespace
}  // namespace kcat
