// Requirement sources: only real ones, each read with its own grammar.
#include "kcat/env/sources.h"

#include <gtest/gtest.h>

#include "testsupport/support.h"

namespace kcat::env {
namespace {

CondaMap conda() { return CondaMap::load(test::source_dir() / "patches"); }

std::vector<std::string> names(const Sources& s) {
  std::vector<std::string> out;
  for (auto& e : s.entries) out.push_back(e.req ? e.req->key() : e.kind + ":" + e.value);
  return out;
}

bool has_note(const Sources& s, const std::string& part) {
  for (auto& n : s.notes) {
    if (n.find(part) != std::string::npos) return true;
  }
  return false;
}

TEST(Sources, ShellWordsAndPipsArgumentGrammar) {
  auto cmds = shell_commands(
      "pip install --upgrade pip  # enable PEP 660 support\n"
      "sudo -H python3 -m pip install -r req.txt \"torch==2.1.2\" 'numpy<2' \\\n  --index-url=\"${IDX}\" -e "
      ". && echo pip install nope\n");
  ASSERT_EQ(cmds.size(), 3u);
  EXPECT_EQ(cmds[0], (std::vector<std::string>{"pip", "install", "--upgrade", "pip"}));
  auto args = pip_install_args(cmds[1]);
  ASSERT_TRUE(args);
  auto es = parse_pip_args(*args, "x.sh", 2);
  ASSERT_EQ(es.size(), 5u);
  EXPECT_EQ(es[0].kind, "requirement-file");
  EXPECT_EQ(es[0].value, "req.txt");
  EXPECT_EQ(es[1].req->specifier.str(), "==2.1.2");
  EXPECT_EQ(es[2].req->specifier.str(), "<2");
  EXPECT_EQ(es[3].kind, "index-url");
  EXPECT_NE(es[3].value.find("${IDX}"), std::string::npos);  // a variable: never a usable URL
  EXPECT_EQ(es[4].kind, "editable");
  EXPECT_FALSE(pip_install_args(cmds[2]));  // echo ... is not pip
  EXPECT_TRUE(pip_install_args({"uv", "pip", "install", "x"}));
  EXPECT_TRUE(pip_install_args({"PIP_NO_CACHE=1", "pip3.10", "--no-cache-dir", "install", "x"}));
  EXPECT_FALSE(pip_install_args({"pip", "download", "x"}));
  // options with values never become packages: -i URL, --trusted-host HOST, -c FILE
  auto more = parse_pip_args(
      {"-i", "https://mirror/simple", "--trusted-host", "mirror", "-cfoo.txt", "einops",
       "git+https://github.com/a/b.git#egg=b", "vllm-0.8.5+cu118-cp38-abi3-manylinux1_x86_64.whl"},
      "f", 1);
  ASSERT_EQ(more.size(), 6u);
  EXPECT_EQ(more[0].kind, "index-url");
  EXPECT_EQ(more[1].kind, "trusted-host");
  EXPECT_EQ(more[2].kind, "constraint-file");
  EXPECT_EQ(more[2].value, "foo.txt");
  EXPECT_EQ(more[3].req->key(), "einops");
  EXPECT_EQ(more[4].kind, "vcs");
  EXPECT_EQ(more[4].req->key(), "b");
  EXPECT_EQ(more[5].kind, "wheel");
  EXPECT_EQ(more[5].req->specifier.str(), "==0.8.5+cu118");
}

TEST(Sources, ReadmeProseIsNeverASource) {
  test::TempDir dir;
  test::write(dir / "README.md",
              "Install: pip install --upgrade pip  # enable PEP 660 support\n"
              "| pip install | the table says things |\n"
              "Then run pip install torch numpy as you like.\n"
              "```python\nos.system('pip install evil')\n```\n"
              "```bash\n$ pip install einops  # a real command\n```\n");
  auto s = read_sources(dir.path(), conda());
  EXPECT_EQ(names(s), (std::vector<std::string>{"einops"}));
  ASSERT_EQ(s.entries.size(), 1u);
  EXPECT_EQ(s.entries[0].where(), "README.md:8");
}

TEST(Sources, RequirementFilesFollowIncludesAndConstraints) {
  test::TempDir dir;
  test::write(dir / "requirements.txt",
              "# top\n-r requirements/base.txt\n-c constraints.txt\nrequests[socks]>=2 ; python_version >= "
              "'3.8'  # c\n"
              "numpy \\\n  <2\ntorch==2.1.2+cu118 --hash=sha256:abc\n--extra-index-url "
              "https://download.pytorch.org/whl/cu118\n");
  test::write(dir / "requirements/base.txt", "einops\n-r ../requirements.txt\n");  // a cycle is read once
  test::write(dir / "constraints.txt", "numpy>=1.20\n");
  auto s = read_sources(dir.path(), conda());
  EXPECT_EQ(names(s), (std::vector<std::string>{"einops", "numpy", "requests", "numpy", "torch",
                                                "extra-index-url:https://download.pytorch.org/whl/cu118"}));
  EXPECT_TRUE(s.entries[1].constraint);
  EXPECT_EQ(s.entries[3].req->specifier.str(), "<2");
  EXPECT_EQ(s.entries[4].where(), "requirements.txt:7");
  EXPECT_EQ(s.read,
            (std::vector<std::string>{"requirements.txt", "requirements/base.txt", "constraints.txt"}));
}

TEST(Sources, SetupPyIsReadFromItsTreeNeverRun) {
  test::TempDir dir;
  test::write(dir / "setup.py",
              "import os\nos.system('touch RAN')\n"
              "BASE = ['torch>=2.0', \"einops\"]\n"
              "def reqs(p):\n    return [l.strip() for l in open(p)]\n"
              "setup(name='mypkg', install_requires=BASE + reqs('requirements-extra.txt'),\n"
              "      extras_require={'dev': ['pytest'], 'cuda': [\"flash-attn>=2\"]})\n");
  test::write(dir / "requirements-extra.txt", "timm==0.9.2\n");
  auto s = read_sources(dir.path(), conda());
  EXPECT_FALSE(std::filesystem::exists(dir / "RAN"));
  auto n = names(s);
  for (auto want : {"torch", "einops", "timm", "flash-attn"})
    EXPECT_NE(std::find(n.begin(), n.end(), want), n.end()) << want;
  // Issue 15: the `dev` extra is development tools, not the runtime: left out, and named
  EXPECT_EQ(std::find(n.begin(), n.end(), "pytest"), n.end());
  EXPECT_EQ(s.skipped, std::vector<std::string>{"extra `dev` (setup.py)"});
  EXPECT_EQ(s.own_name, "mypkg");
}

TEST(Sources, PyprojectPoetrySetupCfgAndConda) {
  test::TempDir dir;
  test::write(
      dir / "pyproject.toml",
      "[project]\nname = \"My_Pkg\"\ndependencies = [\"torch>=2.4\", \"pywin32; sys_platform == 'win32'\"]\n"
      "[tool.poetry.dependencies]\npython = \"^3.10\"\nrich = \"^13.1\"\nattrs = { version = \"~22.1\" }\n"
      "zero = \"^0.3.1\"\n");
  test::write(dir / "setup.cfg",
              "[metadata]\nname = mypkg\n[options]\ninstall_requires =\n    tqdm>=4\n    pyyaml\n");
  test::write(dir / "environment.yml",
              "name: x\nchannels:\n  - pytorch\ndependencies:\n  - python=3.10\n  - pytorch::pytorch=2.1.0\n"
              "  - pytorch-cuda=11.8\n  - cudatoolkit=11.8\n  - numpy=1.26.*\n  - pip\n  - pip:\n"
              "    - sentencepiece==0.2.0\n    - --extra-index-url https://example.org/simple\n");
  auto s = read_sources(dir.path(), conda());
  auto spec = [&](const std::string& name) {
    for (auto& e : s.entries) {
      if (e.req && e.req->key() == name) return e.req->specifier.str();
    }
    return std::string("<absent>");
  };
  EXPECT_EQ(s.own_name, "my-pkg");
  EXPECT_EQ(spec("rich"), ">=13.1,<14");
  EXPECT_EQ(spec("attrs"), ">=22.1,<22.2");
  EXPECT_EQ(spec("zero"), ">=0.3.1,<0.4");
  EXPECT_EQ(spec("python"), "<absent>");
  EXPECT_EQ(spec("tqdm"), ">=4");
  EXPECT_EQ(spec("pyyaml"), "");
  EXPECT_EQ(spec("torch"), ">=2.4");  // pyproject's first, then conda's pytorch under its pip name
  bool conda_torch = false;
  for (auto& e : s.entries)
    conda_torch |= e.req && e.req->key() == "torch" && e.req->specifier.str() == "==2.1.0" &&
                   e.file == "environment.yml";
  EXPECT_TRUE(conda_torch);
  EXPECT_EQ(spec("numpy"), "==1.26.*");
  EXPECT_EQ(spec("sentencepiece"), "==0.2.0");
  EXPECT_EQ(spec("pytorch-cuda"), "<absent>");
  EXPECT_EQ(spec("cudatoolkit"), "<absent>");
  EXPECT_TRUE(has_note(s, "`pytorch-cuda=11.8` dropped"));
  EXPECT_TRUE(has_note(s, "`cudatoolkit=11.8` dropped"));
  bool index = false;
  for (auto& e : s.entries) index |= e.kind == "extra-index-url" && e.where() == "environment.yml:13";
  EXPECT_TRUE(index);
}

TEST(Sources, DockerfileRunLines) {
  test::TempDir dir;
  test::write(dir / "docker/Dockerfile",
              "FROM x\nARG PYTORCH_INDEX=https://download.pytorch.org/whl/cpu\n"
              "RUN pip install --no-cache-dir --upgrade pip wheel && \\\n"
              "    # a comment inside\n"
              "    pip install --no-cache-dir -r requirements/npu.txt --index-url \"${PYTORCH_INDEX}\"\n"
              "RUN [\"pip\", \"install\", \"exec-form\"]\n"
              "RUN pip install -e . --no-build-isolation && pip install deepspeed==0.16.9\n");
  test::write(dir / "requirements/npu.txt", "torch==2.7.1\ntorch-npu==2.7.1\n");
  auto s = read_sources(dir.path(), conda());
  auto n = names(s);
  EXPECT_EQ(n, (std::vector<std::string>{"torch", "torch-npu", "index-url:${PYTORCH_INDEX}", "editable:.",
                                         "deepspeed"}));
  EXPECT_EQ(s.entries[0].where(), "requirements/npu.txt:1");
  EXPECT_EQ(s.entries[4].where(), "docker/Dockerfile:7");
}

}  // namespace
}  // namespace kcat::env

namespace kcat::env {
namespace {

TEST(Sources, ReadmeIndentedCodeBlocksButNotListProse) {
  test::TempDir dir;
  test::write(
      dir / "README.md",
      "## Install\n\n    pip install torch==2.6.0 --index-url https://download.pytorch.org/whl/cu118\n"
      "    pip install -r requirements.txt\n\nSteps:\n\n- first\n\n    pip install the packages you need\n");
  auto s = read_sources(dir.path(), CondaMap::load(test::source_dir() / "patches"));
  std::vector<std::string> got;
  for (auto& e : s.entries) got.push_back(e.req ? e.req->key() : e.kind);
  EXPECT_EQ(got, (std::vector<std::string>{"torch", "index-url"}));
  EXPECT_EQ(s.entries[0].where(), "README.md:3");
}

}  // namespace
}  // namespace kcat::env
