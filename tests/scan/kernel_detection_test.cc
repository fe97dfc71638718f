// Issue 17 item 5: what a kernel library's port must touch, found on a small repository shaped like
// causal-conv1d / mamba (setup.py, kernel DSLs, CUDA graphs, container files).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "kcat/kb/rule.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/scanner.h"
#include "testsupport/support.h"

namespace kcat::scan {

namespace {

// rule id -> the lines (1-based) of file where it was found.
std::multimap<std::string, uint32_t> found_in(const ScanResult& r, const std::string& file) {
  std::multimap<std::string, uint32_t> out;
  for (auto& f : r.findings) {
    if (f.file == file) out.emplace(f.rule_id, f.span.start.line);
  }
  return out;
}

ScanResult scan_tree(const test::TempDir& dir, bool info = false) {
  ScanOptions o;
  o.root = dir.path();
  o.use_cache = false;
  o.include_info = info;
  return scan(o, kb::load_rules(test::source_dir() / "patches" / "rules"));
}

}  // namespace

TEST(KernelDetection, SetupPyBuildCodeOfACudaExtension) {
  test::TempDir dir;
  test::write(
      dir / "setup.py",
      "import os, subprocess\n"
      "from torch.utils.cpp_extension import CUDAExtension\n"
      "BASE_WHEEL_URL = \"https://github.com/o/r/releases/download/{tag_name}/{wheel_name}\"\n"
      "def bare_metal(cuda_dir):\n"
      "    return subprocess.check_output([cuda_dir + \"/bin/nvcc\", \"-V\"])\n"
      "def append_nvcc_threads(a):\n"
      "    return a + [\"--threads\", \"4\"]\n"
      "cc_flag = [\"-gencode\", \"arch=compute_80,code=sm_80\"]\n"
      "args = {\"nvcc\": [\"-O3\", \"-U__CUDA_NO_HALF_CONVERSIONS__\", \"--use_fast_math\", \"-lineinfo\"]}\n"
      "if os.environ.get(\"NVIDIA_PRODUCT_NAME\", \"\") == \"PyTorch\":\n"
      "    tv = os.environ.get(\"NVIDIA_PYTORCH_VERSION\")\n"
      "name = f\"{P}-{v}+cu{cv}torch{tv}cxx11abi{a}-{py}-{py}-{plat}.whl\"\n");
  test::git_init_commit(dir.path());
  auto r = scan_tree(dir);
  auto in = found_in(r, "setup.py");
  EXPECT_EQ(in.count("py.cuda-wheel-lookup"), 2u);  // the URL template and the wheel's name
  EXPECT_EQ(in.count("py.nvcc-run"), 1u);
  EXPECT_EQ(in.find("py.nvcc-run")->second, 5u);
  // -gencode, arch=compute_80..., -U__CUDA_NO_HALF_CONVERSIONS__, --use_fast_math, -lineinfo;
  // never "--threads" (argparse flags are spelled the same: a wrong finding is worse than a miss).
  EXPECT_EQ(in.count("py.nvcc-only-flag"), 5u);
  for (auto [b, e] = in.equal_range("py.nvcc-only-flag"); b != e; ++b) EXPECT_NE(b->second, 7u);
  EXPECT_EQ(in.count("py.ngc-container-env"), 2u);
}

TEST(KernelDetection, KernelDslsAreFoundAndNamedForTheirRecipe) {
  test::TempDir dir;
  test::write(dir / "pkg/cute_ops.py",
              "import cutlass.cute as cute\n"
              "@cute.kernel\n"
              "def k(x):\n"
              "    pass\n"
              "@cute.jit\n"
              "def launch(x):\n"
              "    k(x).launch(grid=[1, 1, 1])\n"
              "compiled = cute.compile(launch, 1)\n");
  test::write(dir / "pkg/tl_ops.py",
              "import tilelang\n"
              "import tilelang.language as T\n"
              "@tilelang.jit(out_idx=[-1])\n"
              "def f(M):\n"
              "    with T.Kernel(M, threads=128) as bx:\n"
              "        pass\n");
  test::write(dir / "bench.py",
              "try:\n"
              "    from quack.linear_cross_entropy import chunked_linear_cross_entropy\n"
              "except ImportError:\n"
              "    chunked_linear_cross_entropy = None\n"
              "def loss(x, t):\n"
              "    return chunked_linear_cross_entropy(x, t)\n");
  test::git_init_commit(dir.path());
  auto r = scan_tree(dir);
  auto cute = found_in(r, "pkg/cute_ops.py");
  EXPECT_EQ(cute.count("py.kernel-dsl-import"), 1u);
  EXPECT_EQ(cute.count("py.kernel-dsl"), 3u);  // @cute.kernel, @cute.jit, cute.compile
  auto tl = found_in(r, "pkg/tl_ops.py");
  EXPECT_EQ(tl.count("py.kernel-dsl-import"), 2u);
  EXPECT_EQ(tl.count("py.kernel-dsl"), 2u);  // @tilelang.jit, T.Kernel
  for (auto& f : r.findings) {
    if (f.rule_id.starts_with("py.kernel-dsl")) {
      EXPECT_EQ(f.recipe, "kernel-dsl-port");
      EXPECT_EQ(f.category, "kernel-dsl");
    }
  }
  // A guarded optional import is a warning, not a blocker.
  auto q = std::find_if(r.findings.begin(), r.findings.end(), [](auto& f) { return f.file == "bench.py"; });
  ASSERT_NE(q, r.findings.end());
  EXPECT_EQ(q->rule_id, "py.kernel-dsl-import");
  EXPECT_EQ(q->severity, Severity::Warning);
  // So is the use of a name that guarded import binds.
  auto use = std::find_if(r.findings.begin(), r.findings.end(),
                          [](auto& f) { return f.file == "bench.py" && f.span.start.line == 6; });
  ASSERT_NE(use, r.findings.end());
  EXPECT_EQ(use->rule_id, "py.kernel-dsl");
  EXPECT_EQ(use->severity, Severity::Warning);
}

TEST(KernelDetection, CudaGraphsAutocastGpuDtypeAndImportsInsideFunctions) {
  test::TempDir dir;
  test::write(dir / "m.py",
              "import torch\n"
              "def step(x, y):\n"
              "    import bitsandbytes as bnb\n"
              "    dtype = torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else y.dtype\n"
              "    if torch.cuda.is_current_stream_capturing():\n"
              "        pass\n"
              "    g = torch.cuda.CUDAGraph()\n"
              "    return model.generate(x, cg=True)\n");
  test::git_init_commit(dir.path());
  auto r = scan_tree(dir, true);
  auto in = found_in(r, "m.py");
  EXPECT_EQ(in.count("py.cuda-only-import"), 1u);
  EXPECT_EQ(in.count("py.autocast-gpu-dtype"), 1u);
  EXPECT_EQ(in.count("py.cuda-graph-npu"), 1u);
  EXPECT_EQ(in.count("py.cuda-graph"), 1u);
  ASSERT_EQ(in.count("py.cuda-graph-switch"), 1u);
  for (auto& f : r.findings) {
    if (f.rule_id == "py.cuda-graph-switch") {
      EXPECT_EQ(f.severity, Severity::Info);  // only a note
    }
  }
}

TEST(KernelDetection, ContainerFilesThatAskForAGpu) {
  test::TempDir dir;
  test::write(dir / ".devcontainer/devcontainer.json",
              "{\n  \"runArgs\": [\"--gpus\", \"all\"],\n  \"hostRequirements\": { \"gpu\": true }\n}\n");
  test::write(dir / "cog.yaml", "build:\n  gpu: true\n  cuda: \"11.8\"\n  python_version: \"3.11\"\n");
  test::write(dir / "docker-compose.yml",
              "services:\n  app:\n    deploy:\n      resources:\n        reservations:\n"
              "          devices:\n            - driver: nvidia\n              capabilities: [gpu]\n");
  test::write(dir / "run.sh", "docker run --gpus all img python train.py\n");
  test::write(dir / "config.json", "{ \"gpu\": true, \"args\": [\"--gpus\"] }\n");  // not a container file
  test::git_init_commit(dir.path());
  auto r = scan_tree(dir);
  auto dev = found_in(r, ".devcontainer/devcontainer.json");
  EXPECT_EQ(dev.count("container.gpus-flag"), 1u);
  EXPECT_EQ(dev.count("container.gpu-requirement"), 1u);
  auto cog = found_in(r, "cog.yaml");
  EXPECT_EQ(cog.count("container.gpu-requirement"), 1u);
  EXPECT_EQ(cog.count("container.cog-cuda"), 1u);
  EXPECT_EQ(found_in(r, "docker-compose.yml").count("container.nvidia-runtime"), 2u);
  EXPECT_EQ(found_in(r, "run.sh").count("container.gpus-flag"), 1u);
  EXPECT_TRUE(found_in(r, "config.json").empty());
}

}  // namespace kcat::scan

