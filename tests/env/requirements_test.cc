#include "kcat/env/requirements.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::env {

namespace {
kb::VersionMatrix matrix() { return kb::VersionMatrix::load(test::source_dir() / "patches"); }
bool has_line(const Solution& s, const std::string& prefix) {
  for (auto& l : s.lines) {
    if (l.rfind(prefix, 0) == 0) return true;
  }
  return false;
}
}  // namespace

TEST(Requirements, DeepSeekOcr2LikeOnCann81) {
  auto s = solve(test::fixtures_dir() / "env/ocr2-like", "8.1.RC1", matrix());
  EXPECT_EQ(s.cann, "8.1.RC1");
  EXPECT_EQ(s.torch, "2.5.1");
  EXPECT_EQ(s.torch_npu, "2.5.1");
  ASSERT_TRUE(s.vllm_ascend);
  EXPECT_EQ(s.vllm_ascend->vllm_ascend, "0.8.5rc1");
  EXPECT_EQ(s.vllm_ascend->vllm, "0.8.5.post1");
  EXPECT_EQ(s.python, ">= 3.9, < 3.12");
  EXPECT_TRUE(has_line(s, "torch==2.5.1  # kcat:"));
  EXPECT_TRUE(has_line(s, "torch-npu==2.5.1"));
  EXPECT_TRUE(has_line(s, "vllm-ascend==0.8.5rc1"));
  EXPECT_TRUE(has_line(s, "--extra-index-url https://download.pytorch.org/whl/cpu"));
  bool flash = false;
  for (auto& d : s.dropped)
    flash |= d.what.find("flash-attn") != std::string::npos &&
             d.replacement.find("npu_fusion_attention") != std::string::npos;
  EXPECT_TRUE(flash);
  // Two real conflicts, resolved in favour of the stack: vLLM 0.8.5 needs a newer transformers,
  // vllm-ascend 0.8.5rc1 an older torchvision.
  bool transformers = false, torchvision = false;
  EXPECT_TRUE(s.conflicts.empty());
  for (auto& c : s.resolved) {
    transformers |= c.explanation.find("transformers>=4.51.1") != std::string::npos &&
                    c.source.find("DeepSeek-OCR-2") != std::string::npos;
    torchvision |= c.explanation.find("torchvision<0.21.0") != std::string::npos;
  }
  EXPECT_TRUE(transformers);
  EXPECT_TRUE(torchvision);
  EXPECT_TRUE(
      has_line(s, "transformers>=4.51.1  # kcat: vllm 0.8.5 requires it (was: transformers==4.46.3)"));
  EXPECT_TRUE(has_line(s, "torchvision<0.21.0  # kcat: vllm-ascend 0.8.5rc1 requires it"));
}

TEST(Requirements, WithoutCannTheProjectsVllmChoosesTheRow) {
  auto s = solve(test::fixtures_dir() / "env/ocr2-like", "", matrix());
  ASSERT_TRUE(s.vllm_ascend);
  EXPECT_EQ(s.vllm_ascend->vllm_ascend, "0.8.5rc1");
}

TEST(Requirements, PlainTorchProjectAndErrors) {
  test::TempDir dir;
  test::write(dir / "requirements.txt", "-r base.txt\n# a comment\nxformers>=0.0.20\n");
  test::write(dir / "base.txt", "torch==2.1.2+cu118\nnumpy<2\n");
  auto s = solve(dir.path(), "8.0.0", matrix());
  // Issue 15: the row closest to the project's torch==2.1.2 (its 2.1 line), no longer the newest (2.4.0).
  EXPECT_EQ(s.torch_npu, "2.1.0.post10");
  EXPECT_EQ(s.torch, "2.1.0");
  EXPECT_FALSE(s.vllm_ascend);
  EXPECT_TRUE(s.conflicts.empty());
  EXPECT_TRUE(has_line(s, "numpy<2"));
  EXPECT_TRUE(has_line(s, "# xformers>=0.0.20  # kcat: dropped"));
  EXPECT_THROW(solve(dir.path(), "7.7.7", matrix()), Error);
  test::TempDir empty;
  EXPECT_THROW(solve(empty.path(), "", matrix()), Error);
}

