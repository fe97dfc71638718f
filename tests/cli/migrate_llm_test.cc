// kcat migrate with an LLM endpoint (the scripted server): the agent phase, its exit codes, and
// that the key never reaches a file kcat wrote.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;
const char* kKey = "sk-migrate-test-KEY-987654321";
const char* kOps =
    "import torch\nimport cupy as cp\n\n\ndef double(x):\n    return "
    "torch.as_tensor(cp.asnumpy(cp.asarray(x) * 2))\n";

struct LlmRepo {
  test::TempDir dir;
  explicit LlmRepo(const std::string& kcat_toml = "") {
    test::write(dir / "ops.py", kOps);
    if (!kcat_toml.empty()) test::write(dir / "kcat.toml", kcat_toml);
    test::git_init_commit(dir.path());
  }
  test::Result migrate(const test::FakeLlm& fake, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"migrate", dir.path().string(), "--author", "T <t@example.com>"};
    args.insert(args.end(), extra.begin(), extra.end());
    return test::kcat(args, {},
                      {{"KCAT_LLM_BASE_URL", fake.base_url()},
                       {"KCAT_LLM_MODEL", "fake"},
                       {"KCAT_LLM_API_KEY", kKey},
                       {"HOME", dir.path().string()}});
  }
  void expect_no_key() {
    for (auto& e : fs::recursive_directory_iterator(dir.path())) {
      if (!e.is_regular_file() || e.path().string().find("/.git/objects/") != std::string::npos) continue;
      EXPECT_EQ(test::read(e.path()).find(kKey), std::string::npos) << e.path();
    }
  }
};

