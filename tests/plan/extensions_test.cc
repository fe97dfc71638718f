#include "kcat/plan/extensions.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/plan/plan.h"
#include "testsupport/support.h"

namespace kcat::plan {
namespace {

// The shape of causal-conv1d's setup.py: a documented switch that skips the CUDA build.
const char* kSkipSwitch = R"(import os
from torch.utils.cpp_extension import CUDAExtension, BuildExtension
SKIP_CUDA_BUILD = os.getenv("PKG_SKIP_CUDA_BUILD", "FALSE") == "TRUE"
ext_modules = []
if not SKIP_CUDA_BUILD:
    cc_flag = ["-gencode", "arch=compute_80,code=sm_80"]
    if HIP_BUILD:
        cc_flag = []
    else:
        cc_flag.append("-lineinfo")
    ext_modules.append(
        CUDAExtension(
            name="pkg_cuda",
            sources=[
                "csrc/pkg.cpp",
                "csrc/pkg_fwd.cu",
            ],
        )
    )
)";

// The shape of mamba's: the CUDA build is opt-in.
const char* kOptIn = R"(import os
KEEP_CUDA_BUILD = os.getenv("PKG_KEEP_CUDA_BUILD", "FALSE") == "TRUE"
ext_modules = []
if KEEP_CUDA_BUILD:
    ext_modules.append(
        CUDAExtension(name="pkg_cuda", sources=["csrc/a.cu"])
    )
)";

// The shape of pytorch/extension-cpp's: CUDA only when torch sees it.
const char* kDetected = R"(import os, torch
def get_extensions():
    use_cuda = os.getenv("USE_CUDA", "1") == "1"
    use_cuda = use_cuda and torch.cuda.is_available() and CUDA_HOME is not None
    extension = CUDAExtension if use_cuda else CppExtension
    return [extension(f"{library_name}._C", sources)]
)";

const char* kUnconditional = R"(from torch.utils.cpp_extension import CUDAExtension
setup(name="x", ext_modules=[CUDAExtension("x_cuda", ["x.cu"])])
)";

size_t line_of(const std::string& text, const std::string& needle) {
  auto at = text.find(needle);
  return static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
}

TEST(ExtensionBuild, ADocumentedSkipSwitchIsUsedNotEdited) {
  auto b = setup_py_build(kSkipSwitch, line_of(kSkipSwitch, "CUDAExtension("));
  EXPECT_EQ(b.how, "switch") << b.reason;
  EXPECT_EQ(b.env, "PKG_SKIP_CUDA_BUILD=TRUE");
  EXPECT_NE(b.reason.find("if not SKIP_CUDA_BUILD:` (line 5)"), std::string::npos) << b.reason;
}

TEST(ExtensionBuild, AnOptInCudaBuildNeedsNothing) {
  auto b = setup_py_build(kOptIn, line_of(kOptIn, "CUDAExtension("));
  EXPECT_EQ(b.how, "off-by-default") << b.reason;
  EXPECT_EQ(b.env, "PKG_KEEP_CUDA_BUILD=TRUE");
  EXPECT_NE(b.reason.find("nothing to change"), std::string::npos);
}

TEST(ExtensionBuild, ACudaDetectingBuildNeedsNothing) {
  auto b = setup_py_build(kDetected, line_of(kDetected, "CUDAExtension if"));
  EXPECT_EQ(b.how, "cuda-detected") << b.reason;
  EXPECT_TRUE(b.env.empty());
}

TEST(ExtensionBuild, AnUnconditionalBuildIsReportedWithTheReason) {
  auto b = setup_py_build(kUnconditional, 1);
  EXPECT_EQ(b.how, "unconditional");
  EXPECT_TRUE(b.env.empty());
  EXPECT_NE(b.reason.find("does not edit"), std::string::npos);
}

