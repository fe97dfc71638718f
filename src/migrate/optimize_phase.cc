// The optimize phase: the loop's settings, where it runs (here or an Atlas host over ssh), the
// LLM's proposals once the recipes run out, and the record in the report.
#include "kcat/migrate/optimize_phase.h"

#include <fmt/format.h>

#include <cstdlib>

#include "kcat/config/common.h"
#include "kcat/config/hooks.h"
#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/core/events.h"
#include "kcat/core/fs.h"
#include "kcat/env/harness.h"
#include "kcat/exec/sync.h"
#include "kcat/kb/data_dir.h"
#include "kcat/llm/client.h"
#include "kcat/llm/config.h"
#include "kcat/migrate/agent_setup.h"
#include "kcat/plan/extensions.h"

namespace kcat::migrate {

namespace {

namespace fs = std::filesystem;

void say(const OptimizeOverrides& ov, const std::string& line) {
  if (ov.progress) ov.progress(line);
}

// [bench] with the overrides on top.
void bench_settings(optimize::Options& o, const cli::Config& config, const OptimizeOverrides& ov,
                    const fs::path& root) {
  const auto& b = config.bench;
  o.bench.command = ov.bench_command.empty() ? b.command : ov.bench_command;
  if (o.bench.command.empty()) {
    throw Error(ErrorKind::Usage, "no benchmark command: the optimize loop needs a number to improve",
                config.file.empty() ? root.string() : config.file.string(),
                "add [bench] command = \"...\" and metric = \"...\" to kcat.toml, or pass --bench-cmd "
                "(docs/optimize.md)");
  }
  o.bench.metric_regex = ov.metric.empty() ? b.metric : ov.metric;
  o.bench.metric_json_key = ov.metric_json.empty() ? b.metric_json : ov.metric_json;
  if (!ov.metric.empty()) o.bench.metric_json_key.clear();
  if (!ov.metric_json.empty()) o.bench.metric_regex.clear();
  o.bench.unit = ov.unit.empty() ? b.unit : ov.unit;
  o.bench.runs = ov.runs > 0 ? ov.runs : b.runs;
  o.bench.warmup = b.warmup;
  o.bench.timeout = std::chrono::milliseconds(static_cast<long>(b.timeout_s * 1000));
  o.target = ov.target ? ov.target : b.target;
  o.target_speedup = ov.target_speedup > 0 ? ov.target_speedup : b.target_speedup;
}

// [optimize] with the overrides on top.
void loop_settings(optimize::Options& o, const cli::Config& config, const OptimizeOverrides& ov,
                   const fs::path& root) {
  o.max_iterations = ov.max_iterations > 0 ? ov.max_iterations : config.optimize.max_iterations;
  o.max_minutes = ov.max_minutes;
  o.min_gain = config.optimize.min_gain;
  if (ov.max_pairs > 0) {
    o.max_pairs = ov.max_pairs;
  } else if (config.optimize.max_pairs > 0) {
    o.max_pairs = config.optimize.max_pairs;
  }
  o.only = ov.recipes.empty() ? config.optimize.recipes : ov.recipes;
  o.prefer = ov.prefer;
  if (!config.optimize.output.empty()) {
    o.reference = optimize::Reference{config.optimize.output, config.optimize.reference, config.optimize.rtol,
                                      config.optimize.atol};
    if (!o.reference->reference.empty() && o.reference->reference.is_relative()) {
      o.reference->reference = root / o.reference->reference;
    }
  }
}

std::string iteration_line(const optimize::Iteration& it, const std::string& unit) {
  return fmt::format(
      "  [{}] {:<24} {:<9} {}\n", it.index, it.recipe.empty() ? it.title : it.recipe, it.outcome,
      it.stats ? fmt::format("{:.2f} {} ({:.2f}x)  {}", it.stats->median, unit, it.speedup, it.reason)
               : it.reason);
}

// Where build and bench run: here, or an Atlas host the branch is pushed to before every build.
struct Machine {
  std::unique_ptr<exec::Runner> local = exec::local_runner();
  std::unique_ptr<exec::Runner> runner;
  exec::RemoteTree remote;
};

void use_host(Machine& m, patch::GitRepo& repo, const cli::Config& config, const OptimizeOverrides& ov,
              optimize::Options& o, report::Ledger& ledger) {
  auto root = repo.workdir();
  m.remote.destination = ov.host.empty() ? config.remote.host : ov.host;
  if (m.remote.destination.empty()) {
    m.runner = exec::local_runner();
    // The [bench] command finds the NPU harnesses at $KCAT_HARNESS, as under `kcat bench`.
    auto harness = env::harness_dir();
    if (!harness.empty() && !std::getenv("KCAT_HARNESS")) o.bench.env["KCAT_HARNESS"] = harness.string();
    return;
  }
  // The Atlas host: the branch is pushed to a work tree there before every build; build, bench
  // and the output dump happen there.
  m.remote.ssh_args = ov.host.empty() ? config.remote.ssh_args : ov.ssh_args;
  m.remote.dir = !ov.remote_dir.empty()       ? ov.remote_dir
                 : !config.remote.dir.empty() ? config.remote.dir
                                              : "~/kcat-work/" + root.filename().string();
  m.runner = exec::ssh_runner(m.remote.destination, m.remote.ssh_args);
  auto branch = repo.current_branch();
  auto first = exec::sync_to_host(root, branch, m.remote, *m.local);
  o.bench.cwd = first.dir;
  // Beside the work tree, not in it (a checkout or `git clean` never sees them).
  // A [bench] command that does not use them still runs when they cannot be sent.
  std::string harness;
  try {
    harness = env::send_harnesses(*m.runner, first.dir + ".harness");
  } catch (const Error& e) {
    say(ov, fmt::format("  warning: {}; $KCAT_HARNESS is not set on the host\n", e.what()));
  }
  if (!harness.empty()) o.bench.env["KCAT_HARNESS"] = harness;
  ledger.append(
      "remote-synced",
      {{"host", m.remote.destination}, {"dir", first.dir}, {"commit", first.commit}, {"harness", harness}});
  o.before_build = [&m, &ledger, root, branch] {
    auto s = exec::sync_to_host(root, branch, m.remote, *m.local);
    ledger.append("remote-synced", {{"host", m.remote.destination}, {"dir", s.dir}, {"commit", s.commit}});
  };
  auto fetch_dir = root / ".kcat" / "optimize" / "fetched";
  o.fetch_output = [&m, fetch_dir](const fs::path& remote_path) {
    exec::Command c;
    c.argv = {"cat", remote_path.string()};
    c.output_cap = size_t{1} << 30;
    auto r = m.runner->run(c);
    if (!r.ok()) {
      throw Error(ErrorKind::Environment, "cannot fetch the output dump from the host: " + r.describe(),
                  m.remote.destination + ":" + remote_path.string(), "check [optimize] output");
    }
    auto local_copy = fetch_dir / remote_path.filename();
    write_file_atomic(local_copy, r.out);
    return local_copy;
  };
  say(ov, fmt::format("  on {}:{} (branch {} sent with git)\n", m.remote.destination, first.dir, branch));
}

// With an LLM configured: once the recipes are exhausted, the agent proposes changes.
struct Proposer {
  llm::LlmConfig llm;
  std::optional<llm::Client> client;
  kb::RuleSet rules;
  kb::KnowledgeBase kbase;
  int proposals = 0;
  std::vector<agent::Task> kernels;  // proposed first: one per CUDA extension with an oracle
};

// The kernel tasks (issue 17 item 3): the recipe cuda-extension-port's contract for each CUDA
// extension whose reference kcat found. The loop judges them like any proposal: the output against
// the reference dump (the fallback's, the baseline), then the A/B decision: kept only when it
// matches and is faster.
std::vector<agent::Task> kernel_tasks(const fs::path& root, const kb::RecipeSet& recipes,
                                      const optimize::Options& o) {
  std::vector<agent::Task> out;
  const auto* recipe = recipes.find("cuda-extension-port");
  if (!recipe || recipe->task.empty()) return out;
  for (const auto& e : plan::find_cuda_extensions(root)) {
    auto text = plan::kernel_task(e, recipe->task);
    if (text.empty()) continue;
    agent::Task t;
    t.id = "kernel-" + e.name;
    t.title = "Port the kernels of CUDA extension " + e.name + " to the NPU";
    t.rationale = fmt::format(
        "{}\n\nkcat builds, benchmarks and compares the output with the reference's after you finish "
        "(reverted when it differs or is not faster beyond the noise); call finish_step with status done and "
        "a one-line title, or needs-person with the reason.\nBuild: {}\nBenchmark: {}",
        text, o.build_command.empty() ? "(none)" : o.build_command, o.bench.command);
    t.check_findings = false;  // the CUDA path stays: its findings are not the check, the loop is
    out.push_back(std::move(t));
  }
  return out;
}

agent::Task proposal_task(const Proposer& p, const optimize::Options& o, const OptimizeOverrides& ov,
                          const optimize::Outcome& so_far) {
  std::string history;
  for (const auto& it : so_far.iterations) {
    history += fmt::format("- {} {}: {}{}\n", it.recipe.empty() ? it.title : it.recipe, it.outcome, it.reason,
                           it.stats ? fmt::format(" ({:.2f} {})", it.stats->median, so_far.unit) : "");
  }
  agent::Task task;
  task.id = fmt::format("optimize-llm-{}", p.proposals);
  task.title = fmt::format("Raise the benchmark's {} from {:.2f} to the target {:.2f}", so_far.unit,
                           so_far.best ? so_far.best->median : 0.0, so_far.target.value_or(0));
  task.rationale = fmt::format(
      "kcat's performance recipes are exhausted. Make ONE focused change that should make the benchmark "
      "faster "
      "on the NPU without changing its output (kcat builds, benchmarks and checks the output after you "
      "finish, "
      "and reverts the change if it is not faster beyond the noise), then call finish_step with status "
      "done "
      "and a one-line title of the change. If you see no promising change, finish as needs-person.\n"
      "Build: {}\nBenchmark: {}\nWhat was tried:\n{}{}",
      o.build_command.empty() ? "(none)" : o.build_command, o.bench.command, history,
      ov.profile_text.empty() ? "" : "Profile:\n" + ov.profile_text);
  task.check_findings = false;
  return task;
}

void use_llm(Proposer& p, patch::GitRepo& repo, const cli::Config& config, const OptimizeOverrides& ov,
             optimize::Options& o, const std::string& run_id, report::Ledger& ledger) {
  if (!ov.use_llm) return;
  p.llm = config.llm;
  if (!p.llm.configured()) return;
  if (!p.llm.api_key.empty()) ledger.add_secret(p.llm.api_key);
  p.client.emplace(p.llm);
  p.rules = cli::load_rule_catalog({});
  p.kbase = cli::load_knowledge_base();
  p.kernels = kernel_tasks(repo.workdir(), load_recipe_set(repo.workdir(), config), o);
  o.propose = [&p, &repo, &config, &ov, &o, run_id,
               &ledger](const optimize::Outcome& so_far) -> std::optional<optimize::Proposal> {
    if (p.proposals >= ov.max_proposals || p.client->tripped()) return std::nullopt;
    ++p.proposals;
    auto index = static_cast<size_t>(p.proposals - 1);
    auto task = index < p.kernels.size() ? p.kernels[index] : proposal_task(p, o, ov, so_far);
    auto ao = agent_options(p.llm, o.build_command, o.bench.command, config, repo.workdir(), run_id, ledger);
    ao.upstream = o.upstream;
    auto res = agent::run(*p.client, repo, {task}, p.rules, p.kbase, ao);
    const auto& st = res.steps.at(0);
    if (res.llm_failed || st.status != "done" || st.commits.empty()) {
      ledger.append("optimize.llm-stopped", {{"reason", st.reason}});
      return std::nullopt;
    }
    return optimize::Proposal{task.id, st.reason.empty() ? "a change proposed by the LLM" : st.reason};
  };
}

}  // namespace

kb::RecipeSet load_recipe_set(const fs::path& root, const cli::Config& config) {
  auto recipes = kb::load_recipes(kb::default_data_dir() / "recipes");
  for (const auto& dir : config.optimize.recipe_dirs)
    kb::merge_recipes(recipes, kb::load_recipes(root / dir));
  return recipes;
}

bool optimize_configured(const cli::Config& config, const OptimizeOverrides& o) {
  return !o.bench_command.empty() || !config.bench.command.empty();
}

optimize::Options optimize_options(const fs::path& root, const cli::Config& config,
                                   const OptimizeOverrides& ov, const std::string& run_id,
                                   report::Ledger& ledger) {
  optimize::Options o;
  o.build_command = ov.build_command.empty() ? config.build_command : ov.build_command;
  o.build_timeout = std::chrono::milliseconds(static_cast<long>(config.build_timeout_s * 1000));
  bench_settings(o, config, ov, root);
  loop_settings(o, config, ov, root);
  o.run_id = run_id;
  o.upstream = ov.upstream;
  o.hook = [&config, &ledger, root, run_id](const std::string& stage, const std::string& detail) {
    return cli::run_hook(config, stage, root, {{"KCAT_RUN", run_id}, {"KCAT_DETAIL", detail}}, &ledger);
  };
  o.record = [&ledger](const std::string& type, const nlohmann::json& j) { ledger.append(type, j); };
  o.cancelled = [] { return cancel::requested(); };
  o.on_iteration = [progress = ov.progress, unit = o.bench.unit](const optimize::Iteration& it) {
    events::emit("optimize-iteration", {{"index", it.index},
                                        {"recipe", it.recipe},
                                        {"outcome", it.outcome},
                                        {"median", it.stats ? it.stats->median : 0.0}});
    if (progress) progress(iteration_line(it, unit));
  };
  return o;
}

void record_iterations(const optimize::Outcome& out, bool with_reference, report::RunReport& rep) {
  rep.metric_unit = out.unit;
  if (out.baseline) rep.baseline = out.baseline->median;
  rep.target_metric = out.target;
  rep.iterations.clear();
  for (const auto& it : out.iterations) {
    if (it.index == 0) continue;
    report::Iteration ri;
    ri.n = it.index;
    ri.change = it.recipe;
    ri.metric = it.stats ? it.stats->median : 0;
    ri.cv = it.stats ? it.stats->cv : 0;
    ri.runs = it.stats ? static_cast<int>(it.stats->n) : 0;
    ri.kept = it.outcome == "kept";
    ri.reason = it.reason;
    ri.commit = it.commit;
    rep.iterations.push_back(ri);
    report::StepRecord step;
    step.id = fmt::format("optimize-{}", it.index);
    step.title = it.title;
    step.action = "recipe";
    step.status = it.outcome == "kept" ? "done" : it.outcome == "reverted" ? "skipped" : "failed";
    step.reason = it.reason;
    step.commit = it.outcome == "kept" ? it.commit : "";
    step.diff = it.diff;
    step.checks = {"build", "bench"};
    if (with_reference) step.checks.push_back("compare");
    rep.steps.push_back(step);
  }
}

optimize::Outcome optimize_phase(patch::GitRepo& repo, const cli::Config& config, const OptimizeOverrides& ov,
                                 const std::vector<Finding>& findings, const std::string& run_id,
                                 report::Ledger& ledger, report::RunReport& rep) {
  auto root = repo.workdir();
  auto o = optimize_options(root, config, ov, run_id, ledger);
  auto recipes = load_recipe_set(root, config);
  ledger.append("optimize-started", {{"build", o.build_command},
                                     {"bench", o.bench.command},
                                     {"recipes", recipes.recipes.size()},
                                     {"max_iterations", o.max_iterations}});
  Machine machine;
  use_host(machine, repo, config, ov, o, ledger);
  Proposer proposer;
  use_llm(proposer, repo, config, ov, o, run_id, ledger);
  auto out = optimize::run(repo, recipes, findings, o, *machine.runner);
  // Kept commits were amended with their Kcat-Metric: the host ends on exactly the branch's head.
  if (o.before_build) o.before_build();
  record_iterations(out, o.reference.has_value(), rep);
  return out;
}

}  // namespace kcat::migrate
