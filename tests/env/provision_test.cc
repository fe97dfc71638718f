// kcat env setup end to end: a real venv, real pip against a local index of minimal wheels the
// test builds (tests/fixtures/env/wheels/make_wheels.py), a fake CANN tree with a set_env.sh and a
// fake npu-smi, over a real sshd on 127.0.0.1.
#include "kcat/env/provision.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "kcat/core/error.h"

#include "kcat/env/doctor.h"
#include "testsupport/sshd.h"
#include "testsupport/support.h"

namespace kcat::env {

namespace {

kb::VersionMatrix matrix() { return kb::VersionMatrix::load(test::source_dir() / "patches"); }

// pip 23.2's words for the conflict issue 15 reports (transformers 5.5.3 beside tokenizers 0.20.3),
// as this machine's pip printed them against the test's wheels.
const char* kPipConflict = R"(Processing ./idx/tokenizers-0.20.3-py3-none-any.whl (from -r r.txt (line 2))
INFO: pip is looking at multiple versions of transformers to determine which version is compatible with other requirements. This could take a while.

The conflict is caused by:
    The user requested tokenizers==0.20.3
    transformers 5.5.3 depends on tokenizers<0.23 and >=0.22

To fix this you could try to:
1. loosen the range of package versions you've specified
2. remove package versions to allow pip attempt to solve the dependency conflict

ERROR: Cannot install -r r.txt (line 1) and tokenizers==0.20.3 because these package versions have conflicting dependencies.
ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts
)";

// The interpreter itself (not a pyenv shim, which needs the login environment over ssh).
std::string real_python() {
  auto r = test::sh("python3 -c 'import sys; print(sys.executable)'");
  auto p = r.out;
  while (!p.empty() && p.back() == '\n') p.pop_back();
  return p;
}

// A fake Ascend home in the cann-<version> layout, or ascend-toolkit/latest: set_env.sh exports
// what CANN's does and puts a fake npu-smi on PATH.
std::filesystem::path fake_ascend(const test::TempDir& dir, bool cann_layout) {
  auto home = dir / "Ascend";
  auto tk = cann_layout ? home / "cann-8.1.RC1" : home / "ascend-toolkit/latest";
  auto set_env = cann_layout ? tk / "set_env.sh" : home / "ascend-toolkit/set_env.sh";
  test::write(tk / "aarch64-linux/ascend_toolkit_install.info",
              "package_name=Ascend-cann-toolkit\nversion=8.1.RC1\n");
  test::write(set_env,
              "export ASCEND_HOME_PATH=" + tk.string() + "\nexport LD_LIBRARY_PATH=" + home.string() +
                  "/driver/lib64/common:" + home.string() + "/driver/lib64/driver:${LD_LIBRARY_PATH}\n" +
                  "export PATH=" + (test::fixtures_dir() / "env/bin").string() + ":$PATH\n");
  test::write(home / "driver/version.info", "Version=24.1.rc1\n");
  return home;
}

SetupOptions options(const test::TempDir& dir, const std::filesystem::path& home) {
  auto m = matrix();
  SetupOptions o;
  o.ascend_home = home.string();
  o.python = real_python();
  o.venv = (dir / "venv").string();
  o.stack = stack_for(m, "0.8.5rc1", "", "");
  o.pip_args = {"--no-index", "--find-links", (dir / "wheels").string()};
  o.torch_index.clear();
  o.budget = std::chrono::minutes(10);
  return o;
}

void make_wheels(const test::TempDir& dir) {
  auto r = test::run(
      {"python3", (test::fixtures_dir() / "env/wheels/make_wheels.py").string(), (dir / "wheels").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

}  // namespace

TEST(Provision, ReadsPipsResolverConflictAndMovesThePin) {
  auto cs = parse_resolver_error(kPipConflict);
  ASSERT_EQ(cs.size(), 1u);
  EXPECT_EQ(cs[0].package, "tokenizers");
  EXPECT_EQ(cs[0].requested, "tokenizers==0.20.3");
  EXPECT_EQ(cs[0].needed, "tokenizers<0.23,>=0.22");
  EXPECT_EQ(cs[0].by, "transformers 5.5.3");
  std::string req =
      "transformers==5.5.3\n# the tokenizer\ntokenizers==0.20.3  # pinned by the project\nnumpy\n";
  PinChange ch;
  ASSERT_TRUE(adjust_requirements(req, cs[0], ch));
  EXPECT_EQ(req,
            "transformers==5.5.3\n# the tokenizer\ntokenizers<0.23,>=0.22  # kcat env setup: was "
            "tokenizers==0.20.3 "
            "(transformers 5.5.3 depends on tokenizers<0.23,>=0.22)\nnumpy\n");
  EXPECT_EQ(ch.from, "tokenizers==0.20.3");
  EXPECT_EQ(ch.to, "tokenizers<0.23,>=0.22");
  EXPECT_NE(ch.reason.find("transformers 5.5.3 depends on"), std::string::npos);
  std::string none = "numpy\n";
  EXPECT_FALSE(adjust_requirements(none, cs[0], ch));
}

TEST(Provision, ChoosesTheStackFromTheMatrix) {
  auto m = matrix();
  auto s = stack_for(m, "0.25.1rc1", "", "");
  EXPECT_EQ(s.torch_npu, "2.10.0.post2");
  EXPECT_EQ(s.vllm, "0.25.1");
  EXPECT_EQ(s.cann, "9.0.1");
  s = stack_for(m, "", "", "8.1.RC1");
  EXPECT_EQ(s.torch_npu, "2.5.1");
  EXPECT_EQ(s.torch, "2.5.1");
  EXPECT_TRUE(s.vllm.empty());
  EXPECT_THROW(stack_for(m, "0.0.1", "", ""), Error);
}

TEST(Provision, NoCannIsAnEnvironmentErrorThatSaysSo) {
  test::TempDir dir;
  auto o = options(dir, dir / "nowhere");
  auto runner = exec::local_runner();
  auto r = setup(*runner, o);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.error.find("no CANN toolkit"), std::string::npos) << r.error;
  EXPECT_NE(r.fix.find("install the CANN toolkit"), std::string::npos);
}

TEST(Provision, AMissingWheelNamesThePackageAndTheFix) {
  test::TempDir dir;
  make_wheels(dir);
  std::filesystem::remove(dir / "wheels/torch_npu-2.5.1-py3-none-any.whl");
  auto home = fake_ascend(dir, false);
  auto o = options(dir, home);
  std::vector<std::string> asked;
  o.approve = [&](const std::string& what, const std::string&) {
    asked.push_back(what);
    return true;
  };
  auto runner = exec::local_runner();
  auto r = setup(*runner, o);
  EXPECT_FALSE(r.ready);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.failing_package, "torch-npu") << r.error;
  EXPECT_NE(r.error.find("torch-npu==2.5.1"), std::string::npos) << r.error;
  EXPECT_NE(r.fix.find("--find-links"), std::string::npos);
  ASSERT_GE(asked.size(), 4u);  // interactive: every command was shown and asked for
  EXPECT_EQ(asked[0], "find CANN under " + home.string());
  EXPECT_EQ(asked[3], "install torch 2.5.1 (CPU wheel)");
}

TEST(Provision, EndToEndOverSshResolvesAConflictAndSmokeTests) {
  if (!test::Sshd::available())
    GTEST_SKIP() << "no /usr/sbin/sshd (tools/install.sh --test installs openssh-server)";
  test::Sshd sshd;
  ASSERT_TRUE(sshd.ok());
  test::TempDir dir;
  make_wheels(dir);
  auto home = fake_ascend(dir, true);
  auto o = options(dir, home);
  o.requirements = "transformers==5.5.3\ntokenizers==0.20.3\n";
  std::vector<std::string> log;
  o.log = [&](const std::string& l) { log.push_back(l); };
  auto runner = exec::ssh_runner(test::Sshd::user() + "@127.0.0.1", sshd.args());
  auto t0 = std::chrono::steady_clock::now();
  auto r = setup(*runner, o);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string all;
  for (auto& l : log) all += l + "\n";
  ASSERT_TRUE(r.ready) << r.error << "\n" << r.fix << "\n" << all;
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.versions["torch"], "2.5.1");
  EXPECT_EQ(r.versions["torch-npu"], "2.5.1");
  EXPECT_EQ(r.versions["vllm"], "0.8.5.post1");
  EXPECT_EQ(r.versions["vllm-ascend"], "0.8.5rc1");
  EXPECT_EQ(r.versions["tokenizers"], "0.22.1");  // moved from 0.20.3, with the reason recorded
  ASSERT_EQ(r.changes.size(), 1u);
  EXPECT_EQ(r.changes[0].from, "tokenizers==0.20.3");
  EXPECT_NE(r.requirements.find("# kcat env setup: was tokenizers==0.20.3"), std::string::npos);
  EXPECT_NE(all.find("CANN 8.1.RC1 at " + (home / "cann-8.1.RC1").string()), std::string::npos) << all;
  // The install order: CPU torch, torch_npu, vllm, vllm-ascend, the rest, then the smoke test.
  std::vector<std::string> order;
  for (auto& s : r.steps) {
    if (s.what.rfind("install ", 0) == 0 || s.what.rfind("smoke", 0) == 0)
      order.push_back(s.what.substr(0, 20));
  }
  ASSERT_GE(order.size(), 6u);
  EXPECT_EQ(order[0], "install torch 2.5.1 ");
  EXPECT_EQ(order[1], "install torch_npu 2.");
  EXPECT_EQ(order[2], "install vllm 0.8.5.p");
  EXPECT_EQ(order[3], "install vllm-ascend ");
  EXPECT_EQ(order[4], "install requirements");
  EXPECT_EQ(order.back().substr(0, 5), "smoke");
  EXPECT_TRUE(std::filesystem::exists(r.activate));
  // The venv's own python, in the environment the activate script makes, is ready for doctor.
  auto check = test::sh("bash -c '. " + r.activate +
                        " && python -c \"import torch, torch_npu, vllm_ascend; "
                        "print(torch.npu.is_available())\"'");
  EXPECT_EQ(check.out, "True\n") << check.err;
  std::cout << "[ provision ] end to end over ssh: " << seconds << " s\n";
}

TEST(Provision, TheTimeBudgetStopsTheSetup) {
  test::TempDir dir;
  make_wheels(dir);
  auto home = fake_ascend(dir, false);
  auto o = options(dir, home);
  o.budget = std::chrono::seconds(0);
  auto runner = exec::local_runner();
  auto r = setup(*runner, o);
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.error.find("time budget"), std::string::npos);
}

}  // namespace kcat::env
