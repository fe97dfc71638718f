// The interactive session's plain-language requests go to the agent, which asks before each edit.
// Driven through standard input (the pseudo-terminal test covers line editing and Ctrl-C).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/report/runs.h"
#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;

const char* kOps = "import torch\nimport cupy as cp\n\n\ndef double(x):\n    return cp.asarray(x) * 2\n";

std::string chat(const test::TempDir& dir, const test::FakeLlm& fake, const std::string& input) {
  return test::sh("printf '" + input + "' | KCAT_LLM_BASE_URL=" + fake.base_url() +
                      " KCAT_LLM_MODEL=fake KCAT_LLM_API_KEY=sk-chat-secret HOME=" + dir.path().string() +
                      " " + test::kcat_binary().string() + " chat " + dir.path().string() + " 2>&1",
                  dir.path())
      .out;
}

test::Reply edit() {
  return test::reply_tool_call(
      "edit_file",
      R"({"path": "ops.py", "search": "import cupy as cp\n", "replace": "import numpy as cp\n", "why": "cupy is CUDA-only"})");
}

TEST(ChatLlm, ARequestIsPortedAfterThePersonApprovesTheDiff) {
  test::TempDir dir;
  test::write(dir / "ops.py", kOps);
  test::git_init_commit(dir.path());
  test::FakeLlm fake(
      {test::stream_text({"Looking at ops.py. "}), edit(),
       test::reply_tool_call("finish_step", R"({"status": "done", "summary": "cupy replaced by numpy"})")});
  auto out = chat(dir, fake, "replace cupy in ops.py\\ny\\n/cost\\n/quit\\n");
  EXPECT_NE(out.find("-import cupy as cp"), std::string::npos) << out;  // the diff was shown
  EXPECT_NE(out.find("done: cupy replaced by numpy (1 commit(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("LLM this session: 3 requests"), std::string::npos) << out;
  EXPECT_NE(test::read(dir / "ops.py").find("import numpy as cp"), std::string::npos);
  EXPECT_EQ(test::sh("git rev-parse --abbrev-ref HEAD", dir.path()).out, "kcat/ascend-a2\n");
  EXPECT_EQ(out.find("sk-chat-secret"), std::string::npos);
  // The request itself was sent, as data, with the findings as context.
  auto first = fake.requests().at(0)["messages"][1]["content"].get<std::string>();
  EXPECT_NE(first.find("replace cupy in ops.py"), std::string::npos);
}

// Issue 16: a chat's edits are a run like any other: status lists its step, report does not
// send the person to a --resume that has nothing to resume, and /undo --all undoes it.
TEST(ChatLlm, AChatsEditsAreARunLikeAnyOther) {
  test::TempDir dir;
  test::write(dir / "ops.py", kOps);
  test::write(dir / "train.py", "import torch\nx = torch.randn(2).cuda()\n");
  test::git_init_commit(dir.path());
  auto migrated = test::kcat({"migrate", dir.path().string(), "--author", "Tester <t@example.com>"});
  ASSERT_LE(migrated.exit_code, 1) << migrated.err;
  test::FakeLlm fake(
      {edit(),
       test::reply_tool_call("finish_step", R"({"status": "done", "summary": "cupy replaced by numpy"})")});
  auto out = chat(dir, fake, "replace cupy in ops.py\\ny\\n/status\\n/report\\n/undo --all\\n/quit\\n");
  EXPECT_NE(out.find("done: cupy replaced by numpy (1 commit(s)"), std::string::npos) << out;
  EXPECT_NE(out.find("request-"), std::string::npos) << out;  // the chat's step in the status
  EXPECT_EQ(out.find("--resume"), std::string::npos) << out;
  EXPECT_EQ(out.find("no interrupted run"), std::string::npos) << out;
  EXPECT_NE(out.find("kcat migration report"), std::string::npos) << out;
  EXPECT_EQ(out.find("nothing to undo"), std::string::npos) << out;
  EXPECT_EQ(test::read(dir / "ops.py"), kOps) << out;
}

// A request writes its own report like any run (report.json in its run folder and as the latest):
// its step, and the site it fixed, by the LLM, in its commit.
TEST(ChatLlm, ARequestWritesItsRunReport) {
  test::TempDir dir;
  test::write(dir / "ops.py", kOps);
  test::git_init_commit(dir.path());
  test::FakeLlm fake(
      {edit(),
       test::reply_tool_call("finish_step", R"({"status": "done", "summary": "cupy replaced by numpy"})")});
  auto out = chat(dir, fake, "replace cupy in ops.py\\ny\\n/quit\\n");
  auto runs = report::list_runs(dir.path());
  ASSERT_EQ(runs.size(), 1u) << out;
  auto file = dir / ".kcat" / "runs" / runs[0] / "report.json";
  ASSERT_TRUE(fs::exists(file)) << out;
  auto rep = nlohmann::json::parse(test::read(file));
  EXPECT_EQ(rep["run_id"], runs[0]);
  EXPECT_EQ(rep["branch"], "kcat/ascend-a2");
  ASSERT_EQ(rep["steps"].size(), 1u) << rep.dump();
  auto step = rep["steps"][0];
  EXPECT_EQ(step["id"].get<std::string>().rfind("request-", 0), 0u) << step;
  EXPECT_EQ(step["status"], "done");
  EXPECT_EQ(step["title"], "replace cupy in ops.py");
  auto head = test::sh("git rev-parse HEAD", dir.path()).out;
  EXPECT_EQ(step["commit"].get<std::string>() + "\n", head);
  EXPECT_NE(step["diff"].get<std::string>().find("+import numpy as cp"), std::string::npos) << step;
  bool fixed = false;
  for (auto& site : rep["sites"]) {
    if (site["finding"]["file"] == "ops.py" && site["status"] == "fixed") {
      fixed = true;
      EXPECT_EQ(site["how"], "llm");
      EXPECT_EQ(site["step"], step["id"]);
    }
  }
  EXPECT_TRUE(fixed) << rep["sites"].dump();
  EXPECT_EQ(test::read(dir / ".kcat" / "report.json"), test::read(file));  // the latest, for `kcat report`
  auto shown = test::kcat({"report", "-C", dir.path().string(), "--format", "markdown"});
  EXPECT_NE(shown.out.find(runs[0]), std::string::npos) << shown.out;
}

TEST(ChatLlm, DecliningTheEditLeavesTheFileAlone) {
  test::TempDir dir;
  test::write(dir / "ops.py", kOps);
  test::git_init_commit(dir.path());
  test::FakeLlm fake(
      {edit(), test::reply_tool_call("finish_step", R"({"status": "needs-person", "summary": "declined"})")});
  auto out = chat(dir, fake, "replace cupy\\nn\\n/quit\\n");
  EXPECT_EQ(test::read(dir / "ops.py"), kOps) << out;
  auto second = fake.requests().at(1)["messages"].back()["content"].get<std::string>();
  EXPECT_NE(second.find("declined: the person did not accept"), std::string::npos) << second;
  EXPECT_NE(out.find("needs-person: declined"), std::string::npos) << out;
}

TEST(ChatLlm, WithoutAnLlmTheSessionSaysHowToConfigureOne) {
  test::TempDir dir;
  test::write(dir / "ops.py", kOps);
  test::git_init_commit(dir.path());
  auto out = test::sh("printf 'port it\\n/quit\\n' | HOME=" + dir.path().string() + " " +
                          test::kcat_binary().string() + " chat " + dir.path().string() + " 2>&1",
                      dir.path())
                 .out;
  EXPECT_NE(out.find("no LLM is configured"), std::string::npos) << out;
}

}  // namespace
}  // namespace kcat
