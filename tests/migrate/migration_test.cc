// A migration's phases in process, on small repositories: a codemod phase, resume after an
// interrupted step, update, shim mode, and -i approval, without the kcat binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/kb/data_dir.h"
#include "kcat/kb/recipe.h"
#include "kcat/migrate/migration.h"
#include "kcat/migrate/phases.h"
#include "kcat/report/ledger.h"
#include "kcat/report/runs.h"
#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;

fs::path golden(const std::string& which) { return test::fixtures_dir() / "migrate" / "basic" / which; }

// Each file of `expected` has the same bytes in `dir`.
void expect_files_equal(const fs::path& dir, const fs::path& expected) {
  for (auto& e : fs::recursive_directory_iterator(expected)) {
    if (!e.is_regular_file()) continue;
    auto rel = e.path().lexically_relative(expected);
    EXPECT_EQ(test::read(dir / rel), test::read(e.path())) << rel;
  }
}

struct Repo {
  test::TempDir dir;
  explicit Repo(const fs::path& from = golden("before")) {
    test::copy_tree(from, dir.path());
    test::git_init_commit(dir.path());
  }
  migrate::Options options() const {
    migrate::Options o;
    o.path = dir.path();
    o.author = "Tester <t@example.com>";
    o.use_llm = false;
    o.optimize = false;
    o.use_cache = false;
    return o;
  }
  std::string git(const std::string& args) const { return test::sh("git " + args, dir.path()).out; }
  std::vector<nlohmann::json> ledger(size_t run = 0) const {
    auto runs = report::list_runs(dir.path());
    return report::Ledger::read(dir / ".kcat" / "runs" / runs.at(run) / "ledger.jsonl");
  }
};

std::vector<std::string> types(const std::vector<nlohmann::json>& events) {
  std::vector<std::string> out;
  for (auto& e : events) out.push_back(e.value("type", ""));
  return out;
}

size_t count(const std::vector<std::string>& v, const std::string& s) {
  return std::count(v.begin(), v.end(), s);
}

TEST(MigratePhases, TheCodemodPhaseCommitsOneStepPerPlanStep) {
  Repo repo;
  auto o = repo.options();
  migrate::Run r(o, migrate::prepare(o), std::chrono::steady_clock::now());
  EXPECT_EQ(repo.git("rev-parse --abbrev-ref HEAD"), "kcat/ascend-a2\n");  // prepare checked it out
  migrate::open_run(r);
  migrate::port_with_rules(r);
  // The golden repository has two codemod steps: the device API, then the distributed backend.
  ASSERT_EQ(r.book.order.size(), 2u);
  EXPECT_EQ(r.book.records[r.book.order[0]].id, "device-api-1");
  EXPECT_EQ(r.book.records[r.book.order[1]].id, "distributed-1");
  for (auto& key : r.book.order) {
    EXPECT_EQ(r.book.records[key].status, "done") << key;
    EXPECT_TRUE(r.book.attempted.count(key)) << key;
  }
  EXPECT_EQ(r.book.fixed.size(), 16u);
  EXPECT_TRUE(r.out.changed_anything);
  expect_files_equal(repo.dir.path(), golden("after"));
  auto log = repo.git("log --format=%B main..kcat/ascend-a2");
  EXPECT_NE(log.find("Kcat-Step: device-api-1"), std::string::npos) << log;
  EXPECT_NE(log.find("Kcat-Run: " + r.run_id), std::string::npos) << log;
  auto t = types(repo.ledger());
  EXPECT_EQ(t.front(), "run-started");
  EXPECT_EQ(count(t, "step-applying"), 2u);
  EXPECT_EQ(count(t, "step-committed"), 2u);
  EXPECT_EQ(count(t, "run-finished"), 0u);  // only the phase ran, not the finish
}

