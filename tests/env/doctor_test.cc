#include "kcat/env/doctor.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "testsupport/support.h"

namespace kcat::env {

namespace {

kb::VersionMatrix matrix() { return kb::VersionMatrix::load(test::source_dir() / "patches"); }

// A copy, so a missing check fails the test instead of dereferencing nothing.
Check find(const std::vector<Check>& cs, const std::string& what) {
  for (auto& c : cs) {
    if (c.what == what) return c;
  }
  ADD_FAILURE() << "no check named " << what;
  return {};
}

}  // namespace

TEST(Doctor, ParsesTheToolkitInfoAndNpuSmi) {
  EXPECT_EQ(parse_toolkit_info("package_name=x\nversion=8.1.RC1.alpha001\narch=aarch64\n"),
            "8.1.RC1.alpha001");
  Probe p;
  auto smi = test::run({(test::fixtures_dir() / "env/bin/npu-smi").string(), "info"});
  parse_npu_smi(smi.out, p);
  EXPECT_EQ(p.npu_smi, "24.1.rc1");
  EXPECT_EQ(p.chips, std::vector<std::string>{"0: 910B3 (OK)"});
}

TEST(Doctor, ChecksAgainstTheMatrixAndSaysHowToFix) {
  Probe p;
  p.cann = "8.1.RC1.alpha001";
  p.npu_smi = "24.1.rc1";
  p.python = "3.10.14";
  p.packages = {{"torch-npu", "2.5.1"}, {"torch", "2.6.0+cu118"}};
  p.env = {{"CUDA_VISIBLE_DEVICES", "0"}};
  auto cs = check(p, matrix());
  auto torch = find(cs, "torch");
  EXPECT_EQ(torch.status, "mismatch");
  EXPECT_EQ(torch.expected, "2.5.1");
  EXPECT_EQ(torch.fix, "pip install torch==2.5.1 --index-url https://download.pytorch.org/whl/cpu");
  EXPECT_EQ(find(cs, "CANN for torch_npu 2.5.1").status, "ok");
  EXPECT_EQ(find(cs, "python for torch 2.5.1").status, "ok");
  EXPECT_EQ(find(cs, "CUDA_VISIBLE_DEVICES").status, "warning");

  p.cann = "8.0.0";
  p.python = "3.12.1";
  cs = check(p, matrix());
  auto cann = find(cs, "CANN for torch_npu 2.5.1");
  EXPECT_EQ(cann.status, "mismatch");
  EXPECT_NE(cann.fix.find("install CANN 8.1.RC1"), std::string::npos);
  EXPECT_NE(cann.fix.find("torch-npu==2.4.0.post2"), std::string::npos)
      << cann.fix;  // what CANN 8.0.0 can run
  EXPECT_EQ(find(cs, "python for torch 2.5.1").status, "mismatch");
}

TEST(Doctor, NothingInstalledSaysWhatToInstall) {
  Probe p;
  p.cann = "8.1.RC1";
  auto cs = check(p, matrix());
  EXPECT_EQ(find(cs, "driver (npu-smi)").status, "missing");
  auto tn = find(cs, "torch_npu");
  EXPECT_EQ(tn.status, "missing");
  EXPECT_EQ(tn.fix,
            "pip install torch==2.5.1 --index-url https://download.pytorch.org/whl/cpu && pip install "
            "torch-npu==2.5.1");
}

TEST(Doctor, ProbesARealProcessTreeThroughTheRunner) {
  test::TempDir dir;
  test::write(dir / "pip.json",
              R"([{"name": "torch", "version": "2.5.1+cpu"}, {"name": "torch_npu", "version": "2.5.1"},
                                  {"name": "vllm", "version": "0.8.5.post1"}, {"name": "vllm-ascend", "version": "0.8.5rc1"}])");
  auto bin = (test::fixtures_dir() / "env/bin").string();
  setenv("PATH", (bin + ":" + std::getenv("PATH")).c_str(), 1);
  setenv("KCAT_FAKE_PIP", (dir / "pip.json").c_str(), 1);
  auto runner = exec::local_runner();
  auto p = probe(*runner, (test::fixtures_dir() / "env/ascend-8.1").string(), bin + "/fake-python");
  EXPECT_EQ(p.cann, "8.1.RC1.alpha001");
  EXPECT_EQ(p.npu_smi, "24.1.rc1");
  EXPECT_EQ(p.driver, "24.1.rc1");
  EXPECT_EQ(p.firmware, "7.5.0.1.129");
  EXPECT_EQ(p.python, "3.10.14");
  EXPECT_EQ(p.packages["torch-npu"], "2.5.1");
  auto cs = check(p, matrix());
  for (auto& c : cs) EXPECT_TRUE(c.status == "ok") << c.what << ": " << c.status << " " << c.fix;
}

}  // namespace kcat::env
