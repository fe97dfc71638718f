#include <gtest/gtest.h>

#include "testsupport/support.h"

namespace kcat {

TEST(RequirementsCommand, WritesTheFileAndResolvesPinsAgainstTheStack) {
  test::TempDir dir;
  test::copy_tree(test::fixtures_dir() / "env/ocr2-like", dir.path());
  auto r = test::kcat({"requirements", dir.path().string(), "--cann", "8.1.RC1", "--write"});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // the transformers pin is moved to what vLLM 0.8.5 requires
  EXPECT_NE(r.out.find("resolved: transformers 4.46.3"), std::string::npos) << r.out;
  auto file = test::read(dir / "requirements-ascend.txt");
  EXPECT_NE(file.find("torch-npu==2.5.1"), std::string::npos);
  EXPECT_NE(file.find("# flash-attn==2.7.3  # kcat: dropped"), std::string::npos) << file;
  EXPECT_NE(file.find("transformers>=4.51.1  # kcat:"), std::string::npos) << file;
  auto bad = test::kcat({"requirements", dir.path().string(), "--cann", "1.0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("8.1.RC1"), std::string::npos) << bad.err;
}

}  // namespace kcat

namespace kcat {
namespace {

bool have_pip() { return test::run({"python3", "-m", "pip", "--version"}).exit_code == 0; }

std::string make_index(const test::TempDir& dir, const std::filesystem::path& reqs,
                       const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {
      "python3",        (test::source_dir() / "tests/env/make_index.py").string(),
      "--patches",      (test::source_dir() / "patches").string(),
      "--out",          (dir / "index").string(),
      "--requirements", reqs.string()};
  for (auto& e : extra) argv.insert(argv.end(), {"--extra", e});
  auto r = test::run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return (dir / "index").string();
}

TEST(RequirementsCommand, CheckRunsPipsResolverAndFailsNamingTheConflict) {
  if (!have_pip()) GTEST_SKIP() << "python3 -m pip is not installed (tools/install.sh installs python3-pip)";
  test::TempDir dir, work;
  test::copy_tree(test::fixtures_dir() / "env/ocr2-like", dir.path());
  auto w = test::kcat({"requirements", dir.path().string(), "--cann", "8.1.RC1", "--write"});
  ASSERT_EQ(w.exit_code, 0) << w.err;
  auto index = make_index(work, dir / "requirements-ascend.txt");
  auto ok =
      test::kcat({"requirements", dir.path().string(), "--cann", "8.1.RC1", "--check", "--index", index});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("check: pip resolved"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("torch-npu==2.5.1"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("--dry-run"), std::string::npos) << ok.out;
  // An index where einops needs torch 2.1: pip cannot resolve, kcat exits 1 naming it.
  test::TempDir bad;
  auto bad_index = make_index(bad, dir / "requirements-ascend.txt", {"einops==0.8.0:torch==2.1.0"});
  auto no =
      test::kcat({"requirements", dir.path().string(), "--cann", "8.1.RC1", "--check", "--index", bad_index});
  EXPECT_EQ(no.exit_code, 1) << no.out << no.err;
  EXPECT_NE(no.err.find("einops 0.8.0 depends on torch==2.1.0"), std::string::npos) << no.out << no.err;
}

TEST(RequirementsCommand, RepositoryIndexesAndUrlsNeedConsent) {
  test::TempDir dir;
  test::write(dir / "requirements.txt",
              "--extra-index-url https://pypi.example.org/simple\n--trusted-host pypi.example.org\n"
              "git+https://github.com/someone/thing.git#egg=thing\n-e "
              "git+https://github.com/x/y.git#egg=y\neinops\n");
  auto r = test::kcat({"requirements", dir.path().string(), "--cann", "8.5.1", "--write"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto file = test::read(dir / "requirements-ascend.txt");
  EXPECT_EQ(file.find("\n--extra-index-url https://pypi.example.org"), std::string::npos) << file;
  EXPECT_EQ(file.find("\n--trusted-host"), std::string::npos) << file;
  EXPECT_EQ(file.find("\ngit+https://github.com/someone"), std::string::npos) << file;
  EXPECT_EQ(file.find("\n-e git+"), std::string::npos) << file;
  EXPECT_NE(file.find("\neinops\n"), std::string::npos) << file;
  for (auto line : {"requirements.txt:1", "requirements.txt:2", "requirements.txt:3", "requirements.txt:4"})
    EXPECT_NE(r.err.find(std::string("from ") + line), std::string::npos) << line << "\n" << r.err;
  EXPECT_NE(r.err.find("--allow-repo-indexes"), std::string::npos) << r.err;
  auto yes =
      test::kcat({"requirements", dir.path().string(), "--cann", "8.5.1", "--write", "--allow-repo-indexes"});
  EXPECT_EQ(yes.exit_code, 0) << yes.err;
  file = test::read(dir / "requirements-ascend.txt");
  EXPECT_NE(file.find("\n--extra-index-url https://pypi.example.org/simple  # kcat: kept with consent"),
            std::string::npos)
      << file;
  EXPECT_NE(file.find("\ngit+https://github.com/someone/thing.git#egg=thing  # kcat: kept"),
            std::string::npos);
}

TEST(RequirementsCommand, DefaultStackIsThePlansAndTheRouteWins) {
  test::TempDir dir;
  test::write(dir / "requirements.txt", "torch\ntorchvision==0.16.2\n");
  auto r = test::kcat({"requirements", dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("chosen: CANN 8.5.1, torch 2.9.0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ntorchvision==0.24.*  # kcat: the torchvision release for torch 2.9.0"),
            std::string::npos)
      << r.out;
  // A repository the DeepSeek-OCR-2 route fits follows the route's stack, as the plan does.
  test::TempDir ocr;
  test::copy_tree(test::fixtures_dir() / "env/ocr2-like", ocr.path());
  auto o = test::kcat({"requirements", ocr.path().string()});
  EXPECT_NE(o.out.find("vllm-ascend 0.18.0"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("route ocr2-native-vllm-ascend"), std::string::npos) << o.out;
  // vllm-ascend 0.18.0's own pin, not the policy table's local build "2.9.0.post1+git4c901a4",
  // which no index serves.
  EXPECT_NE(o.out.find("\ntorch-npu==2.9.0  # kcat"), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("+git"), std::string::npos) << o.out;
}

}  // namespace
}  // namespace kcat

namespace kcat {
namespace {

TEST(RequirementsCommand, MigrateCommitsRequirementsAscendOnTheBranch) {
  test::TempDir dir;
  test::write(
      dir / "requirements.txt",
      "torch==2.1.2\ntorchvision==0.16.2\nflash-attn\n--extra-index-url https://mirror.example/simple\n");
  test::write(dir / "train.py", "import torch\nx = torch.zeros(2).cuda()\n");
  test::git_init_commit(dir.path());
  auto r =
      test::kcat({"migrate", dir.path().string(), "--target", "ascend-a2", "--author", "T <t@example.com>"});
  ASSERT_NE(r.exit_code, 2) << r.out << r.err;
  auto file = test::sh("git show kcat/ascend-a2:requirements-ascend.txt", dir.path());
  ASSERT_EQ(file.exit_code, 0) << r.out << r.err << file.err;
  // Issue 15: torch==2.1.2 has no row on CANN 8.5: the nearest higher one (2.6.0), not the newest.
  EXPECT_NE(file.out.find("\ntorch==2.6.0  # kcat:"), std::string::npos) << file.out;
  EXPECT_NE(file.out.find("\ntorchvision==0.21.*  # kcat:"), std::string::npos) << file.out;
  EXPECT_NE(file.out.find("\n# flash-attn  # kcat: dropped"), std::string::npos) << file.out;
  EXPECT_NE(file.out.find("\n# --extra-index-url https://mirror.example/simple  # kcat: refused"),
            std::string::npos)
      << file.out;
  auto log = test::sh("git log --format=%B kcat/ascend-a2", dir.path()).out;
  EXPECT_NE(log.find("kcat: requirements-ascend.txt for the Ascend stack"), std::string::npos) << log;
  EXPECT_NE(log.find("Refused (no consent)"), std::string::npos) << log;
  // the main branch is untouched, and a second run commits nothing new
  EXPECT_NE(
      test::sh("git show $(git rev-list --max-parents=0 HEAD):requirements-ascend.txt", dir.path()).exit_code,
      0);
  auto count = test::sh("git rev-list --count kcat/ascend-a2", dir.path()).out;
  test::kcat({"migrate", dir.path().string(), "--target", "ascend-a2", "--author", "T <t@example.com>"});
  EXPECT_EQ(test::sh("git rev-list --count kcat/ascend-a2", dir.path()).out, count);
}

}  // namespace
}  // namespace kcat
