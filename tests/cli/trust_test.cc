// A cloned repository is input, never configuration (docs/ci.md "Trust"): its kcat.toml cannot send
// the user's key anywhere, name another secret, or run commands unless the user trusted that exact
// file; child processes never get the key; the whole configuration is checked before any commit.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;

const char* kUserKey = "sk-user-KEY-0123456789";
const char* kAws = "aws-SECRET-ACCESS-9876543210";
// cupy: left for the LLM by the rules.
const char* kOps =
    "import torch\nimport cupy as cp\n\n\ndef double(x):\n    return "
    "torch.as_tensor(cp.asnumpy(cp.asarray(x) * 2))\n";

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A repository with a kcat.toml, and a home of its own (user config, trust store).
struct Repo {
  test::TempDir home;
  test::TempDir dir;
  explicit Repo(const std::string& kcat_toml, bool golden = false) {
    if (golden) {
      test::copy_tree(test::fixtures_dir() / "migrate/basic/before", dir.path());
    } else {
      test::write(dir / "ops.py", kOps);
    }
    if (!kcat_toml.empty()) test::write(dir / "kcat.toml", kcat_toml);
    test::git_init_commit(dir.path());
  }
  std::map<std::string, std::string> env(std::map<std::string, std::string> extra = {}) const {
    return test::home_env(home.path(), extra);
  }
  std::vector<std::string> migrate_args(std::vector<std::string> pre = {}) const {
    pre.insert(pre.end(), {"migrate", dir.path().string(), "--author", "T <t@example.com>"});
    return pre;
  }
  test::Result migrate(std::vector<std::string> pre = {},
                       std::map<std::string, std::string> extra = {}) const {
    return test::kcat(migrate_args(std::move(pre)), {}, env(std::move(extra)));
  }
  // On a terminal (util-linux script gives kcat a pseudo-terminal): the trust store counts.
  test::Result migrate_on_terminal() const {
    std::string cmd;
    for (auto& [k, v] : env()) cmd += k + "='" + v + "' ";
    cmd += test::kcat_binary().string();
    for (auto& a : migrate_args()) cmd += " '" + a + "'";
    return test::sh("script -qec \"" + cmd + "\" /dev/null </dev/null 2>&1");
  }
  test::Result trust() const { return test::kcat({"trust", dir.path().string()}, {}, env()); }
  bool branch_exists() const {
    return test::sh("git rev-parse --verify -q refs/heads/kcat/ascend-a2", dir.path()).exit_code == 0;
  }
  std::string hash() const { return trim(test::sh("git hash-object kcat.toml", dir.path()).out); }
  void commit_change(const std::string& kcat_toml) {
    test::write(dir / "kcat.toml", kcat_toml);
    test::sh("git add kcat.toml && git -c user.name=T -c user.email=t@t commit -qm change", dir.path());
  }
};

bool has_script() { return test::run({"script", "--version"}).exit_code == 0; }

TEST(Trust, ARepositoryLlmSectionGetsNoRequestAndNoKey) {
  test::FakeLlm fake({test::reply_tool_call("finish_step", R"({"status":"needs-person","summary":"x"})")});
  Repo r("[llm]\nbase_url = \"" + fake.base_url() +
         "\"\nmodel = \"fake\"\napi_key_env = \"AWS_SECRET_ACCESS_KEY\"\n");
  auto res = r.migrate({}, {{"AWS_SECRET_ACCESS_KEY", kAws}, {"OPENAI_API_KEY", kUserKey}});
  EXPECT_EQ(fake.request_count(), 0u) << res.out << res.err;
  EXPECT_NE(res.err.find("is not trusted: ignored [llm]"), std::string::npos) << res.err;
  EXPECT_NE(res.err.find("--trust-repo-config " + r.hash()), std::string::npos) << res.err;
  EXPECT_NE(res.out.find("(repository, not trusted: [llm] ignored)"), std::string::npos) << res.out;
}