// Issue 15: among the CANN's torch_npu rows, the one closest to the project's torch.
TEST(Requirements, TheTorchNpuRowClosestToTheProjectsTorch) {
  auto stack = [](const std::string& torch, const std::string& cann) {
    test::TempDir dir;
    test::write(dir / "requirements.txt", torch + "\nnumpy\n");
    return solve(dir.path(), cann, matrix());
  };
  auto moved = [](const Solution& s) {
    return std::any_of(s.resolved.begin(), s.resolved.end(), [](auto& r) {
      return r.explanation.find("re-test the code that relied on the old torch") != std::string::npos;
    });
  };
  // An exact pin with a row stays (CANN 8.5.0 has 2.9.0, 2.8.0, 2.7.1, 2.6.0).
  auto s = stack("torch==2.7.1", "8.5.1");
  EXPECT_EQ(s.torch, "2.7.1");
  EXPECT_EQ(s.torch_npu, "2.7.1.post2");
  EXPECT_FALSE(moved(s));
  EXPECT_TRUE(has_line(s, "torch==2.7.1"));
  // A pin with no row moves to the nearest higher row, and says what to re-test.
  s = stack("torch==2.1.2", "8.5.1");
  EXPECT_EQ(s.torch, "2.6.0");
  EXPECT_EQ(s.torch_npu, "2.6.0.post5");
  EXPECT_TRUE(moved(s));
  // Above every row: the newest, with the note.
  s = stack("torch==2.5.1", "8.0.0");
  EXPECT_EQ(s.torch, "2.4.0");
  EXPECT_TRUE(moved(s));
  // A range: the closest row that satisfies it.
  s = stack("torch>=2.6.1,<2.9", "8.5.1");
  EXPECT_EQ(s.torch, "2.7.1");
  EXPECT_FALSE(moved(s));
  s = stack("torch<2.8", "8.5.1");  // no lower bound: the newest it admits
  EXPECT_EQ(s.torch, "2.7.1");
  EXPECT_FALSE(moved(s));
  s = stack("torch~=2.3.0", "8.1.RC1");
  EXPECT_EQ(s.torch, "2.3.1");
  // No torch pin: the newest row.
  s = stack("torch", "8.5.1");
  EXPECT_EQ(s.torch, "2.9.0");
  s = stack("einops", "8.5.1");
  EXPECT_EQ(s.torch, "2.9.0");
}

TEST(Requirements, ReadsPyprojectSetupPyAndEnvironmentYml) {
  test::TempDir dir;
  test::write(dir / "pyproject.toml",
              "[project]\nname = \"m\"\ndependencies = [\"torch==2.6.0\", \"flash-attn>=2\"]\n"
              "[project.optional-dependencies]\nserve = [\"vllm==0.8.5\"]\n");
  test::write(
      dir / "setup.py",
      "from setuptools import setup\nsetup(name='m', install_requires=['xformers', \"einops>=0.6\"])\n");
  test::write(dir / "environment.yml",
              "name: m\ndependencies:\n  - python=3.10\n  - pip:\n    - bitsandbytes==0.41.0\n");
  auto s = solve(dir.path(), "8.1.RC1", matrix());
  EXPECT_EQ(s.read, (std::vector<std::string>{"pyproject.toml", "setup.py", "environment.yml"}));
  std::vector<std::string> dropped;
  for (auto& d : s.dropped) dropped.push_back(d.what);
  EXPECT_EQ(dropped, (std::vector<std::string>{"flash-attn>=2", "xformers", "bitsandbytes==0.41.0"}));
  ASSERT_TRUE(s.vllm_ascend);  // vLLM is used through the optional dependency
  EXPECT_EQ(s.vllm_ascend->vllm_ascend, "0.8.5rc1");
  EXPECT_TRUE(has_line(s, "einops>=0.6"));
  EXPECT_FALSE(has_line(s, "python"));  // conda's python=3.10 is not a pip requirement
}

}  // namespace kcat::env

