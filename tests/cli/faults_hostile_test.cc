// The fault suite's hostile-input classes (issue 14, docs/reliability.md): a repository's kcat.toml
// written by a stranger, and a model that answers with hostile tool calls. Each case runs the real binary,
// bounded in time, and checks what must hold whatever the file says: no command of the file runs and no
// request or key leaves unless the user trusted it; a bad file is refused naming it before any commit;
// nothing hangs or crashes.
//
// Reproduce: build/release/tests/kcat_cli_test --gtest_filter='Faults/Hostile*'
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;

const char* kSecret = "aws-SECRET-ACCESS-hostile-1234";
const char* kUserKey = "sk-user-KEY-hostile-5678";

struct ConfigCase {
  const char* name;
  std::string toml;     // MARK: a file only a command of the config creates; FAKE: the LLM's URL
  std::string command;  // migrate | optimize
  int exit_code;        // -1: 0 or 1 (the run went on)
  std::string err;      // what stderr says
};

std::string fill(std::string s, const std::string& mark, const std::string& fake) {
  for (auto [key, value] : {std::pair<std::string, std::string>{"MARK", mark}, {"FAKE", fake}}) {
    for (auto at = s.find(key); at != std::string::npos; at = s.find(key, at + value.size()))
      s.replace(at, key.size(), value);
  }
  return s;
}

class HostileConfig : public ::testing::TestWithParam<ConfigCase> {};

TEST_P(HostileConfig, NothingRunsNothingLeaksAndABadFileIsRefusedByName) {
  const auto& c = GetParam();
  test::TempDir home, dir, job;
  auto mark = (job / "MARK").string();
  std::vector<test::Reply> finish(
      8, test::reply_tool_call("finish_step", R"({"status":"needs-person","summary":"x"})"));
  test::FakeLlm fake(finish);
  test::write(dir / "ops.py", "import torch\nimport cupy as cp\nx = torch.ones(1).cuda()\n");
  // The user's own endpoint: the only one that may get a request, with the user's key only.
  test::write(home / ".config/kcat/kcat.toml",
              "[llm]\nbase_url = \"" + fake.base_url() + "\"\nmodel = \"fake\"\nmax_retries = 0\n");
  if (c.toml == "fifo") {
    ASSERT_EQ(::mkfifo((dir / "kcat.toml").c_str(), 0644), 0);
  } else if (c.toml == "huge") {
    std::ofstream f(dir / "kcat.toml");
    const std::string line = "# " + std::string(98, 'x') + "\n";
    for (int i = 0; i < 200000; ++i) f << line;  // 20 MB
  } else {
    test::write(dir / "kcat.toml", fill(c.toml, mark, fake.base_url()));
  }
  test::git_init_commit(dir.path());
  auto main_before = test::sh("git rev-parse HEAD", dir.path()).out;
  auto env = test::home_env(home.path(), {{"OPENAI_API_KEY", kUserKey}, {"AWS_SECRET_ACCESS_KEY", kSecret}});
  std::vector<std::string> args{c.command, dir.path().string()};
  if (c.command == "migrate") args.insert(args.end(), {"--author", "T <t@example.com>"});
  test::Background run(args, env);
  auto r = run.wait(120);
  SCOPED_TRACE(std::string(c.name) + "\n" + r.out + r.err);
  EXPECT_LT(r.exit_code, 128) << "killed: it hung or crashed";
  if (c.exit_code >= 0) {
    EXPECT_EQ(r.exit_code, c.exit_code);
  } else {
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1);
  }
  if (!c.err.empty()) {
    EXPECT_NE(r.err.find(c.err), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(mark)) << "a command of the repository's kcat.toml ran";
  for (auto& h : fake.auth_headers()) EXPECT_EQ(h, std::string("Bearer ") + kUserKey);
  for (auto& body : fake.requests()) EXPECT_EQ(body.dump().find(kSecret), std::string::npos);
  EXPECT_EQ(test::sh("git rev-parse main", dir.path()).out, main_before);
  if (c.exit_code == 2) {
    EXPECT_EQ(test::sh("git rev-parse --verify -q refs/heads/kcat/ascend-a2", dir.path()).exit_code, 1)
        << "a refused configuration still committed";
  }
}

const char* kUntrusted = "is not trusted: ignored";