namespace kcat::scan {

TEST(KernelDetection, AKernelFindingNamesItsKernel) {
  test::TempDir dir;
  test::write(dir / "csrc/k.cu",
              "template <typename Ktraits>\n"
              "__global__ __launch_bounds__(Ktraits::kNThreads, Ktraits::kMinBlocks)\n"
              "void selective_scan_fwd_kernel(SSMParamsBase params) {\n"
              "}\n"
              "__global__ void __launch_bounds__(Traits::NumThreads, 1)\n"
              "mlp4_test_kernel(\n"
              "    float* x) {}\n"
              "__global__ void add(float* x) { /* __global__ void not_me() */ }\n");
  test::git_init_commit(dir.path());
  ScanOptions o;
  o.root = dir.path();
  o.use_cache = false;
  auto r = scan(o, kb::load_rules(test::source_dir() / "patches" / "rules"));
  std::vector<std::string> names;
  for (auto& f : r.findings) {
    if (f.rule_id == "cpp.global-kernel") names.push_back(f.matched);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"__global__ selective_scan_fwd_kernel",
                                             "__global__ mlp4_test_kernel", "__global__ add"}));
}

}  // namespace kcat::scan

namespace kcat::scan {

// A literal starting with '.' (".whl") once made every aliased binding "interesting" to the partial
// parse: a file using `np.` everywhere was parsed whole, and a cold scan of fla took 55% more CPU.
TEST(KernelDetection, ADotLeadingLiteralDoesNotMakeEveryStatementWorthParsing) {
  auto rules = kb::load_rules(test::source_dir() / "patches" / "rules");
  kb::Rule r;
  r.id = "user.wheel";
  r.languages = {"python"};
  r.category = "build";
  r.matcher = "python";
  r.match = {{"kind", "string"}, {"values", {"x.whl"}}};
  r.prefilter = {".whl"};
  rules.rules.push_back(r);
  std::string code = "import numpy as np\nimport torch\n";
  for (int i = 0; i < 40; ++i) {
    code += "def helper_" + std::to_string(i) + "(x):\n    y = np.asarray(x)\n    return np.sum(y) * " +
            std::to_string(i) + "\n\n";
  }
  code += "def main():\n    torch.cuda.synchronize()\n    w = 'x.whl'\n";
  SourceFile f("pkg/t.py", "python", code);
  AnalyzeStats partial, whole;
  auto a = analyze_python(f, rules, &partial, PythonParse::Partial);
  auto b = analyze_python(f, rules, &whole, PythonParse::Whole);
  EXPECT_EQ(nlohmann::json(a).dump(), nlohmann::json(b).dump());
  EXPECT_EQ(std::count_if(a.begin(), a.end(), [](auto& x) { return x.rule_id == "user.wheel"; }), 1);
  EXPECT_LT(partial.bytes_parsed * 4, whole.bytes_parsed) << "the np. statements are not parsed";
}

}  // namespace kcat::scan

