#include "kcat/env/doctor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "kcat/exec/shell_quote.h"
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

namespace kcat::env {

namespace {

Probe smi(const std::string& file) {
  Probe p;
  parse_npu_smi(test::read(test::fixtures_dir() / "env/npu-smi" / file), p);
  return p;
}

}  // namespace

// Real `npu-smi info` text from vllm-ascend issues (tests/fixtures/env/README.md names each).
TEST(NpuSmiSamples, AtlasA3TwoChipsPerNpuAndTheProcessTableIsNoChip) {
  auto p = smi("a3-26.0.rc2-vllm-ascend-12980.txt");
  EXPECT_EQ(p.npu_smi, "26.0.rc2");
  ASSERT_EQ(p.npu_chips.size(), 3u);  // NPU 0 chips 0 and 1, NPU 7 chip 1: not the process row
  EXPECT_EQ(p.chips,
            (std::vector<std::string>{"0.0: Ascend910 (OK)", "0.1: Ascend910 (OK)", "7.1: Ascend910 (OK)"}));
  EXPECT_EQ(p.npu_chips[1].npu, 0);
  EXPECT_EQ(p.npu_chips[1].chip, 1);
  EXPECT_EQ(p.npu_chips[1].phy_id, "1");
  EXPECT_EQ(p.npu_chips[1].bus_id, "0000:9F:00.0");
  EXPECT_EQ(p.npu_chips[1].hbm_used_mb, 2874);
  EXPECT_EQ(p.npu_chips[1].hbm_total_mb, 65536);
  EXPECT_EQ(p.npu_chips[1].mem_used_mb, 0);
  EXPECT_EQ(p.npu_chips[2].phy_id, "15");
  EXPECT_EQ(p.npu_chips[2].hbm_used_mb, 31877);  // "31877/ 65536": no space before the slash
  ASSERT_EQ(p.npu_processes.size(), 1u);
  EXPECT_EQ(p.npu_processes[0].pid, "632268");
  EXPECT_EQ(p.npu_processes[0].name, "python3.1");
  EXPECT_EQ(p.npu_processes[0].memory_mb, 197);
  // Every chip is healthy: doctor says so, and no chip line is a warning.
  kb::VersionMatrix m;
  for (auto& c : check(p, m)) {
    if (c.what.rfind("chip ", 0) == 0) {
      EXPECT_EQ(c.status, "ok") << c.what << " " << c.found;
    }
  }
}

TEST(NpuSmiSamples, AtlasA3FourChipsOfTwoNpus) {
  auto p = smi("a3-vllm-ascend-9305.txt");
  ASSERT_EQ(p.npu_chips.size(), 4u);
  std::vector<std::pair<int, int>> ids;
  long hbm = 0;
  for (auto& c : p.npu_chips) {
    ids.push_back({c.npu, c.chip});
    EXPECT_EQ(c.health, "OK");
    EXPECT_EQ(c.hbm_total_mb, 65536);
    hbm += c.hbm_used_mb;
  }
  EXPECT_EQ(ids, (std::vector<std::pair<int, int>>{{0, 0}, {0, 1}, {1, 0}, {1, 1}}));
  EXPECT_EQ(hbm, 3151 + 2892 + 3148 + 2893);
  EXPECT_EQ(p.npu_chips[3].phy_id, "3");
  EXPECT_TRUE(p.npu_processes.empty());
}

TEST(NpuSmiSamples, AtlasA2OneChipPerNpu) {
  auto p = smi("a2-910b2c-vllm-ascend-12389.txt");
  ASSERT_EQ(p.npu_chips.size(), 4u);  // NPUs 12..15; the cut process header is no chip
  EXPECT_EQ(p.chips.front(), "12: 910B2C (OK)");
  EXPECT_EQ(p.chips.back(), "15: 910B2C (OK)");
  EXPECT_EQ(p.npu_chips.back().hbm_used_mb, 3419);
  EXPECT_EQ(p.npu_chips.back().phy_id, "");

  p = smi("a2-910b1-24.1.0-vllm-ascend-3403.txt");
  EXPECT_EQ(p.npu_smi, "24.1.0");
  EXPECT_EQ(p.chips, (std::vector<std::string>{"0: 910B1 (OK)", "1: 910B1 (OK)"}));
  EXPECT_EQ(p.npu_chips[1].bus_id, "0000:01:00.0");
  EXPECT_EQ(p.npu_chips[1].hbm_used_mb, 3405);

  p = smi("a2-910b4-1-25.2.0-vllm-ascend-3657.txt");
  ASSERT_EQ(p.npu_chips.size(), 2u);
  EXPECT_EQ(p.npu_chips[1].name, "910B4-1");
  EXPECT_EQ(p.npu_chips[1].hbm_used_mb, 27547);
  EXPECT_EQ(p.npu_chips[1].hbm_total_mb, 65536);

  p = smi("910prob-24.1.0-vllm-ascend-1047.txt");
  ASSERT_EQ(p.npu_chips.size(), 2u);
  EXPECT_EQ(p.npu_chips[0].mem_used_mb, 2387);
  EXPECT_EQ(p.npu_chips[0].mem_total_mb, 13553);
  EXPECT_EQ(p.npu_chips[0].hbm_used_mb, 18);
  EXPECT_EQ(p.npu_chips[0].hbm_total_mb, 32768);
  EXPECT_EQ(p.npu_chips[1].mem_total_mb, 15665);
}

TEST(NpuSmiSamples, AnUnhealthyChipIsAWarningWithItsNpuId) {
  // The 910B1 sample with NPU 1's health changed, as npu-smi prints a chip in trouble.
  auto text = test::read(test::fixtures_dir() / "env/npu-smi/a2-910b1-24.1.0-vllm-ascend-3403.txt");
  auto at = text.find("| 1     910B1               | OK    ");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 38, "| 1     910B1               | Warning");
  Probe p;
  parse_npu_smi(text, p);
  ASSERT_EQ(p.npu_chips.size(), 2u);
  EXPECT_EQ(p.npu_chips[1].health, "Warning");
  kb::VersionMatrix m;
  auto c = find(check(p, m), "chip 1");
  EXPECT_EQ(c.status, "warning");
  EXPECT_EQ(c.fix, "see `npu-smi info -t health -i 1`");
}