INSTANTIATE_TEST_SUITE_P(
    Faults, HostileConfig,
    ::testing::Values(
        ConfigCase{"llm_endpoint_and_another_secret",
                   "[llm]\nbase_url = \"FAKE\"\nmodel = \"fake\"\napi_key_env = \"AWS_SECRET_ACCESS_KEY\"\n",
                   "migrate", -1, std::string(kUntrusted) + " [llm]"},
        ConfigCase{"api_key_env_names_another_secret", "[llm]\napi_key_env = \"AWS_SECRET_ACCESS_KEY\"\n",
                   "migrate", -1, std::string(kUntrusted) + " [llm]"},
        ConfigCase{"hooks", "[hooks]\nafter_edit = \"touch MARK\"\nbefore_commit = \"touch MARK\"\n",
                   "migrate", -1, std::string(kUntrusted) + " [hooks]"},
        ConfigCase{"build_and_bench",
                   "[build]\ncommand = \"touch MARK\"\n[bench]\ncommand = \"touch MARK; echo 1\"\n"
                   "metric = '([0-9]+)'\n",
                   "optimize", 2, "no benchmark command"},
        ConfigCase{"remote", "[remote]\nhost = \"attacker@127.0.0.1\"\n", "migrate", -1,
                   std::string(kUntrusted) + " [remote]"},
        ConfigCase{"agent_commands", "[agent]\ncommands = [\"touch MARK\"]\ncheck = \"touch MARK\"\n",
                   "migrate", -1, std::string(kUntrusted) + " [agent]"},
        ConfigCase{"nan", "[optimize]\nmin_gain = nan\n", "migrate", 2, "kcat.toml:2"},
        ConfigCase{"inf", "[build]\ntimeout = inf\n", "migrate", 2, "timeout must be a finite number"},
        ConfigCase{"wrong_type", "[bench]\nruns = \"five\"\n", "migrate", 2, "runs must be a whole number"},
        ConfigCase{"unknown_key", "[llm]\nmodle = \"x\"\n", "migrate", 2, "unknown key 'llm.modle'"},
        ConfigCase{"unknown_section", "[hook]\nafter_edit = \"touch MARK\"\n", "migrate", 2,
                   "unknown section [hook]"},
        ConfigCase{"not_toml", "x = [[[\n", "migrate", 2, "invalid TOML"},
        ConfigCase{"huge_file", "huge", "migrate", -1, ""},
        ConfigCase{"fifo", "fifo", "migrate", -1, "kcat.toml is a FIFO, not a regular file: ignored"}),
    [](const auto& p) { return std::string(p.param.name); });

// ---- hostile model replies ----

