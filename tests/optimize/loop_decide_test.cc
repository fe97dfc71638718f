// The optimize loop's keep/revert on evidence (issue 19 §4), with stand-in benchmark scripts: a
// change that crashes in some runs, one that stops writing its dump, drift with no effect, a
// change that pays only on top of another, bf16 outputs within a kernel's tolerance, the checks.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "kcat/optimize/optimize.h"
#include "testsupport/support.h"

namespace kcat::optimize {
namespace {

using test::TempDir;

kb::Recipe env_recipe(std::string id, std::string name, double gain) {
  kb::Recipe r;
  r.id = std::move(id);
  r.title = r.id;
  r.phase = r.kind = "performance";
  r.source = "test";
  r.expected_gain = gain;
  r.env.push_back({std::move(name), "1"});
  return r;
}

// A safetensors file with one bf16 tensor "y".
std::string bf16_file(const std::vector<float>& values) {
  std::string data;
  for (float f : values) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    uint16_t b = static_cast<uint16_t>(bits >> 16);
    data.push_back(static_cast<char>(b & 0xff));
    data.push_back(static_cast<char>(b >> 8));
  }
  std::string header =
      nlohmann::json{
          {"y", {{"dtype", "BF16"}, {"shape", {values.size()}}, {"data_offsets", {0, data.size()}}}}}
          .dump();
  while (header.size() % 8) header += ' ';
  std::string out;
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

class Decisions : public ::testing::Test {
 protected:
  // `script` is the body of bench.sh; the recipes' variables (A, B, ...) arrive through the env
  // file; $COUNTER is a run counter outside the repository (time, for drift).
  void make(const std::string& script) {
    test::write(dir_ / "bench.sh",
                "#!/bin/sh\nn=$(cat \"$COUNTER\" 2>/dev/null || echo 0)\n"
                "echo $((n + 1)) > \"$COUNTER\"\n" +
                    script);
    test::write(dir_ / "README", "stand-in\n");
    test::git_init_commit(dir_.path());
    repo_ = std::make_unique<patch::GitRepo>(patch::GitRepo::open(dir_.path()));
    o_.bench.command = "sh bench.sh";
    o_.bench.metric_regex = "throughput: ([0-9.]+)";
    o_.bench.env["COUNTER"] = (state_ / "counter").string();
    o_.bench.runs = 3;
    o_.bench.warmup = 1;
    o_.record = [this](const std::string& type, const nlohmann::json& j) {
      if (type == "optimize.bench") benches_.push_back(j);
    };
  }
  Outcome go(std::vector<kb::Recipe> recipes) {
    kb::RecipeSet rs;
    rs.recipes = std::move(recipes);
    return run(*repo_, rs, {}, o_, *runner_);
  }
  TempDir dir_, state_;
  std::unique_ptr<patch::GitRepo> repo_;
  Options o_;
  std::vector<nlohmann::json> benches_;
  std::unique_ptr<exec::Runner> runner_ = exec::local_runner();
};

TEST_F(Decisions, AChangeThatCrashesInSomeRunsIsNeverKept) {
  // Twice as fast, but every third run of it dies with SIGSEGV.
  make(
      "if [ -n \"$A\" ]; then [ $((n % 3)) -eq 2 ] && kill -SEGV $$; echo 'throughput: 200'; "
      "else echo 'throughput: 100'; fi\n");
  auto out = go({env_recipe("crashy", "A", 2.0)});
  ASSERT_EQ(out.iterations.size(), 2u);
  const auto& it = out.iterations[1];
  EXPECT_EQ(it.outcome, "reverted") << it.reason;
  ASSERT_TRUE(it.decision);
  EXPECT_EQ(it.decision->verdict, "failed");
  EXPECT_NE(it.reason.find("failed: exit 139"), std::string::npos) << it.reason;  // sh reports the SIGSEGV
  EXPECT_FALSE(out.target_met);
}

TEST_F(Decisions, AChangeThatStopsWritingItsDumpIsNotJudgedByAStaleOne) {
  // Faster, but it writes no output: the baseline's file left in the work tree must not pass.
  make(
      "if [ -n \"$A\" ]; then echo 'throughput: 300'; "
      "else cp ref.safetensors out.safetensors; echo 'throughput: 100'; fi\n");
  test::write(dir_ / "ref.safetensors", bf16_file({1, 2, 3, 4}));
  test::sh("git add ref.safetensors && git commit -qm ref", dir_.path());
  o_.reference = Reference{"out.safetensors", "", 1e-3, 1e-5};
  auto out = go({env_recipe("no-dump", "A", 2.0)});
  ASSERT_EQ(out.iterations.size(), 2u);
  EXPECT_EQ(out.iterations[1].outcome, "reverted");
  EXPECT_NE(out.iterations[1].reason.find("wrote no output dump"), std::string::npos)
      << out.iterations[1].reason;
}

TEST_F(Decisions, Bf16OutputsWithinAKernelsToleranceAreKeptAndWrongOnesAreNot) {
  // A's output is 0.8% off in bf16 (a fused kernel's rounding); B's is 10% off.
  make(
      "if [ -n \"$B\" ]; then cp far.safetensors out.safetensors; echo 'throughput: 400';\n"
      "elif [ -n \"$A\" ]; then cp near.safetensors out.safetensors; echo 'throughput: 200';\n"
      "else cp ref.safetensors out.safetensors; echo 'throughput: 100'; fi\n");
  test::write(dir_ / "ref.safetensors", bf16_file({1, 2, 3, 4}));
  test::write(dir_ / "near.safetensors", bf16_file({1.008f, 2.016f, 3.024f, 4.032f}));
  test::write(dir_ / "far.safetensors", bf16_file({1.1f, 2.2f, 3.3f, 4.4f}));
  test::sh("git add . && git commit -qm dumps", dir_.path());
  o_.reference = Reference{"out.safetensors", "", 1e-3, 1e-5};
  auto out = go({env_recipe("fused", "A", 3.0), env_recipe("wrong", "B", 2.0)});
  ASSERT_EQ(out.iterations.size(), 3u) << render_markdown(out);
  EXPECT_EQ(out.iterations[1].outcome, "kept") << out.iterations[1].reason;
  EXPECT_EQ(out.iterations[2].outcome, "reverted");
  EXPECT_NE(out.iterations[2].reason.find("differs from the reference"), std::string::npos)
      << out.iterations[2].reason;
  EXPECT_NE(out.iterations[2].reason.find("rtol 0.016"), std::string::npos) << out.iterations[2].reason;
}

TEST_F(Decisions, UpwardDriftDoesNotMakeANoEffectChangeAKeep) {
  // +1% per run, no effect: measured once and then the candidate, it would look 6-10% faster.
  make("awk -v n=\"$n\" 'BEGIN { printf \"throughput: %.3f\\n\", 100 * (1 + 0.01 * n) }'\n");
  auto out = go({env_recipe("nothing", "A", 2.0)});
  ASSERT_EQ(out.iterations.size(), 2u);
  const auto& it = out.iterations[1];
  EXPECT_EQ(it.outcome, "reverted") << it.reason;
  ASSERT_TRUE(it.decision);
  EXPECT_NEAR(it.decision->ratio, 1.0, 0.011) << it.reason;
  // The runs alternated: baseline, candidate, candidate, baseline, ...
  std::vector<std::string> commits;
  for (const auto& b : benches_)
    if (b.contains("run") && b["run"] == "measured") commits.push_back(b["commit"]);
  ASSERT_GE(commits.size(), 4u);
  EXPECT_NE(commits[0], commits[1]);
  EXPECT_EQ(commits[1], commits[2]);
  EXPECT_EQ(commits[0], commits[3]);
}

TEST_F(Decisions, AChangeThatPaysOnlyOnTopOfAnotherGetsASecondTry) {
  // A alone does nothing; B doubles; A on top of B adds 50%.
  make("v=100; [ -n \"$B\" ] && v=200; [ -n \"$B\" ] && [ -n \"$A\" ] && v=300; echo \"throughput: $v\"\n");
  o_.target_speedup = 2.8;
  auto out = go({env_recipe("a", "A", 3.0), env_recipe("b", "B", 2.0)});
  auto md = render_markdown(out);
  ASSERT_EQ(out.iterations.size(), 4u) << md;
  EXPECT_EQ(out.iterations[1].recipe, "a");
  EXPECT_EQ(out.iterations[1].outcome, "reverted") << md;
  EXPECT_EQ(out.iterations[2].recipe, "b");
  EXPECT_EQ(out.iterations[2].outcome, "kept") << md;
  EXPECT_EQ(out.iterations[3].recipe, "a");
  EXPECT_TRUE(out.iterations[3].retry);
  EXPECT_EQ(out.iterations[3].outcome, "kept") << md;
  EXPECT_NE(md.find("second try"), std::string::npos) << md;
  // The target was claimed on a final A/B against the baseline, and each kept change was left out
  // once.
  EXPECT_TRUE(out.target_met) << md;
  ASSERT_TRUE(out.speedup);
  EXPECT_NEAR(*out.speedup, 3.0, 0.01);
  int finals = 0, loo = 0;
  for (const auto& c : out.checks) {
    finals += c.kind == "final";
    loo += c.kind == "leave-one-out";
    if (c.kind == "leave-one-out") {
      EXPECT_TRUE(c.decision.kept()) << c.finding;
    }
  }
  EXPECT_EQ(finals, 1) << md;
  EXPECT_EQ(loo, 2) << md;
  // The branch is the final one, clean; the report and JSON carry the evidence.
  EXPECT_TRUE(repo_->dirty_files().empty());
  auto env = read_env_file(dir_.path());
  EXPECT_EQ(env.count("A"), 1u);
  EXPECT_EQ(env.count("B"), 1u);
  auto j = to_json(out);
  EXPECT_EQ(j["iterations"][1]["decision"]["verdict"], "revert");
  EXPECT_EQ(j["iterations"][2]["decision"]["verdict"], "keep");
  EXPECT_GE(j["iterations"][2]["decision"]["pairs"].get<int>(), 6);
  EXPECT_EQ(j["checks"].size(), 3u);
  EXPECT_NEAR(j["speedup"].get<double>(), 3.0, 0.01);
  EXPECT_NE(md.find("[1."), std::string::npos) << md;  // an interval in the evidence column
}

TEST_F(Decisions, ALeftOutChangeThatNoLongerPaysIsFlagged) {
  // A: 1.5x; B: 2x alone or on top of A (it does A's work another way). Both are kept in turn,
  // but once B is in, A adds nothing.
  make("v=100; [ -n \"$A\" ] && v=150; [ -n \"$B\" ] && v=200; echo \"throughput: $v\"\n");
  auto out = go({env_recipe("a", "A", 3.0), env_recipe("b", "B", 2.0)});
  auto md = render_markdown(out);
  ASSERT_EQ(out.iterations.size(), 3u) << md;
  EXPECT_EQ(out.iterations[1].outcome, "kept") << md;
  EXPECT_EQ(out.iterations[2].outcome, "kept") << md;
  ASSERT_EQ(out.checks.size(), 3u) << md;
  EXPECT_EQ(out.checks[0].kind, "leave-one-out");
  EXPECT_EQ(out.checks[0].recipe, "a");
  EXPECT_FALSE(out.checks[0].decision.kept());
  EXPECT_NE(out.checks[0].finding.find("a shows no clear gain"), std::string::npos) << md;
  EXPECT_TRUE(out.checks[1].decision.kept()) << md;  // without b: 1.5 against 2
  EXPECT_EQ(out.checks[2].kind, "final");
  EXPECT_NEAR(out.checks[2].decision.ratio, 2.0, 0.01);
  EXPECT_NE(md.find("consider dropping it"), std::string::npos) << md;
  // The leave-one-out reverts were measured and undone: the branch ends on b's commit.
  EXPECT_EQ(repo_->head_id(), out.iterations[2].commit);
  EXPECT_TRUE(repo_->dirty_files().empty());
}

}  // namespace
}  // namespace kcat::optimize
