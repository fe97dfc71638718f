// Issue 17 item 2: a repository with Triton kernels, migrated. The kernels stay (recipe
// triton-kernel-port), their launch code is ported by the device-API codemods, triton-ascend
// replaces triton in the environment, and what triton-ascend documents as different is reported
// per kernel with its reason (patches/rules/triton_ascend.toml).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;

const nlohmann::json* site(const nlohmann::json& report, const std::string& rule, int line) {
  for (auto& s : report["sites"]) {
    if (s["finding"]["rule"] == rule && s["finding"]["span"]["line"] == line) return &s;
  }
  return nullptr;
}

// Issue 13 §4: `kcat requirements` asks the target's `triton` as migrate does: the code's Triton
// kernels bring in triton-ascend for ascend-a2, not for ascend-310p (it named it there, where
// migrate's file did not). The requirements name no triton here: only the kernels decide.
TEST(TritonAscend, RequirementsLeaveTritonAscendOutWhereTheTargetHasNone) {
  test::TempDir dir;
  test::copy_tree(test::fixtures_dir() / "migrate" / "triton", dir.path());
  test::write(dir / "requirements.txt", "torch\n");
  auto a2 = test::kcat({"requirements", dir.path().string(), "--target", "ascend-a2"});
  ASSERT_EQ(a2.exit_code, 0) << a2.out << a2.err;
  EXPECT_NE(a2.out.find("triton-ascend=="), std::string::npos) << a2.out;
  auto p310 = test::kcat({"requirements", dir.path().string(), "--target", "ascend-310p"});
  ASSERT_EQ(p310.exit_code, 0) << p310.out << p310.err;
  EXPECT_EQ(p310.out.find("triton-ascend=="), std::string::npos) << p310.out;
  auto bad = test::kcat({"requirements", dir.path().string(), "--target", "gpu"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("known targets: ascend-a2, ascend-a3, ascend-310p"), std::string::npos) << bad.err;
}

TEST(TritonAscend, KernelsStayLaunchesArePortedChecksAreReported) {
  test::TempDir dir;
  test::copy_tree(test::fixtures_dir() / "migrate" / "triton", dir.path());
  test::git_init_commit(dir.path());
  auto before = test::read(dir / "kern.py");
  auto r = test::kcat({"migrate", dir.path().string(), "--target", "ascend-a2", "--author",
                       "T <t@example.com>", "--no-llm", "--exit-zero"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("no recipe triton-kernel-port"), std::string::npos) << r.out;

  // The launch code: device strings and the torch.cuda.device context manager; the kernels and
  // get_active_torch_device() (npu on triton-ascend) as they were.
  auto after = test::read(dir / "kern.py");
  EXPECT_NE(after.find("with torch.npu.device(x.device):"), std::string::npos) << after;
  EXPECT_NE(after.find("device=\"npu\")"), std::string::npos) << after;
  EXPECT_EQ(after.find("cuda"), std::string::npos) << after;
  auto kernels = [](const std::string& s) {
    auto at = s.find("@triton.jit");
    return s.substr(at, s.find("def add(") - at);
  };
  EXPECT_EQ(kernels(after), kernels(before));
  EXPECT_NE(after.find("DEVICE = triton.runtime.driver.active.get_active_torch_device()"), std::string::npos);

  // The environment: triton dropped, triton-ascend at the default stack's pin (torch-npu 2.9.0).
  auto req = test::read(dir / "requirements-ascend.txt");
  EXPECT_NE(req.find("# triton>=3.0"), std::string::npos) << req;
  EXPECT_NE(req.find("\ntriton-ascend==3.2.0  # kcat: replaces triton"), std::string::npos) << req;

  auto runs = dir / ".kcat" / "runs";
  fs::path report_file;
  for (auto& e : fs::directory_iterator(runs)) report_file = e.path() / "report.json";
  auto report = nlohmann::json::parse(test::read(report_file));
  // Kernels, their imports and host API: handled by the recipe (lines of the migrated file, which
  // gained `import torch_npu` at line 2).
  for (int line : {3, 4}) {
    auto* s = site(report, "py.triton-import", line);
    ASSERT_NE(s, nullptr) << line;
    EXPECT_EQ((*s)["how"], "recipe:triton-kernel-port") << line;
  }
  for (auto [rule, line] :
       {std::pair{"py.triton", 9}, std::pair{"py.triton", 19}, std::pair{"py.triton-launch", 29}}) {
    auto* s = site(report, rule, line);
    ASSERT_NE(s, nullptr) << rule << " " << line;
    EXPECT_EQ((*s)["status"], "fixed") << rule << " " << line;
    EXPECT_EQ((*s)["how"], "recipe:triton-kernel-port") << rule << " " << line;
    EXPECT_NE((*s)["finding"]["action"].get<std::string>().find("kept: runs on triton-ascend"),
              std::string::npos);
  }
  // What the recipe cannot fix: left, each with the guide's reason.
  struct Left {
    const char* rule;
    int line;
    const char* severity;
    const char* reason;
  } left[] = {
      {"py.triton-ascend-inline-asm", 15, "blocking", "the asm string is written for the GPU"},
      {"py.triton-ascend-large-block", 31, "warning", "the UB of Atlas A2 is 192 KB"},
      {"py.triton-ascend-grid-2d", 37, "warning", "merges a multi-dimensional grid into one dimension"}};
  for (auto& l : left) {
    auto* s = site(report, l.rule, l.line);
    ASSERT_NE(s, nullptr) << l.rule;
    EXPECT_EQ((*s)["status"], "left") << l.rule;
    EXPECT_EQ((*s)["finding"]["severity"], l.severity) << l.rule;
    EXPECT_NE((*s)["finding"]["message"].get<std::string>().find(l.reason), std::string::npos) << l.rule;
    EXPECT_NE((*s)["finding"]["source"].get<std::string>().find("triton-lang/triton-ascend:"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace kcat