// The user configures the endpoint; the repository's api_key_env cannot pick another secret.
TEST(Trust, ARepositoryApiKeyEnvIsIgnored) {
  test::FakeLlm fake({test::reply_tool_call("finish_step", R"({"status":"needs-person","summary":"x"})")});
  Repo r("[llm]\napi_key_env = \"AWS_SECRET_ACCESS_KEY\"\n");
  test::write(r.home / ".config/kcat/kcat.toml",
              "[llm]\nbase_url = \"" + fake.base_url() + "\"\nmodel = \"fake\"\nmax_retries = 0\n");
  auto res = r.migrate({}, {{"AWS_SECRET_ACCESS_KEY", kAws}, {"OPENAI_API_KEY", kUserKey}});
  ASSERT_GE(fake.request_count(), 1u) << res.out << res.err;
  for (auto& h : fake.auth_headers()) EXPECT_EQ(h, std::string("Bearer ") + kUserKey);
}

TEST(Trust, UntrustedHooksDoNotRunTrustedOnesDoAndAChangeNeedsTrustAgain) {
  if (!has_script()) GTEST_SKIP() << "util-linux script is not installed";
  test::TempDir marks;
  auto hooks = [&](const std::string& mark) {
    return "[hooks]\nafter_edit = \"touch " + (marks / mark).string() + "\"\n";
  };
  // Unattended: not run, with a warning.
  Repo ci(hooks("ci"), true);
  auto res = ci.migrate();
  EXPECT_FALSE(fs::exists(marks / "ci")) << res.out << res.err;
  EXPECT_NE(res.err.find("ignored [hooks]"), std::string::npos) << res.err;
  EXPECT_TRUE(ci.branch_exists());  // the rest of the run went on

  // On a terminal, after `kcat trust`: run.
  Repo trusted(hooks("trusted"), true);
  auto t = trusted.trust();
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(t.out.find(trusted.hash()), std::string::npos) << t.out;
  auto on = trusted.migrate_on_terminal();
  EXPECT_TRUE(fs::exists(marks / "trusted")) << on.out;

  // Trusted, then changed: not run until trusted again.
  Repo changed(hooks("changed"), true);
  ASSERT_EQ(changed.trust().exit_code, 0);
  changed.commit_change(hooks("changed") + "# edited\n");
  auto off = changed.migrate_on_terminal();
  EXPECT_FALSE(fs::exists(marks / "changed")) << off.out;
  EXPECT_NE(off.out.find("ignored [hooks]"), std::string::npos) << off.out;
}

TEST(Trust, UnattendedOnlyTheCommandLineGrantsTrust) {
  test::TempDir marks;
  Repo r("[hooks]\nafter_edit = \"touch " + (marks / "ran").string() + "\"\n", true);
  ASSERT_EQ(r.trust().exit_code, 0);
  auto recorded = r.migrate({"--ci"});  // the trust store is not consulted unattended
  EXPECT_FALSE(fs::exists(marks / "ran")) << recorded.err;
  EXPECT_NE(recorded.err.find("ignored [hooks]"), std::string::npos) << recorded.err;

  Repo wrong("[hooks]\nafter_edit = \"touch " + (marks / "wrong").string() + "\"\n", true);
  auto bad = wrong.migrate({"--trust-repo-config", "0123456789abcdef0123456789abcdef01234567"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("it changed"), std::string::npos) << bad.err;
  EXPECT_FALSE(wrong.branch_exists());

  Repo flagged("[hooks]\nafter_edit = \"touch " + (marks / "flagged").string() + "\"\n", true);
  auto ok = flagged.migrate({"--trust-repo-config", flagged.hash()});
  EXPECT_TRUE(fs::exists(marks / "flagged")) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("kcat.toml (repository)"), std::string::npos) << ok.out;

  test::TempDir job;
  test::write(job / "ci.toml", "[hooks]\nafter_edit = \"touch " + (marks / "config").string() + "\"\n");
  Repo plain("", true);
  auto cfg = plain.migrate({"--config", (job / "ci.toml").string()});
  EXPECT_TRUE(fs::exists(marks / "config")) << cfg.out << cfg.err;
  auto report = nlohmann::json::parse(test::read(plain.dir / ".kcat/report.json"));
  EXPECT_NE(report.value("config", "").find("ci.toml (--config)"), std::string::npos) << report.dump();
}