// Plan ids are positional: once the device-API codemod step is done, the re-made plan numbers the
// phase's LLM step device-api-1 too. In a run's report, plan.json and commits each step has one id
// of its own, the one the run first knew it by, and the site left is attributed to that step.
TEST(MigratePhases, StepIdsAreUniqueAndKeptAcrossReplanning) {
  Repo repo;
  auto out = migrate::run(repo.options());
  std::set<std::string> ids;
  std::string codemod, llm;
  for (auto& s : out.report.steps) {
    EXPECT_TRUE(ids.insert(s.id).second) << "step id " << s.id << " repeats";
    if (s.action == "codemod" && s.title.find("device API") != std::string::npos) codemod = s.id;
    if (s.action == "llm") llm = s.id;
  }
  EXPECT_EQ(codemod, "device-api-1");
  EXPECT_EQ(llm, "device-api-2");  // its id in the run's first plan, beside the codemod step
  size_t left = 0;
  for (auto& site : out.report.sites) {
    if (site.status != "left") continue;
    ++left;
    EXPECT_EQ(site.step, llm) << site.finding.file << ":" << site.finding.span.start.line;
  }
  EXPECT_EQ(left, 1u);
  auto plan = nlohmann::json::parse(test::read(repo.dir / ".kcat" / "plan.json"));
  std::set<std::string> plan_ids;
  for (auto& s : plan["steps"]) EXPECT_TRUE(plan_ids.insert(s["id"].get<std::string>()).second) << s["id"];
  EXPECT_TRUE(plan_ids.count(llm)) << plan["steps"].dump();
  EXPECT_FALSE(plan_ids.count(codemod)) << plan["steps"].dump();  // done: not in the plan of what is left
}

TEST(MigratePhases, NameStepsKeepsAKnownStepsIdAndGivesANewStepAFreeOne) {
  migrate::StepBook book;
  book.records["device-api/codemod/"].id = "device-api-1";  // done, e.g. by a resumed run
  plan::Plan p;
  plan::Step llm;
  llm.id = "device-api-1";
  llm.phase = plan::Phase::DeviceApi;
  llm.action = plan::Action::Llm;
  p.steps = {llm};
  migrate::name_steps(p, book);
  EXPECT_EQ(p.steps[0].id, "device-api-2");
  p.steps[0].id = "device-api-1";  // the next re-plan numbers it 1 again: it keeps its id
  migrate::name_steps(p, book);
  EXPECT_EQ(p.steps[0].id, "device-api-2");
}

// Two setup.py files may each build a module of the same name (a package and its vendored copy):
// their plan items are two steps with two ids, and each keeps its id when the plan is named again.
// Before, the key held only the module's name, so the second took the first one's id.
TEST(MigratePhases, TwoExtensionsOfOneNameInTwoBuildFilesGetTwoIds) {
  migrate::StepBook book;
  plan::Plan p;
  for (auto file : {"setup.py", "third_party/setup.py"}) {
    plan::Step s;
    s.id = "custom-kernels-build-1";  // as a plan that numbers one of them could
    s.phase = plan::Phase::CustomKernelsBuild;
    s.action = plan::Action::Manual;
    plan::CudaExtension e;
    e.name = "ops_cuda";
    e.build_file = file;
    s.extension = e;
    p.steps.push_back(s);
  }
  migrate::name_steps(p, book);
  EXPECT_NE(p.steps[0].id, p.steps[1].id);
  auto first = p.steps[0].id, second = p.steps[1].id;
  std::swap(p.steps[0], p.steps[1]);         // planned again in another order, numbered by position:
  p.steps[0].id = "custom-kernels-build-1";  // each keeps the id the run first gave it
  p.steps[1].id = "custom-kernels-build-2";
  migrate::name_steps(p, book);
  EXPECT_EQ(p.steps[0].id, second);
  EXPECT_EQ(p.steps[1].id, first);
}

