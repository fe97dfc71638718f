#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "kcat/core/fs.h"
#include "testsupport/support.h"

namespace kcat {

namespace {
struct Fixture {
  test::TempDir dir;
  Fixture() { test::copy_tree(test::fixtures_dir() / "scan" / "mixed", dir.path()); }
};
}  // namespace

TEST(ScanCommand, TableGroupsByFileAndExitsOneOnBlocking) {
  Fixture f;
  auto r = test::kcat({"scan", f.dir.path().string(), "--no-cache"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("src/train.py\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("by category:"), std::string::npos);
  EXPECT_NE(r.out.find("fixable by `kcat migrate`"), std::string::npos);
  auto z = test::kcat({"scan", f.dir.path().string(), "--exit-zero"});
  EXPECT_EQ(z.exit_code, 0);
}

TEST(ScanCommand, CleanRepositoryExitsZero) {
  test::TempDir dir;
  test::write(dir / "ok.py", "import torch\nx = torch.ones(1)\n");
  auto r = test::kcat({"scan", dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(ScanCommand, JsonHasTheDocumentedShape) {
  Fixture f;
  auto r = test::kcat({"scan", f.dir.path().string(), "--format", "json", "--exit-zero"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["schema"], "kcat-scan/1");
  ASSERT_GT(j["findings"].size(), 20u);
  auto& first = j["findings"][0];
  for (auto key :
       {"rule", "category", "severity", "file", "span", "message", "action", "codemod", "verdict"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_TRUE(first["span"].contains("line"));
  EXPECT_GT(j["summary"]["blocking"].get<int>(), 10);
  EXPECT_TRUE(j["summary"]["by_verdict"].contains("supported"));
}

TEST(ScanCommand, SarifIsUsableByCodeScanning) {
  Fixture f;
  auto out = f.dir / "kcat.sarif";
  auto r =
      test::kcat({"scan", f.dir.path().string(), "--format", "sarif", "-o", out.string(), "--exit-zero"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(test::read(out));
  EXPECT_EQ(j["version"], "2.1.0");
  auto& run = j["runs"][0];
  EXPECT_EQ(run["tool"]["driver"]["name"], "kcat");
  auto& rules = run["tool"]["driver"]["rules"];
  ASSERT_GT(rules.size(), 10u);
  for (auto& rule : rules) {
    EXPECT_TRUE(rule.contains("id"));
    EXPECT_TRUE(rule["shortDescription"].contains("text"));
    EXPECT_TRUE(rule.contains("help"));
  }
  for (auto& res : run["results"]) {
    auto level = res["level"].get<std::string>();
    EXPECT_TRUE(level == "error" || level == "warning" || level == "note") << level;
    auto& loc = res["locations"][0]["physicalLocation"];
    EXPECT_FALSE(loc["artifactLocation"]["uri"].get<std::string>().empty());
    EXPECT_GE(loc["region"]["startLine"].get<int>(), 1);
    EXPECT_EQ(rules[res["ruleIndex"].get<size_t>()]["id"], res["ruleId"]);
  }
}

TEST(ScanCommand, MarkdownAndUsageErrors) {
  Fixture f;
  auto md = test::kcat({"scan", f.dir.path().string(), "--format", "markdown", "--exit-zero"});
  EXPECT_NE(md.out.find("| file:line:col |"), std::string::npos);
  EXPECT_EQ(test::kcat({"scan", f.dir.path().string(), "--format", "xml"}).exit_code, 2);
  auto missing = test::kcat({"scan", "/nonexistent/kcat-repo"});
  EXPECT_EQ(missing.exit_code, 2);
  // scan takes files too (kcat scan a.py b/), so a missing path is named as such.
  EXPECT_NE(missing.err.find("no such file or folder"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("/nonexistent/kcat-repo"), std::string::npos) << missing.err;
}

TEST(ScanCommand, UserRuleFileAddsARule) {
  test::TempDir dir;
  test::write(dir / "app.py", "import mylib\nmylib.gpu_only()\n");
  test::write(dir / "my.toml", R"toml(
[[rule]]
id = "team.gpu-only"
languages = ["python"]
category = "cuda-api"
severity = "blocking"
match = { kind = "api", names = ["mylib.gpu_only"] }
message = "our GPU-only helper"
source = "team wiki"
)toml");
  auto r = test::kcat({"scan", dir.path().string(), "--rules", (dir / "my.toml").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("our GPU-only helper"), std::string::npos) << r.out;
  auto bad = test::kcat({"scan", dir.path().string(), "--rules", (dir / "none.toml").string()});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST(RulesCommand, ListAndShow) {
  auto ls = test::kcat({"rules", "list"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("py.cuda-method"), std::string::npos);
  EXPECT_NE(ls.out.find("cpp.kernel-launch"), std::string::npos);
  auto show = test::kcat({"rules", "show", "py.nccl-backend"});
  ASSERT_EQ(show.exit_code, 0);
  EXPECT_NE(show.out.find("hccl"), std::string::npos);
  EXPECT_NE(show.out.find("source"), std::string::npos);
  EXPECT_EQ(test::kcat({"rules", "show", "no.such.rule"}).exit_code, 2);
}

}  // namespace kcat

namespace kcat {

TEST(PlanCommand, MarkdownAndJson) {
  test::TempDir dir;
  test::copy_tree(test::fixtures_dir() / "scan" / "mixed", dir.path());
  auto md = test::kcat({"plan", dir.path().string(), "--target", "ascend-a2"});
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("# Migration plan:"), std::string::npos);
  auto js = test::kcat({"plan", dir.path().string(), "--format", "json"});
  auto j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["schema"], "kcat-plan/1");
  EXPECT_GT(j["steps"].size(), 3u);
  EXPECT_EQ(test::kcat({"plan", dir.path().string(), "--target", "gpu"}).exit_code, 2);
  test::write(dir / "doctor.json",
              R"({"checks": [{"what": "torch_npu", "found": "not installed", "expected": "2.5.1",
                                                  "status": "missing", "fix": "pip install torch-npu==2.5.1"}]})");
  auto withenv = test::kcat({"plan", dir.path().string(), "--doctor", (dir / "doctor.json").string()});
  EXPECT_NE(withenv.out.find("environment-host"), std::string::npos) << withenv.out;
  test::write(dir / "bad.json", "{}");
  EXPECT_EQ(test::kcat({"plan", dir.path().string(), "--doctor", (dir / "bad.json").string()}).exit_code, 2);
}

}  // namespace kcat

namespace kcat {
namespace {

// Warm scans (findings from the per-file cache) print the same, and a file changed since is
// scanned again. The rendered output itself is not stored.
TEST(ScanCache, WarmScansPrintTheSameUntilAFileChanges) {
  test::TempDir dir;
  test::write(dir / "a.py", "import torch\nx = torch.ones(2).cuda()\n");
  test::write(dir / "b.py", "import torch\n");
  auto strip_time = [](std::string s) {
    auto semi = s.rfind("; ");
    auto end = s.find(" s\n", semi == std::string::npos ? 0 : semi);
    if (semi != std::string::npos && end != std::string::npos) s.erase(semi, end - semi);
    return s;
  };
  auto first = test::kcat({"scan", dir.path().string()});   // parses, fills the per-file cache
  auto second = test::kcat({"scan", dir.path().string()});  // from the cache
  auto third = test::kcat({"scan", dir.path().string()});
  EXPECT_EQ(third.exit_code, 1);  // blocking findings: the same exit code every time
  EXPECT_EQ(first.exit_code, 1);
  EXPECT_EQ(strip_time(second.out), strip_time(third.out));
  EXPECT_NE(third.out.find("a.py"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / ".kcat/cache/scan-output.txt"));
  auto json = test::kcat({"scan", dir.path().string(), "-f", "json"});
  EXPECT_EQ(json.out.front(), '{');
  // A changed file (another size) is scanned again.
  test::write(dir / "b.py", "import torch\ny = torch.zeros(3).cuda()\n");
  auto changed = test::kcat({"scan", dir.path().string()});
  EXPECT_NE(changed.out.find("b.py"), std::string::npos) << changed.out;
}

// In a git checkout the walk itself is remembered (walk-v1.bin in the repository's cache folder,
// core/fs.h user_cache_dir); a file added or a
// .gitignore edited afterwards is still seen by the next scan.
TEST(ScanWalkCache, ChangesAfterAWarmScanAreSeen) {
  test::TempDir dir;
  test::write(dir / "a.py", "import torch\nx = torch.ones(2).cuda()\n");
  test::write(dir / "pkg" / "b.py", "import torch\n");
  test::write(dir / ".gitignore", "out/\n");
  test::git_init_commit(dir.path());
  // The walk is remembered only when what it read is older than two seconds.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto first = test::kcat({"scan", dir.path().string(), "-f", "json"});
  ASSERT_TRUE(std::filesystem::exists(user_cache_dir(dir.path()) / "walk-v1.bin")) << first.err;
  auto warm = test::kcat({"scan", dir.path().string(), "-f", "json"});
  EXPECT_EQ(warm.out.find("pkg/c.py"), std::string::npos);
  test::write(dir / "pkg" / "c.py", "import torch\ny = torch.zeros(3).cuda()\n");
  auto added = test::kcat({"scan", dir.path().string(), "-f", "json"});
  EXPECT_NE(added.out.find("pkg/c.py"), std::string::npos) << added.out;
  test::write(dir / ".gitignore", "out/\npkg/\n");
  auto ignored = test::kcat({"scan", dir.path().string(), "-f", "json"});
  EXPECT_EQ(ignored.out.find("pkg/c.py"), std::string::npos) << ignored.out;
  EXPECT_NE(ignored.out.find("a.py"), std::string::npos) << ignored.out;
}

}  // namespace
}  // namespace kcat