TEST(Versions, ACannPatchReleaseFitsItsRow) {
  EXPECT_EQ(kb::cann_fit("8.5.1", "8.5.0"), kb::CannFit::patch);
  EXPECT_EQ(kb::cann_fit("8.5.0", "8.5.1"), kb::CannFit::older_patch);
  EXPECT_EQ(kb::cann_fit("8.5.0", "8.5.0"), kb::CannFit::same);
  EXPECT_EQ(kb::cann_fit("8.1.RC1.alpha001", "8.1.RC1"), kb::CannFit::same);
  EXPECT_EQ(kb::cann_fit("8.1.RC2", "8.1.RC1"), kb::CannFit::mismatch);
  EXPECT_EQ(kb::cann_fit("9.0.1", "8.5.0"), kb::CannFit::mismatch);
  auto m = matrix();
  auto rows = m.for_cann("8.5.1");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front()->cann, "8.5.0");  // the 8.5.0 rows run on 8.5.1
}

TEST(Doctor, KcatsDefaultStackOnAPatchReleaseIsReady) {
  // torch_npu 2.9.0's Ascend/pytorch row says CANN 8.5.0; vllm-ascend v0.17.0rc1 pins it on 8.5.1.
  Probe p;
  p.cann = "8.5.1";
  p.npu_smi = "25.5.0";
  p.python = "3.11.9";
  p.packages = {{"torch-npu", "2.9.0"}, {"torch", "2.9.0+cpu"}};
  auto cs = check(p, matrix());
  auto c = find(cs, "CANN for torch_npu 2.9.0");
  EXPECT_EQ(c.status, "ok") << c.fix;
  EXPECT_EQ(c.expected, "8.5.0 (a patch release of it)");
  // With vllm-ascend 0.17.0rc1 installed its row (CANN 8.5.1) wins.
  p.packages["vllm-ascend"] = "0.17.0rc1";
  p.packages["vllm"] = "0.17.0+empty";
  p.atb = "/usr/local/Ascend/nnal/atb/latest/atb/cxx_abi_0/lib/libatb.so";
  cs = check(p, matrix());
  EXPECT_EQ(find(cs, "CANN for torch_npu 2.9.0").expected, "8.5.1");
  EXPECT_EQ(find(cs, "CANN for vllm-ascend 0.17.0rc1").status, "ok");
  EXPECT_EQ(find(cs, "vllm for vllm-ascend 0.17.0rc1").status, "ok");
  // On 8.5.0 the vllm-ascend pin (8.5.1) is an older patch: a warning, not "not ready".
  p.cann = "8.5.0";
  cs = check(p, matrix());
  EXPECT_EQ(find(cs, "CANN for vllm-ascend 0.17.0rc1").status, "warning");
}