namespace kcat::env {
namespace {

bool line_starts(const Solution& s, const std::string& prefix) {
  for (auto& l : s.lines) {
    if (l.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

TEST(Requirements, TheIssuesReadmeAndCondaCasesAndTheOwnPackage) {
  test::TempDir root;
  auto dir = root / "whisper";
  // README prose and a README's table are no sources; an upstream git URL of the repository itself
  // is its own package; conda's cuda names are dropped; conda's `numpy=1.26` is written as pip's.
  test::write(dir / "README.md",
              "pip install --upgrade pip  # enable PEP 660 support\n\n| pip | install the model |\n\n"
              "```bash\npip install git+https://github.com/openai/whisper.git\npip install -e .\n```\n");
  test::write(dir / "environment.yml",
              "dependencies:\n  - cuda\n  - pytorch-cuda==11.8\n  - numpy=1.26\n  - pip:\n    - tiktoken\n");
  test::write(dir / "setup.py", "setup(name='openai-whisper', install_requires=['more-itertools'])\n");
  auto s = solve(dir, "8.5.1", kb::VersionMatrix::load(test::source_dir() / "patches"));
  for (auto word : {"enable", "PEP", "660", "support", "cuda", "pytorch-cuda", "whisper"}) {
    for (auto& l : s.lines) EXPECT_NE(l.rfind(word, 0), 0u) << word << " became a line: " << l;
  }
  EXPECT_TRUE(line_starts(s, "numpy==1.26\n") || line_starts(s, "numpy==1.26"));
  EXPECT_TRUE(line_starts(s, "tiktoken"));
  EXPECT_TRUE(line_starts(s, "more-itertools"));
  EXPECT_TRUE(s.refused.empty());  // the repository's own URL is not an outside source
  bool own = false;
  for (auto& n : s.notes) own |= n.find("the repository's own package") != std::string::npos;
  EXPECT_TRUE(own);
}

// transformers 4.49-4.55 require tokenizers>=0.21,<0.22 and 4.56 >=0.22,<=0.23 (the
// families.toml rows; litgpt's transformers 4.51.3 beside tokenizers 0.23.0 cannot install).
TEST(Requirements, TokenizersFollowTransformers449To456) {
  auto m = kb::VersionMatrix::load(test::source_dir() / "patches");
  struct Case {
    const char *transformers, *line;
  };
  for (auto c : {Case{"4.51.3", "tokenizers>=0.21,<0.22  # kcat: transformers 4.51.3 requires it"},
                 Case{"4.55.4", "tokenizers>=0.21,<0.22  # kcat: transformers 4.55.4 requires it"},
                 Case{"4.56.0", "tokenizers>=0.22.0,<=0.23.0  # kcat: transformers 4.56.0 requires it"}}) {
    test::TempDir dir;
    test::write(dir / "requirements.txt",
                std::string("transformers==") + c.transformers + "\ntokenizers==0.20.3\n");
    auto s = solve(dir.path(), "8.5.1", m);
    EXPECT_TRUE(line_starts(s, c.line)) << c.transformers;
  }
}

TEST(Requirements, MarkersFalseOnLinuxAreLeftOut) {
  test::TempDir dir;
  test::write(dir / "requirements.txt",
              "pywin32; sys_platform == 'win32'\nuvloop; sys_platform != 'win32'\n");
  auto s = solve(dir.path(), "8.5.1", kb::VersionMatrix::load(test::source_dir() / "patches"));
  EXPECT_FALSE(line_starts(s, "pywin32"));
  EXPECT_TRUE(line_starts(s, "uvloop; sys_platform != 'win32'"));
  bool noted = false;
  for (auto& n : s.notes)
    noted |= n.find("pywin32") != std::string::npos && n.find("Linux aarch64") != std::string::npos;
  EXPECT_TRUE(noted);
}

// Accuracy (whisper's requirements.txt): a CUDA-only package behind a marker that is false on the
// host is still written as dropped, with what replaces it, not left out without a word.
TEST(Requirements, ACudaOnlyPackageBehindAMarkerIsDroppedWithItsReplacement) {
  test::TempDir dir;
  test::write(dir / "requirements.txt",
              "torch\ntriton>=2.0.0;platform_machine==\"x86_64\" and sys_platform==\"linux\"\n");
  auto s = solve(dir.path(), "8.5.1", kb::VersionMatrix::load(test::source_dir() / "patches"));
  EXPECT_TRUE(has_line(s, "# triton>=2.0.0"));
  bool replaced = false;
  for (auto& l : s.lines) replaced |= l.find("# triton") == 0 && l.find("triton-ascend") != std::string::npos;
  EXPECT_TRUE(replaced);
}

// Issue 17 item 2 / issue 15: where Triton kernels stay, triton-ascend replaces triton at the version
// a vllm-ascend release pins beside the chosen torch-npu (its requirements.txt), with the reason.
TEST(Requirements, TritonIsReplacedByTritonAscendAtTheStacksPin) {
  auto m = kb::VersionMatrix::load(test::source_dir() / "patches");
  test::TempDir dir;
  test::write(dir / "requirements.txt", "torch\ntriton>=3.0\n");
  auto s = solve(dir.path(), "",
                 m);  // the default stack, torch-npu 2.9.0: vllm-ascend 0.16.0rc1 .. 0.19.1rc1 pin 3.2.0
  EXPECT_EQ(s.torch_npu, "2.9.0");
  EXPECT_TRUE(has_line(s, "# triton>=3.0"));
  std::string line;
  for (auto& l : s.lines)
    if (l.rfind("triton-ascend", 0) == 0) line = l;
  EXPECT_EQ(line.rfind("triton-ascend==3.2.0  # kcat: replaces triton, which must be uninstalled first", 0),
            0u)
      << line;
  EXPECT_NE(line.find("vllm-ascend 0.19.1rc1 pins with torch-npu 2.9.0"), std::string::npos) << line;
  EXPECT_NE(line.find("requirements.txt@v0.19.1rc1"), std::string::npos) << line;

  // A stack no vllm-ascend release pins triton-ascend beside: said so, as a comment, no version guessed.
  auto old = solve(dir.path(), "8.1.RC1", m);
  bool unpinned = false;
  for (auto& l : old.lines)
    unpinned |= l.rfind("# triton-ascend  # kcat:", 0) == 0 && l.find("no vllm-ascend") != std::string::npos;
  EXPECT_TRUE(unpinned);
  EXPECT_FALSE(has_line(old, "triton-ascend=="));

  // No triton in the project: nothing added.
  test::TempDir plain;
  test::write(plain / "requirements.txt", "torch>=2.1\n");
  EXPECT_FALSE(has_line(solve(plain.path(), "", m), "triton-ascend"));
  // ... unless Triton kernels stay in its code (causal-conv1d: triton comes with torch, no line names it).
  test::TempDir kernel_repo;
  test::write(kernel_repo / "requirements.txt", "torch\n");
  EXPECT_FALSE(has_line(solve(kernel_repo.path(), "", m), "triton-ascend"));
  SolveOptions kernels;
  kernels.triton_kernels = true;
  std::string added;
  for (auto& l : solve(kernel_repo.path(), kernels, m).lines)
    if (l.rfind("triton-ascend==", 0) == 0) added = l;
  EXPECT_EQ(
      added.rfind("triton-ascend==3.2.0  # kcat: the code's Triton kernels (@triton.jit) run on it; ", 0), 0u)
      << added;
}

TEST(Requirements, RepositoryIndexesAreRefusedWithoutConsentAndAskedWithATerminal) {
  test::TempDir dir;
  test::write(dir / "requirements.txt", "-i https://mirror.example/simple\neinops\n");
  auto m = kb::VersionMatrix::load(test::source_dir() / "patches");
  SolveOptions o;
  o.cann = "8.5.1";
  auto s = solve(dir.path(), o, m);
  ASSERT_EQ(s.refused.size(), 1u);
  EXPECT_EQ(s.refused[0].where, "requirements.txt:1");
  EXPECT_TRUE(line_starts(s, "# -i https://mirror.example/simple  # kcat: refused: from requirements.txt:1"));
  std::string asked;
  o.ask = [&](const std::string& q) {
    asked = q;
    return true;
  };
  s = solve(dir.path(), o, m);
  EXPECT_NE(asked.find("requirements.txt:1"), std::string::npos) << asked;
  EXPECT_TRUE(s.refused.empty());
  EXPECT_TRUE(line_starts(s, "-i https://mirror.example/simple  # kcat: kept with consent"));
}

TEST(Requirements, APatchReleaseOfCannGetsTheVllmAscendReleaseOfItsLine) {
  // vllm-ascend's rows say 9.0.1 and 9.0.0; a host on 9.0.2 (a newer patch of that line) must get
  // one of them, not "no vllm-ascend release" (rows used to match CANN by exact text).
  test::TempDir dir;
  test::write(dir / "requirements.txt", "vllm\n");
  auto m = kb::VersionMatrix::load(test::source_dir() / "patches");
  SolveOptions o;
  o.cann = "9.0.2";
  auto s = solve(dir.path(), o, m);
  ASSERT_TRUE(s.vllm_ascend);
  EXPECT_EQ(kb::cann_fit("9.0.2", s.vllm_ascend->cann), kb::CannFit::patch) << s.vllm_ascend->cann;
  // Same release first: on 8.5.1 the 8.5.1 rows come before the 8.5.0 ones.
  auto rows = m.vllm_for_cann("8.5.1");
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.front()->cann, "8.5.1");
  EXPECT_EQ(rows.back()->cann, "8.5.0");
  EXPECT_TRUE(m.vllm_for_cann("8.3.RC3").empty());  // an RC matches only itself
}

TEST(Requirements, OptionalImagesAreNotMergedIntoTheRuntimeSet) {
  // LLaMA-Factory: two optional CUDA images pin megatron-bridge 0.5.0 (which brings megatron-core
  // 0.18) and megatron-core 0.13; merged into one file they cannot install.
  test::TempDir dir;
  test::write(dir / "pyproject.toml",
              "[project]\nname = \"proj\"\ndependencies = [\"torch>=2.4\", \"transformers\"]\n");
  test::write(dir / "docker/mbridge/Dockerfile", "RUN pip install megatron-bridge==0.5.0\n");
  test::write(dir / "docker/megatron/Dockerfile",
              "FROM x\nRUN pip install \"megatron-core>=0.13.0,<0.14.0\" transformers==4.40.0\n");
  test::write(dir / "README.md", "```bash\npip install einops\n```\n");
  auto s = solve(dir.path(), "", matrix());
  EXPECT_FALSE(line_starts(s, "megatron-bridge"));
  EXPECT_FALSE(line_starts(s, "megatron-core"));
  EXPECT_TRUE(
      line_starts(s, "# megatron-bridge==0.5.0  # kcat: left out: only in docker/mbridge/Dockerfile:1"));
  EXPECT_TRUE(line_starts(s,
                          "# megatron-core>=0.13.0,<0.14.0  # kcat: left out: only in "
                          "docker/megatron/Dockerfile:2"));
  // the runtime set has transformers: the image's pin neither moves it nor is written
  EXPECT_TRUE(std::find(s.lines.begin(), s.lines.end(), "transformers") != s.lines.end());
  EXPECT_FALSE(line_starts(s, "# transformers"));
  EXPECT_TRUE(line_starts(s, "einops"));  // the README's documented install is the runtime's
  // A repository whose only source is its Dockerfile still gets its requirements.
  test::TempDir only;
  test::write(only / "Dockerfile", "RUN pip install torch==2.6.0 einops\n");
  auto o = solve(only.path(), "", matrix());
  EXPECT_TRUE(line_starts(o, "einops"));
}

TEST(Requirements, TheProjectsOwnAscendStackIsPreferred) {
  test::TempDir dir;
  test::write(dir / "pyproject.toml", "[project]\nname = \"proj\"\ndependencies = [\"torch>=2.4\"]\n");
  test::write(dir / "requirements/npu.txt", "torch==2.10.0\ntorch-npu==2.10.0.post2\ndecorator\n");
  auto s = solve(dir.path(), "", matrix());
  EXPECT_EQ(s.torch_npu, "2.10.0.post2");
  EXPECT_EQ(s.torch, "2.10.0");
  EXPECT_NE(s.stack_reason.find("the project's own Ascend stack"), std::string::npos) << s.stack_reason;
  EXPECT_NE(s.stack_reason.find("requirements/npu.txt:2"), std::string::npos) << s.stack_reason;
  // the row is vllm-ascend's release pin, not Ascend/pytorch's table: the line cites it
  EXPECT_TRUE(line_starts(s, "torch-npu==2.10.0.post2  # kcat: for CANN 9.0.1 (vllm-project/vllm-ascend:"));
  // an `ascend` extra says the same
  test::TempDir extra;
  test::write(extra / "pyproject.toml",
              "[project]\nname = \"proj\"\ndependencies = [\"torch>=2.4\"]\n"
              "[project.optional-dependencies]\nascend = [\"torch-npu==2.10.0.post2\"]\n");
  EXPECT_EQ(solve(extra.path(), "", matrix()).torch_npu, "2.10.0.post2");
  // --cann still wins; a pin the matrix does not know is named, and the default stack follows
  test::TempDir unknown;
  test::write(unknown / "pyproject.toml", "[project]\nname = \"proj\"\ndependencies = [\"torch>=2.4\"]\n");
  test::write(unknown / "requirements-npu.txt", "torch-npu==1.0.0\n");
  auto u = solve(unknown.path(), "", matrix());
  std::filesystem::remove(unknown / "requirements-npu.txt");
  EXPECT_EQ(u.torch_npu, solve(unknown.path(), "", matrix()).torch_npu);  // the default stack
  test::write(unknown / "requirements-npu.txt", "torch-npu==1.0.0\n");
  auto cann = solve(extra.path(), "8.5.1", matrix());  // --cann wins over the project's own stack
  EXPECT_NE(cann.stack_reason.find("CANN 8.5.1 (--cann)"), std::string::npos) << cann.stack_reason;
  EXPECT_NE(cann.torch_npu, "2.10.0.post2");
  EXPECT_NE(u.stack_reason.find("`torch-npu==1.0.0` (requirements-npu.txt:1) is not in the version matrix"),
            std::string::npos)
      << u.stack_reason;
}

TEST(Requirements, PythonRangeIsIntersectedWithRequiresPython) {
  test::TempDir dir;
  test::write(
      dir / "pyproject.toml",
      "[project]\nname = \"proj\"\nrequires-python = \">=3.11.0\"\ndependencies = [\"torch==2.6.0\"]\n");
  auto s = solve(dir.path(), "", matrix());
  EXPECT_EQ(s.python.find("3.9"), std::string::npos) << s.python;
  EXPECT_EQ(s.python.find("3.10"), std::string::npos) << s.python;
  EXPECT_EQ(s.python.rfind("3.11", 0), 0u) << s.python;
  EXPECT_TRUE(s.conflicts.empty());
  // an empty intersection is a conflict naming both ranges and the file
  test::TempDir old;
  test::write(old / "setup.py", "setup(name='p', python_requires='<3.8', install_requires=['torch'])\n");
  auto o = solve(old.path(), "", matrix());
  ASSERT_EQ(o.conflicts.size(), 1u);
  EXPECT_EQ(o.conflicts[0].what, "Python <3.8");
  EXPECT_NE(o.conflicts[0].explanation.find("setup.py (python_requires)"), std::string::npos)
      << o.conflicts[0].explanation;
}

TEST(Requirements, DevelopmentToolsAreLeftOut) {
  test::TempDir dir;
  test::write(dir / "pyproject.toml",
              "[project]\nname = \"proj\"\ndependencies = [\"torch\"]\n[project.optional-dependencies]\n"
              "dev = [\"pytest\"]\ndocs = [\"sphinx\"]\ntyping = [\"mypy\"]\nserve = [\"uvicorn\"]\n");
  test::write(dir / "requirements-build.txt", "cmake\n");
  test::write(dir / "requirements.txt", "einops\n-r requirements/lint.txt\n");
  test::write(dir / "requirements/lint.txt", "ruff\n");
  auto s = solve(dir.path(), "", matrix());
  for (auto* tool : {"pytest", "sphinx", "mypy", "cmake", "ruff"}) EXPECT_FALSE(line_starts(s, tool)) << tool;
  EXPECT_TRUE(line_starts(s, "uvicorn"));
  EXPECT_TRUE(line_starts(s, "einops"));
  int comments = 0;
  for (auto& l : s.lines) {
    if (l.rfind("# kcat: development tools, not the runtime, left out: ", 0) != 0) continue;
    ++comments;
    for (auto* what : {"requirements-build.txt", "extra `dev` (pyproject.toml)", "extra `docs`",
                       "extra `typing`", "requirements/lint.txt"})
      EXPECT_NE(l.find(what), std::string::npos) << what << " in " << l;
  }
  EXPECT_EQ(comments, 1);
}

}  // namespace
}  // namespace kcat::env