namespace kcat::scan {

TEST(KernelDetection, TheCudaExtensionCallIsOneFindingNamingItsSources) {
  test::TempDir dir;
  test::write(dir / "setup.py",
              "from torch.utils.cpp_extension import CUDAExtension\n"
              "ext = []\n"
              "ext.append(\n"
              "    CUDAExtension(\n"
              "        name=\"k_cuda\",\n"
              "        sources=[\n"
              "            \"csrc/k.cpp\",\n"
              "            \"csrc/k_fwd.cu\",\n"
              "            'csrc/k_bwd.cu',\n"
              "        ],\n"
              "    )\n"
              ")\n");
  test::git_init_commit(dir.path());
  ScanOptions o;
  o.root = dir.path();
  o.use_cache = false;
  auto r = scan(o, kb::load_rules(test::source_dir() / "patches" / "rules"));
  std::vector<const Finding*> calls;
  for (auto& f : r.findings) {
    if (f.rule_id == "py.cuda-extension") calls.push_back(&f);
  }
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]->span.start.line, 4u);
  EXPECT_NE(calls[0]->message.find("(2 CUDA source(s): csrc/k_fwd.cu, csrc/k_bwd.cu)"), std::string::npos)
      << calls[0]->message;
}

}  // namespace kcat::scan