TEST(Trust, ConfigFileLlmIsUsedAndALiteralKeyIsRefused) {
  test::FakeLlm fake({test::reply_tool_call("finish_step", R"({"status":"needs-person","summary":"x"})")});
  Repo r("");
  test::TempDir job;
  test::write(job / "ci.toml", "[llm]\nbase_url = \"" + fake.base_url() + "\"\nmodel = \"fake\"\n");
  auto res = r.migrate({"--config", (job / "ci.toml").string()}, {{"KCAT_LLM_API_KEY", kUserKey}});
  EXPECT_GE(fake.request_count(), 1u) << res.out << res.err;

  Repo k("");
  test::write(job / "key.toml",
              "[llm]\nbase_url = \"http://127.0.0.1:9/v1\"\napi_key = \"sk-literal-123\"\n");
  auto refused = k.migrate({"--config", (job / "key.toml").string()});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("key.toml:3"), std::string::npos) << refused.err;
  EXPECT_EQ(refused.err.find("sk-literal-123"), std::string::npos);
  EXPECT_FALSE(k.branch_exists());
}

// Hooks get no key variable, and what reaches the ledger is redacted even when no LLM is asked.
TEST(Trust, HooksGetNoKeyAndTheLedgerRedactsTheirOutput) {
  test::TempDir job;
  test::write(job / "ci.toml", "[llm]\napi_key_env = \"TEAM_LLM_KEY\"\n[hooks]\nafter_edit = \"env > " +
                                   (job / "env.txt").string() + "; echo leaked " + kUserKey + "\"\n");
  Repo r("", true);
  auto res = r.migrate({"--config", (job / "ci.toml").string()}, {{"KCAT_LLM_API_KEY", kUserKey},
                                                                  {"OPENAI_API_KEY", "sk-openai-KEY-55"},
                                                                  {"TEAM_LLM_KEY", "sk-team-KEY-77"}});
  ASSERT_TRUE(fs::exists(job / "env.txt")) << res.out << res.err;
  auto env = test::read(job / "env.txt");
  for (auto* s :
       {"KCAT_LLM_API_KEY=", "OPENAI_API_KEY=", "TEAM_LLM_KEY=", "sk-openai-KEY-55", "sk-team-KEY-77"})
    EXPECT_EQ(env.find(s), std::string::npos) << s;
  EXPECT_EQ(env.find(kUserKey), std::string::npos);
  EXPECT_NE(env.find("KCAT_STAGE=after_edit"), std::string::npos) << env;
  bool hook_seen = false;
  for (auto& e : fs::recursive_directory_iterator(r.dir / ".kcat")) {
    if (!e.is_regular_file()) continue;
    auto text = test::read(e.path());
    EXPECT_EQ(text.find(kUserKey), std::string::npos) << e.path();
    hook_seen = hook_seen || text.find("leaked [REDACTED]") != std::string::npos;
  }
  EXPECT_TRUE(hook_seen);
}

// A typo, a wrong type or nan anywhere in the configuration stops the run before the branch exists.
TEST(Trust, AnInvalidConfigurationStopsBeforeAnyCommit) {
  test::TempDir job;
  struct Case {
    std::string where;  // repository | config
    std::string toml;
    std::string expect;
  };
  for (const auto& c : std::vector<Case>{
           {"repository", "[hook]\nafter_edit = \"true\"\n", "unknown section [hook]"},
           {"repository", "[optimize]\nmin_gain = nan\n", "kcat.toml:2"},
           {"config", "[build]\ntimeout = inf\n", "ci.toml:2"},
           {"config", "[llm]\nmodle = \"fake\"\n", "unknown key 'llm.modle'"},
           {"config", "[agent]\ncommands = \"make\"\n", "[agent] commands must be a list of strings"},
           {"config", "[agent]\ncommand = [\"make\"]\n", "unknown key 'command' in [agent]"},
       }) {
    Repo r(c.where == "repository" ? c.toml : "", true);
    std::vector<std::string> pre;
    if (c.where == "config") {
      test::write(job / "ci.toml", c.toml);
      pre = {"--config", (job / "ci.toml").string()};
    }
    auto res = r.migrate(pre);
    EXPECT_EQ(res.exit_code, 2) << c.toml << res.err;
    EXPECT_NE(res.err.find(c.expect), std::string::npos) << c.toml << res.err;
    EXPECT_FALSE(r.branch_exists()) << c.toml;
  }
}

}  // namespace
}  // namespace kcat
