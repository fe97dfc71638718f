#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

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
