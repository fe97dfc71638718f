// The nightly job end to end (issue 16): tools/ci/kcat-nightly.sh against a local bare remote and a
// stand-in for the forge's REST API; --update from a fresh clone and after a rerun; --exit-zero; a
// declined step; the plan's performance phase.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kcat/report/runs.h"
#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;

fs::path golden_before() { return test::fixtures_dir() / "migrate" / "basic" / "before"; }

std::string git(const fs::path& dir, const std::string& args) {
  auto r = test::sh("git " + args + " 2>&1", dir);
  return r.out;
}

void commit_all(const fs::path& dir, const std::string& message) {
  test::sh("git add -A && git -c user.name=U -c user.email=u@example.com commit -qm '" + message + "'", dir);
}

// A stand-in for GitHub's and GitLab's pull / merge request API: every request is one JSON line in
// `log` (method, path, auth header, body); a list returns what was created, a create returns #n.
constexpr const char* kForge = R"PY(
import http.server, json, os, sys, threading
port_file, log_file = sys.argv[1], sys.argv[2]
created = []
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        auth = self.headers.get("Authorization") or self.headers.get("PRIVATE-TOKEN") or ""
        with open(log_file, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "auth": auth,
                                "body": json.loads(body) if body else None}) + "\n")
        if self.command == "GET":
            out = created
        elif self.command == "POST":
            out = {"number": len(created) + 1, "iid": len(created) + 1}
            created.append(out)
        else:
            out = {"number": 1, "iid": 1}
        data = json.dumps(out).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST = do_PATCH = do_PUT = any
srv = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(port_file + ".tmp", port_file)
threading.Timer(600, srv.shutdown).start()
srv.serve_forever()
)PY";