// A switch kcat cannot name a value for, and an else branch, are left for a person, not guessed.
TEST(ExtensionBuild, WhatItCannotReadIsLeftForAPerson) {
  std::string neg_default_off =
      "import os\nX = os.getenv(\"V\", \"TRUE\") == \"TRUE\"\nif not X:\n"
      "    e = CUDAExtension(\"a\", [\"a.cu\"])\n";
  EXPECT_EQ(setup_py_build(neg_default_off, 3).how, "unknown");
  std::string in_else = "if HIP:\n    e = 1\nelse:\n    e = CUDAExtension(\"a\", [\"a.cu\"])\n";
  auto b = setup_py_build(in_else, 3);
  EXPECT_EQ(b.how, "unknown");
  EXPECT_NE(b.reason.find("`else` branch (line 3)"), std::string::npos) << b.reason;
  std::string other = "if sys.platform == 'linux':\n    e = CUDAExtension(\"a\", [\"a.cu\"])\n";
  EXPECT_EQ(setup_py_build(other, 1).how, "unknown");
}

void write_repo(const test::TempDir& d) {
  test::write(d / "setup.py", kSkipSwitch);
  test::write(d / "csrc/pkg.cpp", "#include <torch/extension.h>\n");
  test::write(d / "csrc/pkg_fwd.cu",
              "template <typename K>\n__global__ __launch_bounds__(K::kN)\nvoid pkg_fwd_kernel(float* x) {}\n"
              "__global__ void pkg_other_kernel(float* x) {}\n");
  test::write(d / "csrc/pkg_common.cuh", "#pragma once\n");
  test::write(d / "csrc/unrelated/other.cu", "__global__ void not_built(float* x) {}\n");
  test::write(d / "pkg/interface.py",
              "import pkg_cuda\n\ndef pkg_fn(x):\n    return pkg_cuda.fwd(x)\n\n"
              "def pkg_ref(x):\n    return x\n\ndef other_ref(x):\n    return x\n");
  test::write(d / "tests/test_pkg.py",
              "from pkg.interface import pkg_fn, pkg_ref\n\ndef test_fwd():\n"
              "    assert pkg_fn(1) == pkg_ref(1)\n");
  test::write(d / "tests/test_other.py", "def test_nothing():\n    pass\n");
}

TEST(CudaExtensions, OneItemWithItsFilesKernelsAndOracle) {
  test::TempDir d;
  write_repo(d);
  auto exts = find_cuda_extensions(d.path());
  ASSERT_EQ(exts.size(), 1u);
  const auto& e = exts[0];
  EXPECT_EQ(e.name, "pkg_cuda");
  EXPECT_EQ(e.build_file, "setup.py");
  EXPECT_EQ(e.line, 12);
  EXPECT_EQ(e.cu_files, (std::vector<std::string>{"csrc/pkg_common.cuh", "csrc/pkg_fwd.cu"}));
  EXPECT_EQ(e.kernels,
            (std::vector<std::string>{"csrc/pkg_fwd.cu:pkg_fwd_kernel", "csrc/pkg_fwd.cu:pkg_other_kernel"}));
  EXPECT_EQ(e.build.how, "switch");
  EXPECT_EQ(e.references, (std::vector<std::string>{"pkg_ref (pkg/interface.py)"}));  // not other_ref
  EXPECT_EQ(e.tests, (std::vector<std::string>{"tests/test_pkg.py"}));
  EXPECT_EQ(e.users, (std::vector<std::string>{"pkg/interface.py"}));
}

// A setup.py with CRLF line endings: the call's arguments are read from the right bytes.
TEST(CudaExtensions, CrlfLineEndingsReadTheSameSources) {
  test::TempDir d;
  std::string crlf;
  for (char c : std::string(kSkipSwitch)) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  test::write(d / "setup.py", crlf);
  test::write(d / "csrc/pkg_fwd.cu", "__global__ void k(float* x) {}\n");
  auto exts = find_cuda_extensions(d.path());
  ASSERT_EQ(exts.size(), 1u);
  EXPECT_EQ(exts[0].name, "pkg_cuda");
  EXPECT_EQ(exts[0].cu_files, (std::vector<std::string>{"csrc/pkg_fwd.cu"}));
  EXPECT_EQ(exts[0].build.how, "switch");
}

