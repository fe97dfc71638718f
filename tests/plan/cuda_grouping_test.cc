// Issue 17 item 5: a CUDA source file is one item of the plan, naming its kernels; the step keeps
// every site (kcat migrate works from them) and the counts stay the sites'.
#include <gtest/gtest.h>

#include "kcat/plan/plan.h"

namespace kcat::plan {

namespace {

Finding site(std::string file, uint32_t line, std::string rule, std::string matched) {
  Finding f;
  f.file = std::move(file);
  f.span.begin = line * 10;
  f.span.start.line = line;
  f.rule_id = std::move(rule);
  f.category = "kernel";
  f.severity = Severity::Blocking;
  f.matched = std::move(matched);
  f.recipe = "cuda-extension-port";
  f.action = "rewrite as an Ascend C kernel";
  return f;
}

std::vector<Finding> kernels() {
  std::vector<Finding> out;
  out.push_back(site("csrc/conv_fwd.cu", 40, "cpp.global-kernel", "__global__ conv_fwd_kernel"));
  for (uint32_t l = 41; l < 141; ++l)
    out.push_back(site("csrc/conv_fwd.cu", l, "cpp.cuda-device-qualifier", "threadIdx.x"));
  out.push_back(site("csrc/conv_fwd.cu", 206, "cpp.global-kernel", "__global__ conv_channellast_fwd_kernel"));
  out.push_back(site("csrc/reduce.cuh", 3, "cpp.cuda-device-qualifier", "__device__"));
  out.push_back(site("csrc/binding.cpp", 7, "cpp.aten-cuda", "at::cuda::getCurrentCUDAStream"));
  auto llm = site("csrc/conv_fwd.cu", 300, "cpp.cuda-types", "cudaStream_t");  // another step's site
  llm.recipe.clear();
  llm.action = "use aclrtStream";
  out.push_back(llm);
  return out;
}

}  // namespace

TEST(PlanCudaFiles, OneLinePerCudaFileNamingItsKernels) {
  auto p = make_plan(kernels(), "repo", "ascend-a2");
  ASSERT_EQ(p.steps.size(), 2u);
  EXPECT_EQ(p.steps[0].findings.size(), 104u);  // every site is still in the step
  auto md = render_markdown(p);
  EXPECT_NE(md.find("104 site(s) in 2 CUDA source file(s) (.cu/.cuh)"), std::string::npos) << md;
  // The LLM step's line for the same file names the kernels found in the recipe step's sites.
  EXPECT_NE(md.find("- `csrc/conv_fwd.cu` CUDA source file: 1 site(s), 1 blocking; kernels: conv_fwd_kernel, "
                    "conv_channellast_fwd_kernel — use aclrtStream"),
            std::string::npos);
  EXPECT_NE(
      md.find("- `csrc/conv_fwd.cu` CUDA source file: 102 site(s), 102 blocking; kernels: conv_fwd_kernel, "
              "conv_channellast_fwd_kernel — rewrite as an Ascend C kernel"),
      std::string::npos)
      << md;
  EXPECT_NE(
      md.find("- `csrc/reduce.cuh` CUDA source file: 1 site(s), 1 blocking; no __global__ kernel found"),
      std::string::npos);
  EXPECT_EQ(md.find("`csrc/conv_fwd.cu:4"), std::string::npos);  // no per-site lines for a CUDA file
  EXPECT_NE(md.find("- `csrc/binding.cpp:7` cpp.aten-cuda"), std::string::npos);  // C++ sites stay one each
  EXPECT_EQ(md.find("… and"), std::string::npos);
  EXPECT_NE(md.find("| kernels-build-1 | kernels-build | recipe | medium | 104 |"), std::string::npos);
}

TEST(PlanCudaFiles, KernelDslFindingsAreKernelWork) {
  Finding f;
  f.file = "pkg/ops.py";
  f.rule_id = "py.kernel-dsl";
  f.category = "kernel-dsl";
  f.severity = Severity::Blocking;
  f.recipe = "kernel-dsl-port";
  auto p = make_plan({f}, "repo", "ascend-a2");
  ASSERT_EQ(p.steps.size(), 1u);
  EXPECT_EQ(p.steps[0].phase, Phase::CustomKernelsBuild);
  EXPECT_EQ(p.effort["pkg/ops.py"], "high");
  Finding c;
  c.file = "cog.yaml";
  c.rule_id = "container.cog-cuda";
  c.category = "container";
  c.severity = Severity::Blocking;
  EXPECT_EQ(make_plan({c}, "repo", "ascend-a2").steps[0].phase, Phase::Environment);
}

}  // namespace kcat::plan
