// The requirements resolve: pip's real resolver (pip install --dry-run --report) runs offline on a
// local index of metadata-only wheels built from kcat's cited pins (tests/env/make_index.py).
#include <gtest/gtest.h>

#include "kcat/core/fs.h"
#include "kcat/env/requirements.h"
#include "testsupport/support.h"

namespace kcat::env {
namespace {

kb::VersionMatrix matrix() { return kb::VersionMatrix::load(test::source_dir() / "patches"); }

bool have_pip() { return test::run({"python3", "-m", "pip", "--version"}).exit_code == 0; }

// Builds the index for `file` into dir/index; extra: make_index.py --extra specs.
std::filesystem::path make_index(const test::TempDir& dir, const std::filesystem::path& file,
                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {
      "python3",        (test::source_dir() / "tests/env/make_index.py").string(),
      "--patches",      (test::source_dir() / "patches").string(),
      "--out",          (dir / "index").string(),
      "--requirements", file.string()};
  for (auto& e : extra) argv.insert(argv.end(), {"--extra", e});
  auto r = test::run(argv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return dir / "index";
}

std::string version_of(const CheckResult& c, const std::string& name) {
  for (auto& [n, v] : c.installs) {
    if (n == name) return v;
  }
  return "";
}

TEST(Resolve, Ocr2LikePinsResolveWithPip) {
  if (!have_pip()) GTEST_SKIP() << "python3 -m pip is not installed (tools/install.sh installs python3-pip)";
  test::TempDir dir;
  auto s = solve(test::fixtures_dir() / "env/ocr2-like", "8.1.RC1", matrix());
  auto file = dir / "requirements-ascend.txt";
  write_file_atomic(file, render_file(s));
  auto c = check(file, make_index(dir, file).string());
  ASSERT_TRUE(c.ran) << c.output;
  ASSERT_TRUE(c.resolved) << c.output << render_file(s);
  EXPECT_EQ(version_of(c, "torch"), "2.5.1");
  EXPECT_EQ(version_of(c, "torch-npu"), "2.5.1");
  EXPECT_EQ(version_of(c, "torchvision"), "0.20.1");
  EXPECT_EQ(version_of(c, "torchaudio"), "2.5.1");
  EXPECT_EQ(version_of(c, "vllm-ascend"), "0.8.5rc1");
  EXPECT_EQ(version_of(c, "numpy"), "1.26.4");  // vllm-ascend 0.8.5rc1 requires numpy<2.0.0
  EXPECT_NE(c.command.find("--dry-run"), std::string::npos);
}

// The issue's own case: the stack moves to torch 2.9 (vllm-ascend 0.19.1rc1), the project pins
// torch 2.6's torchvision / torchaudio and transformers 4.46's tokenizers. kcat co-pins the family.
TEST(Resolve, TheFamilyFollowsTheStack) {
  if (!have_pip()) GTEST_SKIP() << "python3 -m pip is not installed";
  test::TempDir dir;
  test::TempDir repo;
  test::write(
      repo / "requirements.txt",
      "torch==2.6.0\ntorchvision==0.21.0\ntorchaudio==2.6.0\ntransformers==4.46.3\ntokenizers==0.20.3\n"
      "vllm==0.8.5\ntilelang\nquack-kernels==0.1\nnvidia-cudnn-cu12\n");
  SolveOptions o;
  o.vllm_ascend = "0.19.1rc1";
  o.route = "test";
  auto s = solve(repo.path(), o, matrix());
  auto file = dir / "requirements-ascend.txt";
  auto text = render_file(s);
  write_file_atomic(file, text);
  EXPECT_NE(text.find("\ntorchvision==0.24.0  # kcat: vllm-ascend 0.19.1rc1 requires it"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\ntorchaudio==2.9.0  # kcat:"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntransformers==5.5.3  # kcat:"), std::string::npos) << text;
  EXPECT_NE(text.find("\ntokenizers>=0.22.0,<=0.23.0  # kcat: transformers 5.5.3 requires it"),
            std::string::npos)
      << text;
  for (auto gone : {"\ntilelang", "\nquack-kernels", "\nnvidia-cudnn-cu12"})
    EXPECT_EQ(text.find(gone), std::string::npos) << gone << " must only stay as a comment\n" << text;
  auto c = check(file, make_index(dir, file).string());
  ASSERT_TRUE(c.resolved) << c.output << text;
  EXPECT_EQ(version_of(c, "torch"), "2.9.0");
  EXPECT_EQ(version_of(c, "torchvision"), "0.24.0");
  EXPECT_EQ(version_of(c, "tokenizers"), "0.23.0");
}

// What the issue found: torch 2.9 beside torch 2.6's torchvision / torchaudio. Real pip says no,
// and check() names the conflict.
TEST(Resolve, PinsThatCannotResolveNameTheConflict) {
  if (!have_pip()) GTEST_SKIP() << "python3 -m pip is not installed";
  test::TempDir dir;
  auto file = dir / "requirements.txt";
  test::write(file, "torch==2.9.0\ntorchvision==0.21.0\ntorchaudio==2.6.0\n");
  auto c = check(file, make_index(dir, file, {"torch==2.6.0"}).string());
  ASSERT_TRUE(c.ran) << c.output;
  EXPECT_FALSE(c.resolved);
  std::string all;
  for (auto& l : c.conflicts) all += l + "\n";
  EXPECT_NE(all.find("torchvision 0.21.0 depends on torch==2.6.0"), std::string::npos) << all << c.output;
}

TEST(Resolve, WithoutPipTheCheckSaysSo) {
  test::TempDir dir;
  test::write(dir / "r.txt", "einops\n");
  auto c = check(dir / "r.txt", dir.path().string(), "/nonexistent/python3");
  EXPECT_FALSE(c.ran);
  EXPECT_FALSE(c.resolved);
  ASSERT_FALSE(c.conflicts.empty());
  EXPECT_NE(c.conflicts[0].find("pip is not available"), std::string::npos) << c.conflicts[0];
}

}  // namespace
}  // namespace kcat::env