TEST(Doctor, TorchNpu210StacksFromVllmAscendPins) {
  auto m = matrix();
  auto* post2 = m.for_torch_npu("2.10.0.post2");
  ASSERT_NE(post2, nullptr);
  EXPECT_EQ(post2->torch, "2.10.0");
  EXPECT_EQ(post2->cann, "9.0.1");
  EXPECT_NE(post2->source.find("vllm-project/vllm-ascend"), std::string::npos);
  auto* base = m.for_torch_npu("2.10.0");
  ASSERT_NE(base, nullptr);
  EXPECT_EQ(base->cann, "9.0.0");
  for (auto v : {"0.24.0rc1", "0.25.1rc1"}) {
    auto* r = m.for_vllm_ascend(v);
    ASSERT_NE(r, nullptr) << v;
    EXPECT_EQ(r->cann, "9.0.1");
    EXPECT_EQ(r->torch_npu, "2.10.0.post2");
    EXPECT_EQ(r->torch, "2.10.0");
  }
  EXPECT_EQ(m.for_vllm_ascend("0.24.0rc1")->vllm, "0.24.0");
  EXPECT_EQ(m.for_vllm_ascend("0.25.1rc1")->vllm, "0.25.1");
  EXPECT_TRUE(m.contradictions().empty()) << m.contradictions().front();
}

TEST(Doctor, ACudaVllmWheelIsAMismatchAndTheFixIsTheWheelNotASourceBuild) {
  Probe p;
  p.cann = "8.1.RC1";
  p.npu_smi = "24.1.rc1";
  p.python = "3.10.14";
  p.atb = "/x/libatb.so";
  p.packages = {{"torch-npu", "2.5.1"},
                {"torch", "2.5.1"},
                {"vllm-ascend", "0.8.5rc1"},
                {"vllm", "0.8.5.post1"},
                {"nvidia-nccl-cu12", "2.21.5"}};
  auto cs = check(p, matrix());
  auto c = find(cs, "vLLM build");
  EXPECT_EQ(c.status, "mismatch");
  EXPECT_NE(c.found.find("nvidia-nccl-cu12"), std::string::npos);
  EXPECT_EQ(c.fix.find("VLLM_TARGET_DEVICE"), std::string::npos) << c.fix;  // a wheel: no source build
  EXPECT_NE(c.fix.find("pip install vllm==0.8.5.post1"), std::string::npos) << c.fix;

  p.packages.erase("nvidia-nccl-cu12");
  p.packages["vllm"] = "0.8.4+cu124";
  cs = check(p, matrix());
  EXPECT_EQ(find(cs, "vLLM build").status, "mismatch");
  auto v = find(cs, "vllm for vllm-ascend 0.8.5rc1");
  EXPECT_EQ(v.status, "mismatch");
  EXPECT_EQ(v.fix.find("VLLM_TARGET_DEVICE"), std::string::npos) << v.fix;

  // A source build (+empty) of the wrong version: rebuild from source, with VLLM_TARGET_DEVICE=empty.
  p.packages["vllm"] = "0.8.4+empty";
  cs = check(p, matrix());
  for (auto& x : cs) EXPECT_NE(x.what, "vLLM build");
  EXPECT_NE(find(cs, "vllm for vllm-ascend 0.8.5rc1").fix.find("VLLM_TARGET_DEVICE=empty"),
            std::string::npos);

  p.packages["torch"] = "2.5.1+cu121";
  EXPECT_EQ(find(check(p, matrix()), "torch build").status, "mismatch");
}

TEST(Doctor, WhatBreaksInPractice) {
  Probe p;
  p.cann = "8.1.RC1";
  p.npu_smi = "24.1.rc1";
  p.python = "3.10.14";
  p.set_env = "/usr/local/Ascend/ascend-toolkit/set_env.sh";
  p.packages = {
      {"torch-npu", "2.5.1"}, {"torch", "2.5.1"}, {"vllm-ascend", "0.8.5rc1"}, {"vllm", "0.8.5.post1"}};
  p.smoke_ran = true;
  p.smoke = "KCAT_SMOKE import_error=ImportError: libhccl.so: cannot open shared object file";
  auto cs = check(p, matrix());
  EXPECT_EQ(find(cs, "NNAL/ATB (libatb.so)").status, "missing");
  EXPECT_EQ(find(cs, "ops/kernels package").status, "warning");
  auto smoke = find(cs, "smoke test");
  EXPECT_EQ(smoke.status, "missing");
  EXPECT_EQ(
      smoke.fix,
      "source /usr/local/Ascend/ascend-toolkit/set_env.sh (add it to the shell or job that runs the model)");
  auto env = find(cs, "CANN environment (set_env.sh)");
  EXPECT_EQ(env.found, "ASCEND_HOME_PATH unset");
  EXPECT_EQ(env.status, "missing");

  p.smoke = "KCAT_SMOKE import_error=OSError: libatb.so: cannot open shared object file";
  EXPECT_NE(find(check(p, matrix()), "smoke test").fix.find("nnal/atb/set_env.sh"), std::string::npos);

  // The driver against CANN's stated minimum HDK (8.1.RC1: >= 24.1.RC1).
  p.npu_smi = "23.0.3";
  EXPECT_EQ(find(check(p, matrix()), "driver (HDK) for CANN 8.1.RC1").status, "mismatch");
  p.npu_smi = "24.1.0";
  EXPECT_EQ(find(check(p, matrix()), "driver (HDK) for CANN 8.1.RC1").status, "ok");
}

