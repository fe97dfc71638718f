#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "testsupport/sshd.h"
#include "testsupport/support.h"

namespace kcat {

TEST(BenchCommand, TargetMetAndMissedAndTheBaselineRatio) {
  auto met = test::kcat({"bench", "--cmd", "echo 'throughput: 100.0 tok/s'", "--metric",
                         "throughput: ([0-9.]+)", "--unit", "tok/s", "--runs", "3", "--warmup", "0",
                         "--target", "90", "--baseline", "echo 'throughput: 25'"});
  EXPECT_EQ(met.exit_code, 0) << met.err;
  EXPECT_NE(met.out.find("median 100.00 tok/s"), std::string::npos) << met.out;
  EXPECT_NE(met.out.find("ratio      4.00x the baseline"), std::string::npos) << met.out;
  EXPECT_NE(met.out.find("target     90.00 tok/s: met"), std::string::npos);
  auto missed = test::kcat({"bench", "--cmd", "echo 'throughput: 100'", "--metric", "throughput: ([0-9.]+)",
                            "--runs", "2", "--warmup", "0", "--target", "550", "--format", "json"});
  EXPECT_EQ(missed.exit_code, 1);
  auto j = nlohmann::json::parse(missed.out);
  EXPECT_EQ(j["target_met"], false);
  EXPECT_EQ(j["candidate"]["median"], 100);
}

TEST(BenchCommand, JsonMetricHangAndUsage) {
  auto js = test::kcat({"bench", "--cmd", "echo '{\"output_tokens_per_s\": 864}'", "--metric-json",
                        "output_tokens_per_s", "--runs", "2", "--warmup", "0"});
  EXPECT_EQ(js.exit_code, 0) << js.err;
  EXPECT_NE(js.out.find("median 864.00"), std::string::npos);
  auto hang = test::kcat({"bench", "--cmd", "sleep 30", "--timeout", "0.2", "--runs", "1", "--warmup", "0"});
  EXPECT_EQ(hang.exit_code, 3);
  EXPECT_NE(hang.err.find("timed out"), std::string::npos) << hang.err;
  EXPECT_EQ(test::kcat({"bench", "--cmd", "true", "--metric", "(x)", "--metric-json", "k"}).exit_code, 2);
  EXPECT_EQ(test::kcat({"bench"}).exit_code, 2);
}

// Issue 19: the report says where its numbers come from: `kcat doctor --format json` of the machine,
// the device only when npu-smi lists a chip there, the start time, and every run's output.
TEST(BenchCommand, TheReportCarriesTheDoctorTheDeviceAndTheOutput) {
  test::TempDir dir;
  auto fake = test::fixtures_dir() / "env/bin";
  auto args = std::vector<std::string>{"bench",
                                       "--cmd",
                                       "echo log >&2; echo '{\"output_tokens_per_s\": 5, \"seed\": 7}'",
                                       "--metric-json",
                                       "output_tokens_per_s",
                                       "--runs",
                                       "1",
                                       "--warmup",
                                       "0",
                                       "--format",
                                       "json",
                                       "--ascend-home",
                                       (test::fixtures_dir() / "env/ascend-8.1").string(),
                                       "--python",
                                       (fake / "fake-python").string()};
  // No npu-smi on PATH: no device, said so.
  std::map<std::string, std::string> env = {{"PATH", (dir / "empty").string() + ":/usr/bin:/bin"},
                                            {"KCAT_FAKE_PIP", (dir / "pip.json").string()}};
  test::write(dir / "pip.json", R"([{"name": "torch", "version": "2.5.1"}])");
  auto none = test::kcat(args, {}, env);
  ASSERT_EQ(none.exit_code, 0) << none.err;
  auto j = nlohmann::json::parse(none.out);
  EXPECT_TRUE(j["device"].is_null()) << j["device"];
  EXPECT_NE(j["device_note"].get<std::string>().find("not NPU figures"), std::string::npos);
  EXPECT_EQ(j["doctor"]["probe"]["cann"].get<std::string>().rfind("8.1", 0), 0u) << j["doctor"]["probe"];
  EXPECT_TRUE(j["doctor"].contains("checks"));
  EXPECT_TRUE(j["doctor"].contains("ready"));
  EXPECT_EQ(j["candidate"]["runs"][0]["output"], "{\"output_tokens_per_s\": 5, \"seed\": 7}\n");
  EXPECT_EQ(j["candidate"]["runs"][0]["stderr"], "log\n");
  EXPECT_EQ(j["started_utc"].get<std::string>().size(), 20u);
  // The stand-in npu-smi lists one 910B3: now the device is the NPU.
  env["PATH"] = fake.string() + ":/usr/bin:/bin";
  auto npu = test::kcat(args, {}, env);
  ASSERT_EQ(npu.exit_code, 0) << npu.err;
  j = nlohmann::json::parse(npu.out);
  EXPECT_EQ(j["device"], "npu");
  EXPECT_NE(j["device_note"].get<std::string>().find("1 NPU chip"), std::string::npos) << j["device_note"];
  args.push_back("--no-doctor");
  j = nlohmann::json::parse(test::kcat(args, {}, env).out);
  EXPECT_FALSE(j.contains("doctor"));
  EXPECT_FALSE(j.contains("device"));
  // The text output names the device from npu-smi alone.
  std::vector<std::string> text = {"bench", "--cmd", "echo 1", "--runs", "1", "--warmup", "0"};
  auto t = test::kcat(text, {}, env);
  EXPECT_NE(t.out.find("device     npu: 1 NPU chip(s) listed by npu-smi (local)"), std::string::npos)
      << t.out;
  env["PATH"] = (dir / "empty").string() + ":/usr/bin:/bin";
  t = test::kcat(text, {}, env);
  EXPECT_NE(t.out.find("device     none: no NPU: npu-smi did not run on local"), std::string::npos) << t.out;
}

}  // namespace kcat