namespace kcat::scan {

TEST(KernelDetection, TritonLaunchesOfKernelsDefinedInAnotherModule) {
  test::TempDir dir;
  test::write(dir / "pkg/__init__.py", "");
  test::write(dir / "pkg/ops/__init__.py", "");
  test::write(dir / "pkg/ops/kernels.py",
              "import triton\n"
              "import triton.language as tl\n"
              "@triton.autotune(\n"
              "    configs=[triton.Config({'B': 64})],\n"
              "    key=['n'],\n"
              ")\n"
              "@triton.jit\n"
              "def _fwd_kernel(x, n, B: tl.constexpr):\n"
              "    pass\n"
              "def helper(x):\n"
              "    return x\n"
              "_fwd_kernel[(1,)](1, 2)\n");  // a same-file launch: the @triton.jit is found there already
  test::write(dir / "pkg/layer.py",
              "from .ops.kernels import _fwd_kernel, helper\n"
              "from pkg.ops import kernels as K\n"
              "from .util import TABLE\n"
              "def run(x, grid):\n"
              "    _fwd_kernel[grid](x, 4)\n"
              "    K._fwd_kernel[(4,)](x, 4)\n"
              "    # _fwd_kernel[grid](x, 4)\n"
              "    TABLE['a'](x)\n"
              "    K.helper(x)\n"
              "    handlers = {}\n"
              "    return handlers[x](x)\n");
  test::write(dir / "pkg/util.py", "TABLE = {'a': abs}\n");
  test::git_init_commit(dir.path());
  ScanOptions o;
  o.root = dir.path();
  o.use_cache = false;
  auto r = scan(o, kb::load_rules(test::source_dir() / "patches" / "rules"));
  std::vector<std::pair<uint32_t, std::string>> launches;
  for (auto& f : r.findings) {
    if (f.rule_id == "py.triton-launch" && f.file == "pkg/layer.py")
      launches.emplace_back(f.span.start.line, f.matched);
  }
  EXPECT_EQ(launches, (std::vector<std::pair<uint32_t, std::string>>{{5, "pkg.ops.kernels._fwd_kernel"},
                                                                     {6, "pkg.ops.kernels._fwd_kernel"}}));
  for (auto& f : r.findings) {
    if (f.file == "pkg/ops/kernels.py" && f.span.start.line == 12)
      ADD_FAILURE() << "same-file launch: " << f.rule_id;
  }
}

}  // namespace kcat::scan