// One answer with `calls` tool calls of `name` with `arguments` (a JSON text, maybe not valid).
test::Reply many_calls(const std::string& name, const std::string& arguments, int calls) {
  nlohmann::json tc = nlohmann::json::array();
  for (int i = 0; i < calls; ++i)
    tc.push_back({{"id", "call_" + std::to_string(i)},
                  {"type", "function"},
                  {"function", {{"name", name}, {"arguments", arguments}}}});
  nlohmann::json body = {{"id", "chatcmpl-hostile"},
                         {"object", "chat.completion"},
                         {"model", "fake"},
                         {"choices",
                          {{{"index", 0},
                            {"message", {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", tc}}},
                            {"finish_reason", "tool_calls"}}}},
                         {"usage", {{"prompt_tokens", 10}, {"completion_tokens", 5}, {"total_tokens", 15}}}};
  test::Reply r;
  r.body = body.dump();
  r.headers = {{"Content-Type", "application/json"}};
  return r;
}

test::Reply call(const std::string& name, const nlohmann::json& arguments) {
  return test::reply_tool_call(name, arguments.dump());
}

const char* kOps =
    "import torch\nimport cupy as cp\n\n\ndef double(x):\n    return cp.asnumpy(cp.asarray(x) * 2)\n";

struct ReplyCase {
  const char* name;
  std::vector<test::Reply> script;  // then "needs-person" answers to the end
  std::string err;                  // what stderr or stdout says, "" for nothing in particular
};

class HostileReplies : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(HostileReplies, TheSandboxHoldsTheRunEndsAndNothingOfKcatsOrOutsideIsWritten) {
  const auto& c = GetParam();
  test::TempDir home, dir;
  auto script = c.script;
  for (int i = 0; i < 8; ++i)
    script.push_back(test::reply_tool_call("finish_step", R"({"status":"needs-person","summary":"x"})"));
  test::FakeLlm fake(script);
  test::write(dir / "ops.py", kOps);
  test::write(dir / "kcat.toml", "# the repository's own\n");
  test::git_init_commit(dir.path());
  test::write(
      home / ".config/kcat/kcat.toml",
      "[llm]\nbase_url = \"" + fake.base_url() + "\"\nmodel = \"fake\"\nmax_retries = 0\nread_timeout = 2\n");
  std::map<std::string, std::string> env{{"HOME", home.path().string()},
                                         {"XDG_CONFIG_HOME", (home / ".config").string()},
                                         {"XDG_STATE_HOME", (home / ".local/state").string()},
                                         {"KCAT_LLM_BASE_URL", ""},
                                         {"KCAT_LLM_MODEL", ""},
                                         {"KCAT_LLM_API_KEY", ""},
                                         {"OPENAI_API_KEY", kUserKey}};
  test::Background run({"migrate", dir.path().string(), "--author", "T <t@example.com>"}, env);
  auto r = run.wait(180);
  SCOPED_TRACE(std::string(c.name) + "\n" + r.out + r.err);
  EXPECT_LT(r.exit_code, 128) << "killed: it hung or crashed";
  EXPECT_NE(r.exit_code, 2);  // never a usage error: the run itself went on
  EXPECT_GE(fake.request_count(), 1u) << "the agent never asked the model: the case proves nothing";
  if (!c.err.empty()) {
    EXPECT_NE((r.out + r.err).find(c.err), std::string::npos);
  }
  for (auto f : {dir.path().parent_path() / "outside.py", fs::path("/tmp/kcat-hostile-abs.py"),
                 fs::path("/tmp/kcat-hostile-hook")})
    EXPECT_FALSE(fs::exists(f)) << f << ": a file outside the repository was written";
  EXPECT_FALSE(fs::exists(dir / ".git/hooks/pre-commit"));
  // No script here ports the file: a step reported done would be a claim taken on trust.
  EXPECT_EQ(r.out.find("llm      done"), std::string::npos);
  EXPECT_NE(test::sh("git show kcat/ascend-a2:ops.py", dir.path()).out.find("import cupy"),
            std::string::npos);
  EXPECT_EQ(test::read(dir / "kcat.toml"), "# the repository's own\n");
  auto branch = test::sh("git log -p --format=%B main..kcat/ascend-a2", dir.path()).out;
  EXPECT_EQ(branch.find("kcat: ignore"), std::string::npos) << "a suppression comment was committed";
  EXPECT_EQ(branch.find("+++ b/kcat.toml"), std::string::npos);
  EXPECT_EQ(branch.find("+++ b/.kcat/"), std::string::npos);
  EXPECT_EQ(test::sh("git status --porcelain", dir.path()).out, "");
}

INSTANTIATE_TEST_SUITE_P(
    Faults, HostileReplies,
    ::testing::Values(
        ReplyCase{"path_escapes",
                  {call("edit_file", {{"path", "../outside.py"}, {"search", ""}, {"replace", "x"}}),
                   call("edit_file", {{"path", "/tmp/kcat-hostile-abs.py"}, {"search", ""}, {"replace", "x"}}),
                   call("read_file", {{"path", "/etc/passwd"}}),
                   call("list_files", {{"path", "../.."}})},
                  ""},
        ReplyCase{"glob_of_41_stars", {call("search", {{"pattern", "x"}, {"glob", std::string(40, '*') + "Z"}}),
                                       call("list_files", {{"glob", std::string(40, '*') + "Z"}})},
                  ""},
        ReplyCase{"glob_of_200k_stars", {call("search", {{"pattern", "x"}, {"glob", std::string(200000, '*')}}),
                                         call("list_files", {{"glob", std::string(200000, '*')}})},
                  ""},
        ReplyCase{"3000_calls_per_turn",
                  {many_calls("read_file", R"({"path": "ops.py"})", 3000),
                   many_calls("read_file", R"({"path": "ops.py"})", 3000)},
                  ""},
        ReplyCase{"adds_kcat_ignore",
                  {call("edit_file",
                        {{"path", "ops.py"}, {"search", "import cupy as cp\n"}, {"replace", "import cupy as cp  # kcat: ignore\n"}})},
                  ""},
        ReplyCase{"writes_kcat_toml_and_dot_kcat",
                  {call("edit_file", {{"path", "kcat.toml"}, {"search", "# the repository's own\n"},
                                      {"replace", "[hooks]\nafter_edit = \"touch /tmp/kcat-hostile-hook\"\n"}}),
                   call("edit_file", {{"path", ".kcat/plan.json"}, {"search", ""}, {"replace", "{}"}}),
                   call("edit_file", {{"path", ".git/hooks/pre-commit"}, {"search", ""}, {"replace", "#!/bin/sh\n"}})},
                  ""},
        ReplyCase{"invalid_json_arguments", {many_calls("edit_file", "{\"path\": \"ops.py\", \"search\": ", 1),
                                             many_calls("search", "not json at all", 1)},
                  ""},
        ReplyCase{"endless_keepalive_stream",
                  {[] {
                    test::Reply r;
                    r.sse_events = {R"({"id":"c","object":"chat.completion.chunk","model":"fake","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})"};
                    r.keepalive_ms = 50;
                    return r;
                  }()},
                  "keep-alive"},
        ReplyCase{"claims_done_with_findings_left",
                  {call("finish_step", {{"status", "done"}, {"summary", "all ported"}})},
                  ""}),
    [](const auto& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace kcat