struct Forge {
  test::TempDir dir;
  int pid = -1;
  std::string url;
  Forge() {
    test::write(dir / "forge.py", kForge);
    auto r = test::sh("python3 forge.py port log.jsonl </dev/null >/dev/null 2>&1 & echo $!", dir.path());
    pid = std::stoi(r.out);
    if (!test::wait_for_file(dir / "port", 20)) throw std::runtime_error("the forge stand-in did not start");
    url = "http://127.0.0.1:" + test::read(dir / "port");
  }
  ~Forge() {
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  std::vector<nlohmann::json> requests() const {
    std::vector<nlohmann::json> out;
    if (!fs::exists(dir / "log.jsonl")) return out;
    std::istringstream in(test::read(dir / "log.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
};

// An upstream checkout with a bare remote (origin), and the job's own kcat.toml beside it.
struct Nightly {
  test::TempDir dir;
  fs::path up = dir / "up", remote = dir / "remote.git", out = dir / "out";
  Nightly() {
    test::copy_tree(golden_before(), up);
    test::git_init_commit(up);
    test::run({"git", "init", "-q", "-b", "main", "--bare", remote.string()});
    git(up, "remote add origin " + remote.string());
    git(up, "push -q origin main");
    test::write(dir / "job.toml", "[optimize]\n");
  }
  test::Result run(std::map<std::string, std::string> env, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{"bash",     (test::source_dir() / "tools/ci/kcat-nightly.sh").string(),
                                  "--repo",   up.string(),
                                  "--config", (dir / "job.toml").string(),
                                  "--out",    out.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!env.count("KCAT")) env["KCAT"] = test::kcat_binary().string();
    return test::run(argv, dir.path(), env);
  }
  // Upstream moves on: a new CUDA script on main (the CI checks out main afresh each night).
  void upstream_moves() {
    git(up, "checkout -q main");
    test::write(up / "new_infer.py", "import torch\ny = torch.ones(1).cuda()\n");
    commit_all(up, "upstream: new script");
    git(up, "push -q origin main");
  }
};

std::map<std::string, std::string> github_env(const Forge& f) {
  return {{"GITHUB_API_URL", f.url}, {"GITHUB_REPOSITORY", "acme/model"}, {"GITHUB_TOKEN", "t0ken"}};
}

}  // namespace

TEST(NightlyJob, PushesTheBranchUploadsSarifAndOpensThenUpdatesOnePullRequest) {
  Nightly n;
  Forge forge;
  auto r = n.run(github_env(forge), {"--forge", "github"});
  // 1: ported, work left (torch.cuda.memory_usage has no NPU equivalent): the normal nightly result.
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(git(n.remote, "rev-parse kcat/ascend-a2"), git(n.up, "rev-parse kcat/ascend-a2"));
  EXPECT_NE(r.err.find("NPU ready: no"), std::string::npos) << r.err;  // no NPU here: no bench
  auto sarif = nlohmann::json::parse(test::read(n.out / "kcat.sarif"));
  EXPECT_EQ(sarif["version"], "2.1.0");
  ASSERT_EQ(sarif["runs"].size(), 1u);
  EXPECT_FALSE(sarif["runs"][0]["results"].empty());  // what is left is reported
  auto xml = test::run({"python3", "-c", "import sys,xml.dom.minidom as m; m.parse(sys.argv[1])",
                        (n.out / "kcat-junit.xml").string()});
  EXPECT_EQ(xml.exit_code, 0) << xml.err;
  EXPECT_TRUE(fs::exists(n.out / "kcat-report.html"));
  auto reqs = forge.requests();
  ASSERT_EQ(reqs.size(), 2u) << r.err;
  EXPECT_EQ(reqs[0]["method"], "GET");
  EXPECT_EQ(reqs[0]["path"], "/repos/acme/model/pulls?state=open&head=acme:kcat/ascend-a2&base=main");
  EXPECT_EQ(reqs[0]["auth"], "Bearer t0ken");
  EXPECT_EQ(reqs[1]["method"], "POST");
  EXPECT_EQ(reqs[1]["path"], "/repos/acme/model/pulls");
  EXPECT_EQ(reqs[1]["body"]["head"], "kcat/ascend-a2");
  EXPECT_EQ(reqs[1]["body"]["base"], "main");
  EXPECT_NE(reqs[1]["body"]["body"].get<std::string>().find("train.py"), std::string::npos);

  // The next night: upstream moved; the branch is carried forward and the same request updated.
  n.upstream_moves();
  auto upstream = git(n.up, "rev-parse main");
  r = n.run(github_env(forge), {"--forge", "github"});
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(git(n.remote, "merge-base main kcat/ascend-a2"), upstream);
  EXPECT_EQ(git(n.remote, "show kcat/ascend-a2:new_infer.py"),
            "import torch\nimport torch_npu\ny = torch.ones(1).npu()\n");
  reqs = forge.requests();
  ASSERT_EQ(reqs.size(), 4u) << r.err;
  EXPECT_EQ(reqs[2]["method"], "GET");
  EXPECT_EQ(reqs[3]["method"], "PATCH");
  EXPECT_EQ(reqs[3]["path"], "/repos/acme/model/pulls/1");
  EXPECT_NE(r.err.find("updated pull request #1"), std::string::npos) << r.err;
  // Every file the two workflows under docs/ci/ read from kcat-out/ is one the script wrote.
  auto refs = test::run({"python3", "-c", R"PY(import re, sys
for f in sys.argv[1:]:
    for m in sorted(set(re.findall(r"kcat-out/([\w.-]+)", open(f).read()))): print(m))PY",
                         (test::source_dir() / "docs/ci/github-nightly.yml").string(),
                         (test::source_dir() / "docs/ci/gitlab-nightly.yml").string()});
  ASSERT_EQ(refs.exit_code, 0) << refs.err;
  std::istringstream names(refs.out);
  int checked = 0;
  for (std::string name; std::getline(names, name); ++checked) EXPECT_TRUE(fs::exists(n.out / name)) << name;
  EXPECT_GE(checked, 3);  // kcat.sarif, branch-sha, kcat-junit.xml
}

// A reviewer pushes to the PR branch between two nights; the runner's checkout still has the old
// local branch. The next night brings it up to the remote's first, and the reviewer's commit stays
// (the lease used to be checked against the ref just fetched, so the stale branch overwrote it).
TEST(NightlyJob, AReviewersPushToTheBranchIsNeverOverwritten) {
  Nightly n;
  Forge forge;
  auto r = n.run(github_env(forge), {"--forge", "github"});
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  auto reviewer = n.dir / "reviewer";
  test::run({"git", "clone", "-q", "-b", "kcat/ascend-a2", n.remote.string(), reviewer.string()});
  test::write(reviewer / "REVIEW.md", "checked on the NPU\n");
  commit_all(reviewer, "reviewer: notes");
  git(reviewer, "push -q origin kcat/ascend-a2");
  auto pushed = git(n.remote, "rev-parse kcat/ascend-a2");
  n.upstream_moves();
  r = n.run(github_env(forge), {"--forge", "github"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("brought up to origin's"), std::string::npos) << r.err;
  EXPECT_EQ(git(n.remote, "show kcat/ascend-a2:REVIEW.md"), "checked on the NPU\n");
  EXPECT_NE(git(n.remote, "rev-parse kcat/ascend-a2"), pushed);  // carried forward, not left behind
}

// The workflows are valid YAML, install kcat with cmake --install, call the one script with the
// job's own --config, and never re-run migrate on exit 1 (no `||` fallback).
TEST(NightlyJob, TheWorkflowsInstallKcatAndCallTheScript) {
  auto check = test::run({"python3", "-c", R"PY(import sys, yaml
gh = yaml.safe_load(open(sys.argv[1]))
steps = gh["jobs"]["port"]["steps"]
runs = "\n".join(s.get("run", "") for s in steps)
assert "cmake --install" in runs, "no install"
assert "tools/ci/kcat-nightly.sh" in runs and "--config /etc/kcat/nightly.toml" in runs, runs
assert "||" not in runs, "a || fallback"
assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif") and
           s["with"]["sarif_file"] == "kcat-out/kcat.sarif" for s in steps), "no SARIF upload"
assert "self-hosted" in gh["jobs"]["port"]["runs-on"]
gl = yaml.safe_load(open(sys.argv[2]))["kcat-nightly-ascend"]
script = "\n".join(gl["script"])
assert "cmake --install" in script and "tools/ci/kcat-nightly.sh" in script and "--config" in script, script
assert "||" not in script, "a || fallback"
assert gl["artifacts"]["reports"]["junit"] == "kcat-out/kcat-junit.xml"
assert "ascend-a2" in gl["tags"]
print("ok"))PY",
                          (test::source_dir() / "docs/ci/github-nightly.yml").string(),
                          (test::source_dir() / "docs/ci/gitlab-nightly.yml").string()});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out, "ok\n");
}

