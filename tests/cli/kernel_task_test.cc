// The agent's kernel task for a CUDA extension (issue 17 item 3), through the real binary: a scripted
// model (the fake OpenAI-compatible server) ports the kernels of three extensions on a local "host"
// (the local exec backend), and the optimize loop judges each port against the reference's output
// and the fallback's speed. The CPU workload (tests/fixtures/optimize) stands in for the package:
// its output dump is the oracle's (the baseline is the reference fallback), its config.h switches
// are the three ports: a wrong one (faster, output differs), a slow one and a right, faster one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

namespace kcat {
namespace {

const char* kToml = R"([build]
command = "cc -O2 -o wl workload.c -lm"

[bench]
command = "./wl --tokens 3000 --dump out.npy"
metric = 'throughput: ([0-9.]+)'
unit = "tok/s"
runs = 3

[optimize]
output = "out.npy"
rtol = 1e-3
atol = 1e-4
recipe_dirs = ["team-recipes"]
)";

// Three CUDA extensions, each with a reference named after it and a test that calls it.
const char* kSetup = R"(import os
from torch.utils.cpp_extension import CUDAExtension
SKIP_CUDA_BUILD = os.getenv("WL_SKIP_CUDA_BUILD", "FALSE") == "TRUE"
ext_modules = []
if not SKIP_CUDA_BUILD:
    ext_modules.append(CUDAExtension(name="mean_cuda", sources=["csrc/mean.cpp", "csrc/mean.cu"]))
    ext_modules.append(CUDAExtension(name="tile_cuda", sources=["csrc/tile.cu"]))
    ext_modules.append(CUDAExtension(name="rms_cuda", sources=["csrc/rms.cu"]))
)";

std::string edit(const char* search, const char* replace) {
  return nlohmann::json{{"path", "config.h"}, {"search", search}, {"replace", replace}}.dump();
}

TEST(KernelTask, APortIsKeptOnlyWhenItMatchesTheReferenceAndIsFaster) {
  test::TempDir dir;
  test::copy_tree(test::fixtures_dir() / "optimize/workload", dir.path());
  test::copy_tree(test::fixtures_dir() / "optimize/recipes", dir / "team-recipes");
  test::write(dir / "kcat.toml", kToml);
  test::write(dir / "setup.py", kSetup);
  for (auto* k : {"mean", "tile", "rms"}) {
    test::write(dir / (std::string("csrc/") + k + ".cu"),
                std::string("__global__ void ") + k + "_kernel(float* x) {}\n");
    test::write(dir / (std::string("pkg/") + k + ".py"),
                std::string("def ") + k + "_ref(x):\n    return x\n");
    test::write(dir / (std::string("tests/test_") + k + ".py"), std::string("from pkg.") + k + " import " +
                                                                    k + "_ref\n\ndef test():\n    assert " +
                                                                    k + "_ref(1) == 1\n");
  }
  test::git_init_commit(dir.path());
  auto hash = test::sh("git hash-object kcat.toml", dir.path()).out;
  test::FakeLlm fake(
      {test::reply_tool_call("edit_file", edit("#define KCAT_MEAN_STRIDE 1", "#define KCAT_MEAN_STRIDE 8")),
       test::reply_tool_call("finish_step", R"({"status": "done", "summary": "sampled mean kernel"})"),
       test::reply_tool_call("edit_file", edit("#define KCAT_TILE 1024", "#define KCAT_TILE 4")),
       test::reply_tool_call("finish_step", R"({"status": "done", "summary": "tiled kernel"})"),
       test::reply_tool_call("edit_file",
                             edit("#define KCAT_FUSED_RMSNORM 0", "#define KCAT_FUSED_RMSNORM 1")),
       test::reply_tool_call("finish_step", R"({"status": "done", "summary": "fused rms kernel"})")});
  auto r = test::kcat(
      {"optimize", dir.path().string(), "--recipe", "small-tiles", "--target-speedup", "1.3", "--log-format",
       "json", "--trust-repo-config", hash.substr(0, hash.find('\n'))},
      {},
      {{"KCAT_LLM_BASE_URL", fake.base_url()}, {"KCAT_LLM_MODEL", "fake"}, {"HOME", dir.path().string()}});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  ASSERT_EQ(j["iterations"].size(), 5u) << j.dump(1);
  const auto& wrong = j["iterations"][2];
  EXPECT_EQ(wrong["recipe"], "kernel-mean_cuda");
  EXPECT_EQ(wrong["outcome"], "reverted");
  // Refused with the numbers: what differs, by how much, at which tolerance.
  auto why = wrong["reason"].get<std::string>();
  EXPECT_NE(why.find("the output differs from the reference"), std::string::npos) << why;
  EXPECT_NE(why.find("max abs error"), std::string::npos) << why;
  EXPECT_EQ(j["iterations"][3]["recipe"], "kernel-tile_cuda");
  EXPECT_EQ(j["iterations"][3]["outcome"], "reverted");  // matches, slower: not kept
  EXPECT_EQ(j["iterations"][3]["reason"].get<std::string>().find("differs"), std::string::npos);
  EXPECT_EQ(j["iterations"][4]["recipe"], "kernel-rms_cuda");
  EXPECT_EQ(j["iterations"][4]["outcome"], "kept");
  auto config = test::read(dir / "config.h");
  EXPECT_NE(config.find("KCAT_FUSED_RMSNORM 1"), std::string::npos);
  EXPECT_NE(config.find("KCAT_MEAN_STRIDE 1"), std::string::npos);
  EXPECT_NE(config.find("KCAT_TILE 1024"), std::string::npos);
  // The model was given the contract with this extension's files and oracle.
  auto first = fake.requests().at(0)["messages"][1]["content"].get<std::string>();
  EXPECT_NE(first.find("Extension mean_cuda (setup.py:6)"), std::string::npos) << first;
  EXPECT_NE(first.find("Reference (the oracle): mean_ref (pkg/mean.py)"), std::string::npos) << first;
  EXPECT_NE(first.find("Tests that check it: tests/test_mean.py"), std::string::npos) << first;
  EXPECT_NE(first.find("Kernels: csrc/mean.cu:mean_kernel"), std::string::npos) << first;
}

}  // namespace
}  // namespace kcat