TEST(MigratePhases, TheFallbackPhaseRoutesAKernelEntryPointAndTheReportListsIt) {
  Repo repo(test::fixtures_dir() / "migrate" / "fallback");
  auto o = repo.options();
  auto out = migrate::run(o);
  auto log = repo.git("log --format=%B main..kcat/ascend-a2");
  EXPECT_NE(log.find("Kcat-Step: fallback-1"), std::string::npos) << log;
  EXPECT_NE(log.find("- conv_fn (kpkg/interface.py:4) -> conv_ref (kpkg/interface.py), refuses: seq_idx"),
            std::string::npos)
      << log;
  // conv_fwd reaches the extension too, with no reference: found, left.
  ASSERT_EQ(out.report.fallbacks.size(), 2u);
  EXPECT_EQ(out.report.fallbacks[0].entry, "conv_fn");
  EXPECT_EQ(out.report.fallbacks[0].status, "routed");
  EXPECT_EQ(out.report.fallbacks[1].entry, "conv_fwd");
  EXPECT_EQ(out.report.fallbacks[1].status, "left");
  auto interface = test::read(repo.dir / "kpkg/interface.py");
  EXPECT_NE(interface.find("    if _kcat_kpkg_cuda is None:  # kcat: reference fallback"), std::string::npos)
      << interface;
  auto md = test::read(repo.dir / ".kcat/report.md");
  EXPECT_NE(md.find("## Kernel entry points\n\n2 found, 1 routed"), std::string::npos) << md;
  auto json = nlohmann::json::parse(test::read(repo.dir / ".kcat/report.json"));
  EXPECT_EQ(json["fallbacks"][0]["reference"], "conv_ref");
  // The optimize loop's plan: porting the kernel is a performance item.
  auto plan = test::read(repo.dir / ".kcat/plan.json");
  EXPECT_NE(plan.find("port the kernel behind `conv_fn` (kpkg/interface.py:"), std::string::npos) << plan;
  // A second run finds it routed and changes nothing.
  auto head = repo.git("rev-parse HEAD");
  auto again = migrate::run(o);
  EXPECT_EQ(repo.git("rev-parse HEAD"), head);
  ASSERT_EQ(again.report.fallbacks.size(), 2u);
  EXPECT_EQ(again.report.fallbacks[0].status, "routed");
}

// Review of session 8, finding 1: one entry point whose edit the gate refuses (here a team's
// after_edit hook vetoes kpkg/other.py) does not cancel the others: each goes through the gate alone,
// and the refused one is reported with the gate's reason.
TEST(MigratePhases, AnEntryPointTheGateRefusesDoesNotCancelTheOthers) {
  Repo repo(test::fixtures_dir() / "migrate" / "fallback");
  test::write(repo.dir / "setup.py",
              "from setuptools import setup\nfrom torch.utils.cpp_extension import CUDAExtension\n\n"
              "setup(name=\"kpkg\", ext_modules=[CUDAExtension(name=\"kpkg_cuda\", sources=[\"k.cu\"]),\n"
              "                                CUDAExtension(name=\"kpkg2_cuda\", sources=[\"k2.cu\"])])\n");
  test::write(repo.dir / "kpkg/other.py",
              "import kpkg2_cuda\n\n\ndef mul_fn(x):\n    return kpkg2_cuda.mul(x)\n\n\n"
              "def mul_ref(x):\n    return x\n");
  test::sh("git add -A && git commit -q -m other", repo.dir.path());
  test::TempDir conf;
  test::write(
      conf / "kcat.toml",
      "[hooks]\nafter_edit = 'case \" $KCAT_FILES \" in *\" kpkg/other.py \"*) echo no edits to other.py; "
      "exit 2;; esac'\n");
  auto o = repo.options();
  o.config = (conf / "kcat.toml").string();
  auto out = migrate::run(o);
  auto log = repo.git("log --format=%B main..kcat/ascend-a2");
  EXPECT_NE(log.find("- conv_fn (kpkg/interface.py:4) -> conv_ref (kpkg/interface.py)"), std::string::npos)
      << log;
  EXPECT_EQ(log.find("mul_fn"), std::string::npos) << log;
  EXPECT_EQ(repo.git("diff main..kcat/ascend-a2 -- kpkg/other.py"), "");
  std::map<std::string, report::Fallback> by_entry;
  for (auto& f : out.report.fallbacks) by_entry[f.entry] = f;
  EXPECT_EQ(by_entry["conv_fn"].status, "routed") << by_entry["conv_fn"].reason;
  EXPECT_EQ(by_entry["mul_fn"].status, "left");
  EXPECT_NE(by_entry["mul_fn"].reason.find("the gate refused its edit: vetoed by the after_edit hook"),
            std::string::npos)
      << by_entry["mul_fn"].reason;
  EXPECT_NE(by_entry["mul_fn"].reason.find("no edits to other.py"), std::string::npos)
      << by_entry["mul_fn"].reason;
}