// The extension's name is repository text: matched literally, never as a pattern.
TEST(CudaExtensions, TheNameIsMatchedLiterally) {
  test::TempDir d;
  test::write(d / "setup.py", "e = CUDAExtension(name=\"p+_cuda\", sources=[\"k.cu\"])\n");
  test::write(d / "k.cu", "__global__ void k(float* x) {}\n");
  test::write(d / "other.py", "import ppp_cuda\n");
  auto exts = find_cuda_extensions(d.path());
  ASSERT_EQ(exts.size(), 1u);
  EXPECT_EQ(exts[0].name, "p+_cuda");
  EXPECT_TRUE(exts[0].users.empty());
}

TEST(CudaExtensions, AnImportOfCudaExtensionIsNotAnExtension) {
  test::TempDir d;
  test::write(d / "setup.py",
              "from torch.utils.cpp_extension import CUDAExtension\n# CUDAExtension(\nsetup()\n");
  EXPECT_TRUE(find_cuda_extensions(d.path()).empty());
}

TEST(CudaExtensions, ACMakeCudaTargetIsReportedNotEdited) {
  test::TempDir d;
  test::write(d / "CMakeLists.txt",
              "project(k LANGUAGES CXX CUDA)\nadd_library(k SHARED src/k.cu src/k.cpp)\n");
  test::write(d / "src/k.cu", "__global__ void k_kernel() {}\n");
  auto exts = find_cuda_extensions(d.path());
  ASSERT_EQ(exts.size(), 1u);
  EXPECT_EQ(exts[0].line, 1);
  EXPECT_EQ(exts[0].cu_files, (std::vector<std::string>{"src/k.cu"}));
  EXPECT_EQ(exts[0].build.how, "unknown");
  EXPECT_NE(exts[0].build.reason.find("check_language(CUDA)"), std::string::npos);
}

TEST(CudaExtensions, ThePlanSaysWhatIsNeededAndWhy) {
  test::TempDir d;
  write_repo(d);
  auto exts = find_cuda_extensions(d.path());
  auto needs = extension_needs(exts[0], false, false);
  EXPECT_NE(
      needs.find("needs an LLM (--llm or [llm]) and an Atlas host ([remote]) to port csrc/*.cu (1 files)"),
      std::string::npos)
      << needs;
  EXPECT_NE(needs.find("oracle pkg_ref (pkg/interface.py) + tests/test_pkg.py"), std::string::npos) << needs;
  EXPECT_EQ(extension_needs(exts[0], true, true).find("needs "), std::string::npos);
  EXPECT_NE(extension_needs(exts[0], true, false).find("needs an Atlas host ([remote])"), std::string::npos);
  auto without = exts[0];
  without.references.clear();
  EXPECT_NE(extension_needs(without, true, true).find("no oracle found"), std::string::npos);

  Plan p;
  Step perf;
  perf.id = "performance-1";
  perf.phase = Phase::Performance;
  Step kern;
  kern.id = "kernels-build-1";
  kern.phase = Phase::CustomKernelsBuild;
  p.steps = {kern, perf};
  add_extensions(p, exts, false, false);
  ASSERT_EQ(p.steps.size(), 3u);
  const auto& s = p.steps[1];
  EXPECT_EQ(s.id, "kernels-build-2");
  EXPECT_TRUE(s.findings.empty());  // the .cu findings stay in their file-level steps
  EXPECT_EQ(s.commands, (std::vector<std::string>{"PKG_SKIP_CUDA_BUILD=TRUE pip install ."}));
  EXPECT_EQ(p.steps[2].id, "performance-1");
  nlohmann::json j = p;
  EXPECT_EQ(j["steps"][1]["extension"]["kernels"].size(), 2u);
  EXPECT_EQ(j["steps"][1]["extension"]["build"]["how"], "switch");
  auto md = render_markdown(p);
  EXPECT_NE(md.find("- kernel `csrc/pkg_fwd.cu:pkg_fwd_kernel`"), std::string::npos) << md;
}

}  // namespace
}  // namespace kcat::plan
