#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "testsupport/sshd.h"
#include "testsupport/support.h"

namespace kcat {

TEST(DoctorCommand, ReadyAndNotReady) {
  test::TempDir dir;
  auto bin = (test::fixtures_dir() / "env/bin").string();
  std::map<std::string, std::string> env = {{"PATH", bin + ":" + std::getenv("PATH")},
                                            {"KCAT_FAKE_PIP", (dir / "pip.json").string()}};
  test::write(dir / "pip.json",
              R"([{"name": "torch", "version": "2.5.1"}, {"name": "torch-npu", "version": "2.5.1"}])");
  auto args =
      std::vector<std::string>{"doctor", "--ascend-home", (test::fixtures_dir() / "env/ascend-8.1").string(),
                               "--python", bin + "/fake-python"};
  auto ok = test::kcat(args, {}, env);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("ready"), std::string::npos);
  args[2] = (test::fixtures_dir() / "env/ascend-8.0").string();
  args.push_back("--format");
  args.push_back("json");
  auto bad = test::kcat(args, {}, env);
  EXPECT_EQ(bad.exit_code, 1);
  auto j = nlohmann::json::parse(bad.out);
  EXPECT_EQ(j["ready"], false);
  EXPECT_EQ(j["probe"]["cann"], "8.0.0");
}

}  // namespace kcat

namespace kcat {

// docs/cli.md and docs/ci.md: 0 ready, 1 not ready, 2 usage, 3 the host cannot be reached.
TEST(DoctorCommand, UsageIsExit2) {
  auto r = test::kcat({"doctor", "--format", "yaml"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
}

TEST(DoctorCommand, AnUnreachableHostSaysCouldNotConnectWithinSecondsAndExits3) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = test::kcat({"doctor", "--host", "nobody@127.0.0.1", "--ssh-arg=-p",
                       "--ssh-arg=" + std::to_string(test::free_port()), "--ssh-arg=-o",
                       "--ssh-arg=StrictHostKeyChecking=no", "--ssh-arg=-o",
                       "--ssh-arg=UserKnownHostsFile=/dev/null"});
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("could not connect to nobody@127.0.0.1"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("install the Ascend driver"), std::string::npos) << r.out;
  EXPECT_LT(seconds, 20.0);  // one refused connection, not a probe per check
}

TEST(EnvSetupCommand, NoCannUnderTheHomeIsExit3) {
  test::TempDir dir;
  auto r = test::kcat({"--ci", "env", "setup", "--venv", (dir / "venv").string(), "--ascend-home",
                       (dir / "none").string(), "--torch-npu", "2.5.1"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("environment not ready: no CANN toolkit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fix: install the CANN toolkit"), std::string::npos) << r.out;
}

}  // namespace kcat