TEST(MigratePhases, ACodemodStepNamesEachRuleInItsMessage) {
  test::TempDir dir;
  test::write(dir / "a.py", "import torch\nx = torch.ones(1).cuda()\n");
  migrate::Environment env;
  migrate::Options o;
  env = migrate::load_environment(dir.path(), o);
  scan::ScanOptions so;
  so.root = dir.path();
  auto findings = scan::scan(so, env.rules).findings;
  auto pl = plan::make_plan(findings, "a", "ascend-a2");
  const auto* step = migrate::next_codemod(pl, {});
  ASSERT_NE(step, nullptr);
  auto w = migrate::codemod_work(*step, dir.path(), "ascend-a2");
  EXPECT_EQ(w.key, migrate::step_key(*step));
  EXPECT_FALSE(w.patch.edits.empty());
  EXPECT_NE(w.patch.message.find("kcat: " + step->title + " for ascend-a2"), std::string::npos);
  EXPECT_NE(w.patch.message.find("py.cuda-method"), std::string::npos) << w.patch.message;
  EXPECT_EQ(migrate::next_codemod(pl, {w.key}), nullptr);  // attempted: not offered again
}

// Issue 12 (g): a helper that uses the NPU after the port but imports no torch gets no `import
// torch_npu`; the committed step leaves the site for a person, with why, in the report and the ledger.
TEST(MigratePhases, AFileUsingTheNpuWithoutATorchImportIsLeftWithTheReason) {
  test::TempDir src;
  test::write(src / "train.py", "import torch\nfrom helper import to_device\nx = torch.ones(1).cuda()\n");
  test::write(src / "helper.py", "def to_device(t):\n    return t.cuda()\n");
  Repo repo(src.path());
  auto o = repo.options();
  migrate::Run r(o, migrate::prepare(o), std::chrono::steady_clock::now());
  migrate::open_run(r);
  migrate::port_with_rules(r);
  EXPECT_EQ(test::read(repo.dir / "helper.py"), "def to_device(t):\n    return t.npu()\n");
  EXPECT_EQ(test::read(repo.dir / "train.py"),
            "import torch\nimport torch_npu\nfrom helper import to_device\nx = torch.ones(1).npu()\n");
  ASSERT_EQ(r.unported.size(), 1u);
  EXPECT_EQ(r.unported[0].rule_id, "patch.torch-npu-import");
  EXPECT_EQ(r.unported[0].file, "helper.py");
  EXPECT_EQ(count(types(repo.ledger()), "site-unported"), 1u);
  migrate::report_phase(r);
  size_t left = 0;
  for (auto& s : r.out.report.sites) {
    if (s.finding.rule_id == "patch.torch-npu-import" && s.status == "left" && s.how == "manual") ++left;
  }
  EXPECT_EQ(left, 1u);
}

// An interruption that is not a kcat error: the process stops mid-step.
struct Interrupted {};

TEST(MigratePhases, ResumeAfterAStepInterruptedBeforeItsCommit) {
  Repo repo;
  auto o = repo.options();
  int commits = 0;
  o.at_point = [&](const char* point) {
    if (std::string(point) == "before-commit" && ++commits == 2) throw Interrupted{};
  };
  EXPECT_THROW(migrate::run(o), Interrupted);
  // The second step's files are written but not committed; the run is unfinished.
  EXPECT_NE(repo.git("status --porcelain --untracked-files=no"), "");
  auto run_id = migrate::unfinished_run(repo.dir.path());
  ASSERT_FALSE(run_id.empty());
  auto t = types(repo.ledger());
  EXPECT_EQ(count(t, "step-committed"), 1u);
  EXPECT_EQ(count(t, "step-applying"), 2u);

  // Without --resume, the interrupted step's files are uncommitted changes: refused.
  EXPECT_THROW(migrate::run(repo.options()), Error);
  auto resume = repo.options();
  resume.resume = true;
  auto out = migrate::run(resume);
  EXPECT_EQ(out.report.run_id, run_id);
  expect_files_equal(repo.dir.path(), golden("after"));
  EXPECT_EQ(repo.git("status --porcelain --untracked-files=no"), "");
  ASSERT_EQ(report::list_runs(repo.dir.path()).size(), 1u);
  t = types(repo.ledger());
  EXPECT_EQ(count(t, "run-resumed"), 1u);
  EXPECT_EQ(count(t, "step-committed"), 2u);
  EXPECT_EQ(t.back(), "run-finished");
  // The step committed before the interruption is in the report once, from the resumed ledger.
  size_t device = 0;
  for (auto& s : out.report.steps)
    device += s.id == "device-api-1" && s.action == "codemod" && s.status == "done";
  EXPECT_EQ(device, 1u);
  EXPECT_EQ(repo.git("rev-list --count main..kcat/ascend-a2"), "2\n");
}