TEST(MigrateLlm, TheAgentPortsWhatRulesCannot) {
  LlmRepo r;
  test::FakeLlm fake(
      {test::reply_tool_call("kb_lookup", R"({"name": "cupy"})"),
       test::reply_tool_call(
           "edit_file",
           R"({"path": "ops.py", "search": "import cupy as cp\n", "replace": "import numpy as cp\n", "why": "cupy is CUDA-only; numpy has the same array API here"})"),
       test::reply_tool_call(
           "edit_file",
           R"j({"path": "ops.py", "search": "cp.asnumpy(cp.asarray(x) * 2)", "replace": "cp.asarray(x) * 2"})j"),
       test::reply_tool_call("finish_step", R"({"status": "done", "summary": "cupy -> numpy"})")});
  auto res = r.migrate(fake);
  EXPECT_EQ(res.exit_code, 0) << res.out << res.err;
  EXPECT_NE(res.out.find("llm      done"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("LLM: 4 requests"), std::string::npos) << res.out;
  EXPECT_EQ(test::read(r.dir / "ops.py").find("cupy"), std::string::npos);
  auto report = nlohmann::json::parse(test::read(r.dir / ".kcat/report.json"));
  EXPECT_GE(report["totals"]["fixed_by_llm"].get<int>(), 1) << report["totals"].dump();
  auto log = test::sh("git log --format=%B kcat/ascend-a2", r.dir.path()).out;
  EXPECT_NE(log.find("Kcat-Agent: llm"), std::string::npos) << log;
  // The agent's commit names the upstream too: `--update` in a fresh clone reads it from any commit.
  auto agent_commit =
      test::sh("git log -1 --format=%B --grep='Kcat-Agent: llm' kcat/ascend-a2", r.dir.path()).out;
  EXPECT_NE(agent_commit.find("Kcat-Upstream: "), std::string::npos) << agent_commit;
  r.expect_no_key();
}

TEST(MigrateLlm, AnEndpointThatFailsExitsFourAndLeavesTheRestForAPerson) {
  LlmRepo r("[llm]\nmax_retries = 1\n");
  std::vector<test::Reply> fails(12, test::reply_status(503, "overloaded"));
  test::FakeLlm fake(fails);
  // The repository's [llm] counts only when trusted (docs/ci.md "Trust").
  auto hash = test::sh("git hash-object kcat.toml", r.dir.path()).out;
  auto res = r.migrate(fake, {"--trust-repo-config", hash.substr(0, hash.find('\n'))});
  EXPECT_EQ(res.exit_code, 4) << res.out << res.err;
  EXPECT_NE(res.out.find("stopped asking the LLM"), std::string::npos) << res.out;
  EXPECT_LE(fake.request_count(), 5u) << "a handful of requests, not a retry storm";
  auto report = nlohmann::json::parse(test::read(r.dir / ".kcat/report.json"));
  bool marked = false;
  for (auto& s : report["steps"])
    marked |= s.value("action", "") == "llm" && s.value("status", "") == "needs-person";
  EXPECT_TRUE(marked) << report["steps"].dump();
  r.expect_no_key();
}

TEST(MigrateLlm, NoLlmFlagKeepsTheRunOffline) {
  LlmRepo r;
  test::FakeLlm fake({});
  auto res = r.migrate(fake, {"--no-llm"});
  EXPECT_EQ(fake.request_count(), 0u);
  EXPECT_NE(res.out.find("left for an LLM"), std::string::npos) << res.out;
}

// An LLM step over two files runs as two agent tasks (<step>/1, <step>/2): a site the agent left is
// reported under the task it was given to, so the JUnit case of that task fails and lists it (it was
// "outside the plan": the final plan's step id matched no step the report holds).
TEST(MigrateLlm, ASiteTheAgentLeftIsReportedUnderItsTask) {
  LlmRepo r;
  test::write(r.dir / "ops2.py", kOps);
  test::sh("git add ops2.py && git commit -qm two", r.dir.path());
  test::FakeLlm fake(
      {test::reply_tool_call("finish_step", R"({"status": "needs-person", "summary": "no"})"),
       test::reply_tool_call("finish_step", R"({"status": "needs-person", "summary": "no"})")});
  auto res = r.migrate(fake);
  EXPECT_EQ(res.exit_code, 1) << res.out << res.err;
  auto report = nlohmann::json::parse(test::read(r.dir / ".kcat/report.json"));
  std::set<std::string> task_ids;
  for (auto& s : report["steps"])
    if (s.value("action", "") == "llm") task_ids.insert(s.value("id", ""));
  ASSERT_EQ(task_ids.size(), 2u) << report["steps"].dump();
  std::string second = *task_ids.rbegin();
  EXPECT_NE(second.find("/2"), std::string::npos) << second;
  auto junit = test::kcat({"report", "-C", r.dir.path().string(), "--format", "junit"}, {},
                          {{"HOME", r.dir.path().string()}});
  EXPECT_EQ(junit.out.find("outside the plan"), std::string::npos) << junit.out;
  auto at = junit.out.find("name=\"" + second + "\"");
  ASSERT_NE(at, std::string::npos) << junit.out;
  auto end = junit.out.find("</testcase>", at);
  EXPECT_NE(junit.out.substr(at, end - at).find("ops2.py:"), std::string::npos) << junit.out;
}

// [agent] check decides when an agent step is done, from a trusted kcat.toml only (it runs a
// command); a step its check keeps from done is reverted, and the report names where its edits are.
TEST(MigrateLlm, TheRepositorysCheckRunsOnlyWhenTrustedAndAStepItFailsIsRevertedOntoASideRef) {
  const std::string toml = "[agent]\ncheck = \"sh check.sh\"\n";
  // Passes on the CUDA code (the step's base), fails once the step ported it: a failure the step adds.
  const std::string check = "grep -q cupy ops.py && exit 0\necho 'FAILED test_double'; exit 1\n";
  auto edits = [] {
    return std::vector<test::Reply>{
        test::reply_tool_call(
            "edit_file",
            R"({"path": "ops.py", "search": "import cupy as cp\n", "replace": "import numpy as cp\n"})"),
        test::reply_tool_call(
            "edit_file",
            R"j({"path": "ops.py", "search": "cp.asnumpy(cp.asarray(x) * 2)", "replace": "cp.asarray(x) * 2"})j"),
        test::reply_tool_call("finish_step", R"({"status": "done", "summary": "cupy -> numpy"})"),
        test::reply_tool_call("finish_step", R"({"status": "needs-person", "summary": "the test fails"})")};
  };
  {  // not trusted: the check is ignored, the step is done on the re-scan
    LlmRepo r(toml);
    test::write(r.dir / "check.sh", check);
    test::sh("git add check.sh && git commit -qm check", r.dir.path());
    test::FakeLlm fake(edits());
    auto res = r.migrate(fake);
    ASSERT_GE(fake.request_count(), 1u) << res.out << res.err;
    auto prompt = fake.requests()[0]["messages"][1]["content"].get<std::string>();
    EXPECT_EQ(prompt.find("sh check.sh"), std::string::npos) << prompt;
    EXPECT_EQ(fake.request_count(), 3u) << res.out;
    EXPECT_EQ(test::read(r.dir / "ops.py").find("cupy"), std::string::npos);
  }
  LlmRepo r(toml);
  test::write(r.dir / "check.sh", check);
  test::sh("git add check.sh && git commit -qm check", r.dir.path());
  auto hash = test::sh("git hash-object kcat.toml", r.dir.path()).out;
  test::FakeLlm fake(edits());
  auto res = r.migrate(fake, {"--trust-repo-config", hash.substr(0, hash.find('\n'))});
  ASSERT_EQ(fake.request_count(), 4u) << res.out << res.err;
  auto prompt = fake.requests()[0]["messages"][1]["content"].get<std::string>();
  EXPECT_NE(prompt.find("sh check.sh"), std::string::npos) << prompt;
  auto refused = fake.requests()[3]["messages"].back()["content"].get<std::string>();
  EXPECT_NE(refused.find("FAILED test_double"), std::string::npos) << refused;
  // The branch holds no half of the step; the report says where its edits are.
  EXPECT_EQ(test::read(r.dir / "ops.py"), kOps);
  auto report = nlohmann::json::parse(test::read(r.dir / ".kcat/report.json"));
  std::string reason;
  for (auto& s : report["steps"]) {
    if (s.value("action", "") == "llm") reason = s.value("reason", "");
  }
  EXPECT_NE(reason.find("kept for review on refs/kcat/attempts/"), std::string::npos)
      << report["steps"].dump();
  auto ref = reason.substr(reason.find("refs/kcat/attempts/"));
  ref = ref.substr(0, ref.find(' '));
  auto kept = test::sh("git show " + ref + ":ops.py", r.dir.path()).out;
  EXPECT_EQ(kept.find("cupy"), std::string::npos) << kept;
  r.expect_no_key();
}

// kcat migrate -i: the person approves each of the agent's edits; those of a step the agent does not
// finish stay on the branch (not reverted), and the report marks the step not done with the sites left.
TEST(MigrateLlm, InteractivelyApprovedEditsOfAStepNotDoneStayAndTheReportSaysWhatIsLeft) {
  LlmRepo r;
  test::FakeLlm fake(
      {test::reply_tool_call(
           "edit_file", R"j({"path": "ops.py", "search": "torch.as_tensor(cp.asnumpy(cp.asarray(x) * 2))",
                                              "replace": "torch.as_tensor(x) * 2"})j"),
       test::reply_tool_call("finish_step",
                             R"({"status": "needs-person", "summary": "the import needs a decision"})")});
  auto res = test::sh("printf 'y\\ny\\ny\\ny\\ny\\ny\\n' | CI= KCAT_LLM_BASE_URL=" + fake.base_url() +
                          " KCAT_LLM_MODEL=fake KCAT_LLM_API_KEY=" + kKey + " HOME=" + r.dir.path().string() +
                          " " + test::kcat_binary().string() + " migrate " + r.dir.path().string() +
                          " -i --author 'T <t@example.com>' 2>&1",
                      r.dir.path());
  ASSERT_EQ(fake.request_count(), 2u) << res.out;
  // The agent's edit was asked about, under its step's id.
  EXPECT_NE(res.out.find("Commit step "), std::string::npos) << res.out;
  auto kept = test::sh("git show kcat/ascend-a2:ops.py", r.dir.path()).out;
  EXPECT_NE(kept.find("return torch.as_tensor(x) * 2\n"), std::string::npos) << kept << res.out;
  EXPECT_EQ(test::sh("git for-each-ref refs/kcat/attempts", r.dir.path()).out, "");
  auto report = nlohmann::json::parse(test::read(r.dir / ".kcat/report.json"));
  std::string status, reason;
  for (auto& s : report["steps"]) {
    if (s.value("action", "") == "llm") {
      status = s.value("status", "");
      reason = s.value("reason", "");
    }
  }
  EXPECT_EQ(status, "needs-person") << report["steps"].dump();
  EXPECT_NE(
      reason.find("not done: its 1 edit(s) approved at the terminal stay on the branch; left: ops.py:2 "),
      std::string::npos)
      << reason;
  r.expect_no_key();
}

}  // namespace
}  // namespace kcat