#include "bench/tensor_files.h"

namespace kcat {

TEST(CompareCommand, WithinAndOutsideTolerance) {
  using namespace bench::testfiles;
  test::TempDir dir;
  test::write(dir / "ref.npy", npy("<f4", "3,", f32_bytes({1, 2, 3})));
  test::write(dir / "out.npy", npy("<f4", "3,", f32_bytes({1, 2.0001f, 3})));
  test::write(dir / "bad.npy", npy("<f4", "3,", f32_bytes({1, 2.5f, 3})));
  auto ok = test::kcat({"compare", (dir / "ref.npy").string(), (dir / "out.npy").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("within tolerance"), std::string::npos);
  auto bad = test::kcat({"compare", (dir / "ref.npy").string(), (dir / "bad.npy").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("[1] ref 2 out 2.5"), std::string::npos) << bad.out;
  EXPECT_EQ(test::kcat({"compare", (dir / "ref.npy").string(), (dir / "none.npy").string()}).exit_code, 2);
}

}  // namespace kcat

// kcat bench --host: the branch is sent to a "host" (a temp dir reached through a real sshd on
// 127.0.0.1, started with its own host key and an authorized key) and the bench runs there.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace kcat {

namespace {}  // namespace

TEST(BenchCommand, OnAHostOverSshTheCommittedBranchIsSyncedAndBenchedThere) {
  if (!std::filesystem::exists("/usr/sbin/sshd")) {
    GTEST_SKIP() << "no /usr/sbin/sshd (tools/install.sh --test installs openssh-server)";
  }
  test::Sshd sshd;
  ASSERT_TRUE(sshd.ok()) << "sshd did not start";
  test::TempDir dir;
  auto repo = dir / "model";
  test::write(repo / "bench/value.txt", "throughput: 123\n");
  test::write(repo / "bench/base.txt", "throughput: 41\n");
  test::git_init_commit(repo);
  ASSERT_EQ(test::run({"git", "checkout", "-q", "-b", "kcat/npu"}, repo).exit_code, 0);
  // Not committed: stays here.
  test::write(repo / "bench/value.txt", "throughput: 999\n");
  auto remote_dir = sshd.dir() / "remote work";
  std::vector<std::string> args = {"bench",
                                   "--cmd",
                                   "cat value.txt",
                                   "--baseline",
                                   "cat base.txt",
                                   "--metric",
                                   "throughput: ([0-9.]+)",
                                   "--runs",
                                   "2",
                                   "--warmup",
                                   "0",
                                   "--cwd",
                                   (repo / "bench").string(),
                                   "--host",
                                   std::string(getenv("USER") ? getenv("USER") : "root") + "@127.0.0.1",
                                   "--remote-dir",
                                   remote_dir.string(),
                                   "--format",
                                   "json"};
  for (auto& a : sshd.args()) args.push_back("--ssh-arg=" + a);
  auto r = test::kcat(args);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["candidate"]["median"], 123);
  EXPECT_EQ(j["baseline"]["median"], 41);
  EXPECT_EQ(j["ratio"], 3);
  EXPECT_EQ(j["host"]["dir"], (std::filesystem::canonical(remote_dir) / "bench").string());
  auto head = test::run({"git", "rev-parse", "HEAD"}, repo).out;
  EXPECT_EQ(j["host"]["commit"].get<std::string>() + "\n", head);
  EXPECT_EQ(test::read(remote_dir / "bench/value.txt"), "throughput: 123\n");
  EXPECT_NE(r.err.find("uncommitted changes"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("kcat/npu at " + head.substr(0, 12)), std::string::npos) << r.err;

  // Outside a repository: nothing to send.
  auto bare =
      test::kcat({"bench", "--cmd", "true", "--cwd", dir.path().string(), "--host", "nobody@127.0.0.1"});
  EXPECT_EQ(bare.exit_code, 3) << bare.err;
  EXPECT_NE(bare.err.find("not in a git repository"), std::string::npos) << bare.err;
  EXPECT_EQ(test::kcat({"bench", "--cmd", "true", "--remote-dir", "/tmp/x"}).exit_code, 2);
}

// A CI job's timeout sends SIGTERM: kcat bench stops, its run's processes go with it (they ran in
// their own process group, and used to outlive kcat), and the exit code says which signal.
TEST(BenchCommand, ASignalStopsTheRunAndItsProcessesAndExitsWithTheSignalsCode) {
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(sig);
    test::TempDir job;
    auto pidfile = (job / "sleep.pid").string();
    test::Background run({"bench", "--cmd", "sh -c 'echo $$ > " + pidfile + "; exec sleep 60'", "--runs", "3",
                          "--warmup", "0"});
    ASSERT_TRUE(test::wait_for_file(job / "sleep.pid"));
    int sleeper = 0;
    for (int i = 0; i < 100 && sleeper == 0; ++i) {
      std::ifstream(pidfile) >> sleeper;
      if (sleeper == 0) usleep(20000);
    }
    ASSERT_GT(sleeper, 0);
    ASSERT_TRUE(test::process_alive(sleeper));
    ::kill(run.pid(), sig);
    auto r = run.wait(30);
    EXPECT_EQ(r.exit_code, 128 + sig) << r.out << r.err;
    EXPECT_NE(r.err.find("the benchmark stopped during its run 1"), std::string::npos) << r.err;
    for (int i = 0; i < 100 && test::process_alive(sleeper); ++i) usleep(50000);
    EXPECT_FALSE(test::process_alive(sleeper)) << "the benchmark's process outlived kcat";
  }
}

// Issue 19: the harnesses travel with --host (beside the work tree, not in it) and the commands find
// them at $KCAT_HARNESS, locally too.
TEST(BenchCommand, TheHarnessesAreSentToTheHostAndNamedByKcatHarness) {
  auto local = test::kcat({"bench", "--cmd", "test -x \"$KCAT_HARNESS/vllm_serve_bench.py\" && echo 1",
                           "--runs", "1", "--warmup", "0", "--no-doctor"});
  EXPECT_EQ(local.exit_code, 0) << local.err << local.out;
  if (!std::filesystem::exists("/usr/sbin/sshd")) {
    GTEST_SKIP() << "no /usr/sbin/sshd (tools/install.sh --test installs openssh-server)";
  }
  test::Sshd sshd;
  ASSERT_TRUE(sshd.ok()) << "sshd did not start";
  test::TempDir dir;
  auto repo = dir / "model";
  test::write(repo / "README.md", "model\n");
  test::git_init_commit(repo);
  auto remote_dir = sshd.dir() / "work";
  std::vector<std::string> args = {
      "bench",
      "--cmd",
      "python3 \"$KCAT_HARNESS/vllm_serve_bench.py\" --help >/dev/null && echo 7",
      "--runs",
      "1",
      "--warmup",
      "0",
      "--cwd",
      repo.string(),
      "--host",
      std::string(getenv("USER") ? getenv("USER") : "root") + "@127.0.0.1",
      "--remote-dir",
      remote_dir.string(),
      "--format",
      "json",
      "--no-doctor"};
  for (auto& a : sshd.args()) args.push_back("--ssh-arg=" + a);
  auto r = test::kcat(args);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["candidate"]["median"], 7);
  auto sent = std::filesystem::canonical(remote_dir).string() + ".harness";
  EXPECT_EQ(j["host"]["harness"], sent);
  for (const char* f :
       {"vllm_serve_bench.py", "hf_generate.py", "vllm_throughput.py", "ratios.py", "ocr2-bench.sh"})
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(sent) / f)) << f;
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(sent) / "harness_common.py"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(sent) / "test_harness.py"));
  EXPECT_FALSE(std::filesystem::exists(remote_dir / "vllm_serve_bench.py"));  // not in the work tree
}

}  // namespace kcat