TEST(MigratePhases, ResumeWithoutAnInterruptedRunIsAUsageError) {
  Repo repo;
  migrate::run(repo.options());
  auto o = repo.options();
  o.resume = true;
  try {
    migrate::run(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("no interrupted run"), std::string::npos);
  }
}

TEST(MigratePhases, UpdateReplaysTheBranchOntoTheMovedUpstreamAndPortsWhatIsNew) {
  Repo repo;
  auto first = migrate::run(repo.options());
  ASSERT_TRUE(first.changed_anything);
  test::sh("git checkout -q main", repo.dir.path());
  test::write(repo.dir / "new_infer.py", "import torch\ny = torch.ones(1).cuda()\n");
  test::sh("git add new_infer.py && git -c user.name=U -c user.email=u@x commit -qm upstream",
           repo.dir.path());
  auto upstream = repo.git("rev-parse main");
  auto o = repo.options();
  o.update = true;
  auto out = migrate::run(o);
  EXPECT_EQ(repo.git("rev-parse --abbrev-ref HEAD"), "kcat/ascend-a2\n");
  EXPECT_EQ(repo.git("merge-base main kcat/ascend-a2"), upstream);
  EXPECT_EQ(out.report.base_commit + "\n", upstream);
  EXPECT_EQ(test::read(repo.dir / "new_infer.py"),
            "import torch\nimport torch_npu\ny = torch.ones(1).npu()\n");
  expect_files_equal(repo.dir.path(), golden("after"));
  auto events = repo.ledger(1);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0]["type"], "run-started");
  EXPECT_EQ(events[0]["from_branch"], "main");
  EXPECT_EQ(events[1]["type"], "rebased");
  EXPECT_EQ(events[1]["replayed"], 2);
}

TEST(MigratePhases, UpdateWithoutAnEarlierMigrationIsAUsageError) {
  Repo repo;
  auto o = repo.options();
  o.update = true;
  try {
    migrate::run(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("nothing to update"), std::string::npos);
  }
}

TEST(MigratePhases, ShimModeIsOneStepAndTheReportCountsWhatTheShimCovers) {
  Repo repo;
  auto o = repo.options();
  o.mode = "shim";
  auto out = migrate::run(o);
  EXPECT_EQ(repo.git("rev-list --count main..kcat/ascend-a2"), "1\n");
  auto train = test::read(repo.dir / "train.py");
  EXPECT_NE(train.find("import torch\nimport torch_npu\nfrom torch_npu.contrib import transfer_to_npu\n"),
            std::string::npos)
      << train;
  EXPECT_NE(train.find(".cuda(rank)"), std::string::npos);  // the source is not rewritten
  ASSERT_FALSE(out.report.steps.empty());
  EXPECT_EQ(out.report.steps.front().id, "shim-1");
  EXPECT_EQ(out.report.steps.front().status, "done");
  size_t covered = 0, left = 0;
  for (auto& s : out.report.sites) {
    covered += s.how == "shim:transfer_to_npu";
    left += s.status == "left";
  }
  EXPECT_GT(covered, 5u);
  EXPECT_GE(left, 1u);  // torch.cuda.memory_usage: no NPU equivalent
  // A second shim run finds the step done (resumed book) and changes nothing.
  auto head = repo.git("rev-parse HEAD");
  auto again = migrate::run(o);
  EXPECT_EQ(repo.git("rev-parse HEAD"), head);
}