// `kcat bench --format json` spent ~17 s in doctor's Python probe: two starts of the interpreter
// (each seconds through a pyenv shim) and `pip list` (10-13 s, pip importing itself and checking
// PyPI). One start now lists the version and the packages; pip only where importlib.metadata is
// missing. The real python3, behind a wrapper that logs each start.
TEST(Doctor, OneStartOfPythonListsItsVersionAndPackagesWithoutPip) {
  if (test::run({"python3", "-c", "import importlib.metadata"}).exit_code != 0) {
    GTEST_SKIP() << "python3 with importlib.metadata (3.8+) is not installed";
  }
  test::TempDir dir;
  auto log = dir / "starts.log";
  test::write(dir / "python", R"(#!/bin/sh
printf 'start: %s\n' "$1 $2" | head -n 1 >> )" +
                                  exec::shell_quote(log.string()) +
                                  R"(
exec python3 "$@"
)");
  std::filesystem::permissions(dir / "python", std::filesystem::perms::owner_all);
  auto runner = exec::local_runner();
  auto p = probe(*runner, (dir / "no-ascend").string(), (dir / "python").string());
  auto version = test::run({"python3", "-c", "import sys; print(sys.version.split()[0])"}).out;
  EXPECT_EQ(p.python + "\n", version);
  auto pip = test::run({"python3", "-m", "pip", "--version"});
  if (pip.exit_code == 0) {
    EXPECT_TRUE(p.packages.count("pip")) << "pip is installed: it is listed";
  }
  EXPECT_FALSE(p.packages.empty());
  auto starts = test::read(log);
  EXPECT_EQ(std::count(starts.begin(), starts.end(), '\n'), 1) << starts;
  EXPECT_EQ(starts.find("-m pip"), std::string::npos) << starts;
}

TEST(Doctor, ProbesTheCannVersionLayout) {
  test::TempDir dir;
  auto home = test::fixtures_dir() / "env/cann-9.0.1";
  test::write(dir / "pip.json",
              R"([{"name": "torch", "version": "2.10.0"}, {"name": "torch-npu", "version": "2.10.0.post2"},
     {"name": "vllm", "version": "0.25.1"}, {"name": "vllm-ascend", "version": "0.25.1rc1"}])");
  auto bin = (test::fixtures_dir() / "env/bin").string();
  setenv("PATH", (bin + ":" + std::getenv("PATH")).c_str(), 1);
  setenv("KCAT_FAKE_PIP", (dir / "pip.json").c_str(), 1);
  auto runner = exec::local_runner();
  auto p = probe(*runner, home.string(), bin + "/fake-python");
  EXPECT_EQ(p.toolkit, (home / "cann-9.0.1").string());
  EXPECT_EQ(p.cann, "9.0.1");
  EXPECT_EQ(p.set_env, (home / "cann-9.0.1/set_env.sh").string());
  EXPECT_EQ(p.driver_info, "25.5.0");
  EXPECT_TRUE(p.atb.empty());
  EXPECT_TRUE(p.smoke_ran);
  EXPECT_TRUE(p.smoke_ok) << p.smoke;
  auto cs = check(p, matrix());
  EXPECT_EQ(find(cs, "CANN for torch_npu 2.10.0.post2").status, "ok");
  EXPECT_EQ(find(cs, "CANN for vllm-ascend 0.25.1rc1").status, "ok");
  EXPECT_EQ(find(cs, "NNAL/ATB (libatb.so)").status, "missing");
  EXPECT_EQ(find(cs, "smoke test").status, "ok");
}

}  // namespace kcat::env

TEST(Doctor, PipListNamesAreCanonicalAndNoiseIsSkipped) {
  using kcat::env::parse_pip_list;
  // pip may print a warning before the list; names come as the distribution spells them.
  auto v = parse_pip_list(
      "WARNING: pip is out of date\n"
      R"([{"name": "torch_npu", "version": "2.5.1.post1"}, {"name": "Vllm.Ascend", "version": "0.9.1"},)"
      R"( {"name": 5, "version": "1"}, {"name": "x"}])");
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(v.at("torch-npu"), "2.5.1.post1");
  EXPECT_EQ(v.at("vllm-ascend"), "0.9.1");
  EXPECT_TRUE(parse_pip_list("").empty());
  EXPECT_TRUE(parse_pip_list("[not json").empty());
  EXPECT_TRUE(parse_pip_list(R"(["a", 1])").empty());
}