// As the GitLab job runs it: reports inside the checkout (GitLab's artifacts live there), and
// --exit-zero (work left is the normal nightly result).
TEST(NightlyJob, GitLabMergeRequestIsOpenedThenUpdated) {
  Nightly n;
  Forge forge;
  std::map<std::string, std::string> env{
      {"CI_API_V4_URL", forge.url + "/api/v4"}, {"CI_PROJECT_ID", "42"}, {"GITLAB_TOKEN", "glpat"}};
  std::vector<std::string> args{"--forge", "gitlab", "--out", (n.up / "kcat-out").string(), "--exit-zero"};
  auto first = n.run(env, args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  n.upstream_moves();
  auto r = n.run(env, args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto reqs = forge.requests();
  ASSERT_EQ(reqs.size(), 4u) << r.err;
  EXPECT_EQ(
      reqs[0]["path"],
      "/api/v4/projects/42/merge_requests?state=opened&source_branch=kcat/ascend-a2&target_branch=main");
  EXPECT_EQ(reqs[0]["auth"], "glpat");
  EXPECT_EQ(reqs[1]["method"], "POST");
  EXPECT_EQ(reqs[1]["body"]["source_branch"], "kcat/ascend-a2");
  EXPECT_EQ(reqs[1]["body"]["target_branch"], "main");
  EXPECT_EQ(reqs[3]["method"], "PUT");
  EXPECT_EQ(reqs[3]["path"], "/api/v4/projects/42/merge_requests/1");
  // The reports in the checkout are neither scanned nor seen as changes.
  auto sarif = test::read(n.up / "kcat-out" / "kcat.sarif");
  EXPECT_EQ(sarif.find("kcat-out/"), std::string::npos);
  EXPECT_EQ(git(n.up, "status --porcelain"), "");
}

TEST(NightlyJob, AFailedMigrationKeepsItsExitCodeAndPushesNothing) {
  Nightly n;
  Forge forge;
  test::write(n.dir / "job.toml", "[no_such_section]\n");  // kcat: a bad configuration is exit 2
  auto r = n.run(github_env(forge), {"--forge", "github"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(git(n.remote, "branch --list kcat/*"), "");
  EXPECT_TRUE(forge.requests().empty());
  // Without the job's own configuration it refuses to start.
  auto none = test::run(
      {"bash", (test::source_dir() / "tools/ci/kcat-nightly.sh").string(), "--repo", n.up.string()});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("--config FILE is required"), std::string::npos) << none.err;
}

TEST(NightlyJob, TheBenchRunsOnlyWhenDoctorSaysTheNpuIsReady) {
  // A stand-in kcat: `doctor` answers as a ready Atlas host would (exit 0, "ready": true); every other
  // command is the real kcat. Its arguments are recorded.
  Nightly n;
  auto wrapper = n.dir / "kcat-npu";
  test::write(wrapper,
              "#!/bin/sh\necho \"$*\" >> " + (n.dir / "args").string() +
                  "\ncase \" $* \" in *' doctor '*) echo '{\"ready\": true, \"checks\": []}'; exit 0;; "
                  "esac\nexec " +
                  test::kcat_binary().string() + " \"$@\"\n");
  fs::permissions(wrapper, fs::perms::owner_all);
  auto r = n.run({{"KCAT", wrapper.string()}}, {"--forge", "none", "--", "--max-minutes", "30"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("NPU ready: yes"), std::string::npos) << r.err;
  auto args = test::read(n.dir / "args");
  EXPECT_NE(args.find("migrate . --target ascend-a2 --log-format json --max-minutes 30"), std::string::npos)
      << args;  // what follows -- goes to migrate
  EXPECT_EQ(args.find("--no-optimize"), std::string::npos) << args;
  // The real doctor on this machine (no NPU): the optimize phase is skipped.
  Nightly m;
  auto wrapper2 = m.dir / "kcat-log";
  test::write(wrapper2, "#!/bin/sh\necho \"$*\" >> " + (m.dir / "args").string() + "\nexec " +
                            test::kcat_binary().string() + " \"$@\"\n");
  fs::permissions(wrapper2, fs::perms::owner_all);
  r = m.run({{"KCAT", wrapper2.string()}}, {"--forge", "none"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(test::read(m.dir / "args").find("--no-optimize"), std::string::npos);
}

// --update in a fresh clone: no .kcat/runs, only the branch's commits and their trailers.
TEST(NightlyUpdate, WorksInAFreshCloneFromTheBranchsTrailers) {
  Nightly n;
  auto first = test::kcat({"--ci", "migrate", n.up.string(), "--author", "T <t@example.com>"});
  ASSERT_EQ(first.exit_code, 1) << first.err;
  git(n.up, "push -q origin kcat/ascend-a2");
  n.upstream_moves();
  auto upstream = git(n.up, "rev-parse main");
  auto clone = n.dir / "clone";
  test::run({"git", "clone", "-q", n.remote.string(), clone.string()});
  git(clone, "fetch -q origin kcat/ascend-a2:kcat/ascend-a2");
  ASSERT_FALSE(fs::exists(clone / ".kcat"));
  auto r = test::kcat({"--ci", "migrate", clone.string(), "--update", "--author", "T <t@example.com>"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(git(clone, "merge-base main kcat/ascend-a2"), upstream);
  EXPECT_EQ(test::read(clone / "new_infer.py"), "import torch\nimport torch_npu\ny = torch.ones(1).npu()\n");
  EXPECT_NE(git(clone, "log -1 --format=%B kcat/ascend-a2").find("Kcat-Upstream: main"), std::string::npos);
}

TEST(NightlyUpdate, AFreshCloneWithoutTheLocalBranchIsToldHowToMakeIt) {
  Nightly n;
  ASSERT_EQ(test::kcat({"--ci", "migrate", n.up.string()}).exit_code, 1);
  git(n.up, "push -q origin kcat/ascend-a2");
  auto clone = n.dir / "clone";
  test::run({"git", "clone", "-q", n.remote.string(), clone.string()});
  auto r = test::kcat({"--ci", "migrate", clone.string(), "--update"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("git fetch origin kcat/ascend-a2:kcat/ascend-a2"), std::string::npos) << r.err;
}

TEST(NightlyUpdate, WorksAfterARerunOnTheBranch) {
  Nightly n;
  ASSERT_EQ(test::kcat({"--ci", "migrate", n.up.string()}).exit_code, 1);
  auto again = test::kcat({"--ci", "migrate", n.up.string()});  // on kcat/ascend-a2: a rerun
  ASSERT_EQ(again.exit_code, 1) << again.err;
  n.upstream_moves();
  auto upstream = git(n.up, "rev-parse main");
  auto r = test::kcat({"--ci", "migrate", n.up.string(), "--update"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(git(n.up, "merge-base main kcat/ascend-a2"), upstream);
  // And again after that update and another rerun.
  ASSERT_EQ(test::kcat({"--ci", "migrate", n.up.string()}).exit_code, 1);
  n.upstream_moves();
  test::write(n.up / "later.py", "import torch\nz = torch.zeros(1).cuda()\n");
  commit_all(n.up, "upstream: later");
  r = test::kcat({"--ci", "migrate", n.up.string(), "--update"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(git(n.up, "merge-base main kcat/ascend-a2"), git(n.up, "rev-parse main"));
}

TEST(MigrateExit, ExitZeroTurnsWorkLeftIntoZeroAndNothingElse) {
  Nightly n;
  auto r = test::kcat({"--ci", "migrate", n.up.string(), "--exit-zero"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1 blocking"), std::string::npos) << r.out;  // the work left is still said
  // The run's plan.json ends with the performance phase too (no [bench]: what to configure).
  auto plan = nlohmann::json::parse(test::read(n.up / ".kcat" / "plan.json"));
  EXPECT_EQ(plan["steps"].back()["phase"], "performance") << plan["steps"].dump();
  auto bad = test::kcat({"--ci", "migrate", n.up.string(), "--exit-zero", "--target", "nope"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  auto help = test::kcat({"migrate", "--help"});
  EXPECT_NE(help.out.find("1 ported, work left"), std::string::npos) << help.out;
}

TEST(MigrateDeclined, AStepDeclinedAtThePromptIsDeclinedNotFailed) {
  Nightly n;
  auto res = test::sh(
      "printf 'n\\na\\n' | CI= " + test::kcat_binary().string() + " migrate " + n.up.string() + " -i 2>&1",
      n.up);
  auto runs = report::list_runs(n.up);
  ASSERT_FALSE(runs.empty()) << res.out;
  auto rep = nlohmann::json::parse(test::read(n.up / ".kcat" / "runs" / runs.back() / "report.json"));
  std::map<std::string, std::string> status;
  for (auto& s : rep["steps"])
    status[s["id"].get<std::string>() + "/" + s["action"].get<std::string>()] = s["status"];
  EXPECT_EQ(status["device-api-1/codemod"], "declined") << rep["steps"].dump();
  EXPECT_EQ(status["distributed-1/codemod"], "done");
  EXPECT_NE(res.out.find("declined"), std::string::npos) << res.out;
  auto junit = test::kcat({"report", "-C", n.up.string(), "--format", "junit"});
  EXPECT_NE(junit.out.find("<skipped message=\"declined by the person at the terminal\"/>"),
            std::string::npos)
      << junit.out;
  auto ledger = test::read(n.up / ".kcat" / "runs" / runs.back() / "ledger.jsonl");
  EXPECT_NE(ledger.find("\"step-declined\""), std::string::npos);
  EXPECT_EQ(ledger.find("\"step-failed\""), std::string::npos);
}

TEST(PlanPerformance, ThePlanAlwaysHasItsPerformancePhase) {
  test::TempDir dir;
  test::copy_tree(test::source_dir() / "examples" / "ddp-llm", dir.path());
  auto r = test::kcat({"plan", dir.path().string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  auto& last = j["steps"].back();
  EXPECT_EQ(last["phase"], "performance");
  EXPECT_NE(last["verify"].get<std::string>().find("[bench] is not configured"), std::string::npos);
  auto tries = last["tries"].dump();
  EXPECT_NE(tries.find("try `npu-task-queue-level2`"), std::string::npos) << tries;
  EXPECT_NE(tries.find("not tried: `vllm-graph-mode`"), std::string::npos) << tries;
  // With [bench] configured (the job's file), it says how the loop measures instead.
  test::write(dir / "job.toml",
              "[bench]\ncommand = \"python bench.py\"\nmetric_json = \"tps\"\nunit = "
              "\"tok/s\"\nruns = 7\ntarget = 100\n");
  r = test::kcat({"--config", (dir / "job.toml").string(), "plan", dir.path().string(), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto verify = nlohmann::json::parse(r.out)["steps"].back()["verify"].get<std::string>();
  EXPECT_NE(verify.find("`python bench.py` (7 runs per measurement, target 100 tok/s)"), std::string::npos)
      << verify;
  auto md = test::kcat({"plan", dir.path().string()});
  EXPECT_NE(md.out.find("## performance-1: Optimize on the NPU"), std::string::npos) << md.out;
}

}  // namespace kcat