TEST(MigratePhases, CoveredByShimFollowsTransferToNpu) {
  Finding f;
  f.rule_id = "py.cuda-method";
  EXPECT_TRUE(migrate::covered_by_shim(f));
  f.rule_id = "py.nccl-backend";
  f.severity = Severity::Blocking;
  EXPECT_TRUE(migrate::covered_by_shim(f));
  f.severity = Severity::Warning;  // a comparison with 'nccl': a documented gap
  EXPECT_FALSE(migrate::covered_by_shim(f));
  f.rule_id = "py.torch-cuda-api";
  f.verdict = Verdict::Unsupported;
  EXPECT_FALSE(migrate::covered_by_shim(f));
  f.rule_id = "shim.jit-script";
  EXPECT_FALSE(migrate::covered_by_shim(f));
}

TEST(MigratePhases, ApprovalIsAskedBeforeEachCommitAndNoVetoesTheStep) {
  Repo repo;
  auto o = repo.options();
  std::vector<std::string> questions;
  o.approve = [&](const std::string& question, const std::string& diff, const std::string& why) {
    questions.push_back(question);
    EXPECT_NE(diff.find("+++ b/"), std::string::npos);
    // "show more" is why: the commit message with the rule (not the diff again).
    EXPECT_NE(why.find("py."), std::string::npos) << why;
    EXPECT_EQ(why.find("+++ b/"), std::string::npos) << why;
    return questions.size() == 1 ? migrate::Approval::No : migrate::Approval::All;
  };
  auto out = migrate::run(o);
  ASSERT_EQ(questions.size(), 2u);  // "all" answers every later step
  EXPECT_NE(questions[0].find("Commit step device-api-1"), std::string::npos) << questions[0];
  EXPECT_EQ(repo.git("rev-list --count main..kcat/ascend-a2"), "1\n");
  std::vector<std::string> answers;
  for (auto& e : repo.ledger()) {
    if (e.value("type", "") == "approval") answers.push_back(e.value("answer", ""));
  }
  EXPECT_EQ(answers, (std::vector<std::string>{"no", "yes"}));
  bool declined = false;
  for (auto& s : out.report.steps) declined |= s.reason.find("declined by the person") != std::string::npos;
  EXPECT_TRUE(declined);
}

// Issue 18 §2: a step over several files becomes one agent task per file, each with its findings.
TEST(MigratePhases, AnLlmStepOverSeveralFilesIsOneAgentTaskPerFile) {
  plan::Plan pl;
  plan::Step s;
  s.id = "attention-2";
  s.action = plan::Action::Llm;
  s.title = "Port the attention";
  s.rationale = "no rule or recipe ports it";
  for (auto* file : {"a.py", "b.py", "a.py"}) {
    Finding f;
    f.file = file;
    f.rule_id = "py.flash-attn-import";
    s.findings.push_back(f);
  }
  plan::Step one = s;
  one.id = "attention-3";
  one.findings.resize(1);
  pl.steps = {s, one};
  auto tasks = migrate::agent_tasks(pl, kb::RecipeSet{}, {});
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].id, "attention-2/1");
  EXPECT_EQ(tasks[0].title, "Port the attention (a.py, file 1 of 2)");
  EXPECT_EQ(tasks[0].findings.size(), 2u);
  EXPECT_EQ(tasks[1].id, "attention-2/2");
  ASSERT_EQ(tasks[1].findings.size(), 1u);
  EXPECT_EQ(tasks[1].findings[0].file, "b.py");
  EXPECT_EQ(tasks[1].rationale, s.rationale);
  EXPECT_EQ(tasks[2].id, "attention-3");  // one file: the step as it is
  EXPECT_EQ(tasks[2].title, "Port the attention");
}

// A recipe step the person declined at the prompt is their decision: it is not handed to the model
// as "recipe tried, needs an LLM" (a recipe tried and not declined is).
TEST(AgentTasks, ADeclinedRecipeStepIsNotGivenToTheModel) {
  kb::RecipeSet recipes;
  kb::Recipe recipe;
  recipe.id = "flash-attn-to-npu-fusion-attention";
  recipes.recipes.push_back(recipe);
  plan::Plan pl;
  plan::Step s;
  s.id = "attention-1";
  s.action = plan::Action::Recipe;
  s.recipe = recipe.id;
  Finding f;
  f.file = "a.py";
  f.rule_id = "py.flash-attn-import";
  s.findings = {f};
  pl.steps = {s};
  auto key = migrate::step_key(s);
  EXPECT_TRUE(migrate::agent_tasks(pl, recipes, {}).empty()) << "not tried yet: the recipe runs first";
  EXPECT_EQ(migrate::agent_tasks(pl, recipes, {key}).size(), 1u) << "tried, sites left: the model's";
  EXPECT_TRUE(migrate::agent_tasks(pl, recipes, {key}, {key}).empty()) << "declined by the person";
}