namespace kcat {
namespace {

// `kcat optimize --list` shows the agent recipe with its kind and no gain of its own.
TEST(KernelTask, TheAgentRecipeIsListedWithoutAGain) {
  test::TempDir dir;
  test::write(dir / "a.py", "x = 1\n");
  test::git_init_commit(dir.path());
  auto r = test::kcat({"optimize", dir.path().string(), "--list"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  auto at = r.out.find("cuda-extension-port");
  ASSERT_NE(at, std::string::npos) << r.out;
  auto line = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_NE(line.find(" agent "), std::string::npos) << line;
  EXPECT_NE(line.find("     -  Port a CUDA extension's kernels"), std::string::npos) << line;
}

}  // namespace
}  // namespace kcat

namespace kcat {
namespace {

// Without an LLM, the run report lists the extension as one item that says what its kernels need
// and why (not the generic "no LLM configured"), and its .cu findings are still left in their file.
TEST(KernelTask, WithoutAnLlmTheReportSaysWhatTheExtensionNeeds) {
  test::TempDir dir;
  test::write(dir / "setup.py", kSetup);
  test::write(dir / "csrc/mean.cu", "__global__ void mean_kernel(float* x) {}\n");
  test::write(dir / "pkg/mean.py", "def mean_ref(x):\n    return x\n");
  test::write(dir / "tests/test_mean.py",
              "from pkg.mean import mean_ref\n\ndef test():\n    assert mean_ref(1) == 1\n");
  test::git_init_commit(dir.path());
  auto r = test::kcat({"migrate", dir.path().string(), "--author", "T <t@example.com>"}, {},
                      {{"HOME", dir.path().string()}});
  auto rep = nlohmann::json::parse(test::read(dir / ".kcat/report.json"));
  std::string reason;
  for (const auto& s : rep["steps"])
    if (s["title"].get<std::string>().rfind("CUDA extension mean_cuda (setup.py:6)", 0) == 0)
      reason = s["reason"];
  ASSERT_FALSE(reason.empty()) << rep["steps"].dump(1) << r.err;
  EXPECT_NE(reason.find("set WL_SKIP_CUDA_BUILD=TRUE for pip install"), std::string::npos) << reason;
  EXPECT_NE(
      reason.find("needs an LLM (--llm or [llm]) and an Atlas host ([remote]) to port csrc/*.cu (1 files): "
                  "oracle mean_ref (pkg/mean.py) + tests/test_mean.py"),
      std::string::npos)
      << reason;
}

}  // namespace
}  // namespace kcat