// Issue 18 §2: the model is told why a step is its own: the recipe its step names does not exist, the
// recipe was tried and left these sites, or no codemod has a fix for them.
TEST(AgentTasks, EachTaskSaysWhyNoRuleOrRecipePortedIt) {
  kb::RecipeSet recipes;
  kb::Recipe recipe;
  recipe.id = "flash-attn-to-npu-fusion-attention";
  recipes.recipes.push_back(recipe);
  Finding f;
  f.file = "a.py";
  f.rule_id = "py.flash-attn-import";
  plan::Step tried, missing, llm;
  tried.id = "attention-1";
  tried.action = plan::Action::Recipe;
  tried.recipe = recipe.id;
  tried.findings = {f};
  missing = tried;
  missing.id = "attention-2";
  missing.recipe = "no-such-recipe";
  llm = tried;
  llm.id = "attention-3";
  llm.action = plan::Action::Llm;
  llm.recipe.clear();
  plan::Plan pl;
  pl.steps = {tried, missing, llm};
  auto tasks = migrate::agent_tasks(pl, recipes, {migrate::step_key(tried)});
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_NE(tasks[0].why.find("kcat ran recipe flash-attn-to-npu-fusion-attention and these sites were left"),
            std::string::npos)
      << tasks[0].why;
  EXPECT_NE(tasks[1].why.find("the plan names recipe no-such-recipe, which kcat's recipes do not hold"),
            std::string::npos)
      << tasks[1].why;
  EXPECT_NE(tasks[2].why.find("no rule has a mechanical fix (codemod) for these sites"), std::string::npos)
      << tasks[2].why;
}

}  // namespace
}  // namespace kcat

namespace kcat {
namespace {

// A step whose recipe is of kind agent (cuda-extension-port) goes to the agent with the recipe's
// contract; before the recipe existed it went there as "recipe missing", and it must not now be
// taken for a recipe kcat applies.
TEST(AgentTasks, AnAgentRecipeStepIsAnAgentTaskWithTheContract) {
  plan::Plan pl;
  plan::Step s;
  s.id = "kernels-build-1";
  s.action = plan::Action::Recipe;
  s.recipe = "cuda-extension-port";
  s.title = "Apply recipe cuda-extension-port";
  s.rationale = "why";
  Finding f;
  f.file = "csrc/k.cu";
  f.rule_id = "cpp.global-kernel";
  s.findings.push_back(f);
  pl.steps = {s};
  auto shipped = kb::load_recipes(kb::default_data_dir() / "recipes");
  auto tasks = migrate::agent_tasks(pl, shipped, {});
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_NE(tasks[0].rationale.find("Oracle: the repository's own reference"), std::string::npos)
      << tasks[0].rationale;
  EXPECT_EQ(tasks[0].rationale.rfind("why\n", 0), 0u);
  // A port recipe of the same id is kcat's to apply, not the agent's.
  kb::RecipeSet port;
  kb::Recipe r;
  r.id = "cuda-extension-port";
  r.kind = "port";
  port.recipes.push_back(r);
  EXPECT_TRUE(migrate::agent_tasks(pl, port, {}).empty());
}

// Issue 12: migrate's steps pass the gate's names check. A step that places its module where the
// importing script cannot reach it (a folder without __init__.py, not beside the script) is refused
// with the reason, every byte put back; the same step with the module beside the script commits,
// though the script already used a name nothing defines (what the repository had never counts).
TEST(MigratePhases, AStepImportingAModuleItPlacesOutOfReachIsRefusedWithTheReason) {
  test::TempDir src;
  const std::string train =
      "from flash_attn import flash_attn_func\n\nprint(undefined_before)\ny = flash_attn_func(1)\n";
  test::write(src / "scripts/train.py", train);
  test::write(src / "tools/notes.txt", "not a package\n");
  Repo repo(src.path());
  auto o = repo.options();
  migrate::Run r(o, migrate::prepare(o), std::chrono::steady_clock::now());
  migrate::open_run(r);
  auto step = [](const std::string& module_at) {
    migrate::StepWork w;
    w.key = "attention:recipe:flash-attn@" + module_at;
    w.id = "attention-1";
    w.title = "flash-attn";
    w.recipe_id = "flash-attn";
    w.patch.message = "flash-attn on the NPU";
    w.patch.edits.push_back({module_at, 0, 0, "def flash_attn_func(x):\n    return x\n", "recipe"});
    w.patch.edits.push_back(
        {"scripts/train.py", 0, 38, "from flash_attn_npu import flash_attn_func", "recipe"});
    return w;
  };
  auto far = step("tools/flash_attn_npu.py");
  migrate::run_step(r, far);
  auto& rec = r.book.records[far.key];
  EXPECT_EQ(rec.status, "failed");
  EXPECT_THAT(rec.failed_checks, testing::Contains("names"));
  EXPECT_THAT(rec.reason, testing::HasSubstr("scripts/train.py:1"));
  EXPECT_THAT(rec.reason, testing::HasSubstr("`flash_attn_npu`"));
  EXPECT_THAT(rec.reason, testing::HasSubstr("tools/flash_attn_npu.py"));
  EXPECT_EQ(test::read(repo.dir / "scripts/train.py"), train);
  EXPECT_FALSE(fs::exists(repo.dir / "tools/flash_attn_npu.py"));

  auto near = step("scripts/flash_attn_npu.py");
  migrate::run_step(r, near);
  EXPECT_EQ(r.book.records[near.key].status, "done") << r.book.records[near.key].reason;
  EXPECT_EQ(repo.git("rev-list --count main..kcat/ascend-a2"), "1\n");
}

// Issue 12: after the port, what kcat's commits broke (here an earlier commit on the branch, as an
// agent's step gated with warnings only may leave) is a blocking site in the report, and the outcome
// is not `done`; a name the repository left undefined before the port is not reported.
TEST(MigratePhases, BreakageTheBranchIntroducedIsABlockingSiteAndTheOutcomeIsNotDone) {
  test::TempDir src;
  test::write(src / "helper.py", "def f():\n    return 1\n");
  test::write(src / "use.py", "from helper import f\n\nprint(f(), undefined_before)\n");
  test::write(src / "train.py", "import torch\n\nx = torch.ones(1)\n");
  Repo repo(src.path());
  auto o = repo.options();
  migrate::Run r(o, migrate::prepare(o), std::chrono::steady_clock::now());
  migrate::open_run(r);
  migrate::port_with_rules(r);
  migrate::report_phase(r);
  migrate::finish(r);
  EXPECT_EQ(r.out.report.outcome, "done");  // nothing broken: the repository's own gap is not kcat's

  test::write(repo.dir / "use.py", "import torch_npu\n\nprint(f(), undefined_before)\n");
  test::sh("git -c user.name=U -c user.email=u@x commit -qam 'an agent step that dropped an import'",
           repo.dir.path());
  migrate::Run again(o, migrate::prepare(o), std::chrono::steady_clock::now());
  migrate::open_run(again);
  again.p.base = r.p.base;
  migrate::port_with_rules(again);
  migrate::report_phase(again);
  migrate::finish(again);
  EXPECT_EQ(again.out.report.outcome, "findings-left");
  size_t broken = 0;
  for (auto& s : again.out.report.sites) {
    if (s.finding.rule_id != "kcat.introduced-breakage") continue;
    ++broken;
    EXPECT_EQ(s.status, "left");
    EXPECT_EQ(s.finding.severity, Severity::Blocking);
    EXPECT_EQ(s.finding.file, "use.py");
    EXPECT_EQ(s.finding.span.start.line, 3u);
    EXPECT_THAT(s.finding.message, testing::HasSubstr("`f` (line 3)"));
    EXPECT_THAT(s.finding.message, testing::Not(testing::HasSubstr("undefined_before")));
  }
  EXPECT_EQ(broken, 1u);
}

}  // namespace
}  // namespace kcat
