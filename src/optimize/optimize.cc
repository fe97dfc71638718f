// The optimize loop (see optimize.h).
#include "kcat/optimize/optimize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "kcat/bench/tensors.h"
#include "kcat/core/cancel.h"
#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/patch/gate.h"

namespace kcat::optimize {
namespace {

using Clock = std::chrono::steady_clock;

std::string tail(const std::string& s, size_t lines = 12) {
  if (s.empty()) return s;  // a build that timed out silently: substr(1) below would throw
  size_t pos = s.size();
  for (size_t n = 0; n < lines && pos > 0; ++n) {
    pos = s.rfind('\n', pos - 1);
    if (pos == std::string::npos) return s;
  }
  return s.substr(pos + 1);
}

std::string metric_text(const bench::Stats& s, const std::string& unit) {
  return fmt::format("{:.2f}{}{} (median of {})", s.median, unit.empty() ? "" : " ", unit, s.n);
}

nlohmann::json stats_json(const std::optional<bench::Stats>& s) {
  if (!s) return nullptr;
  return {{"median", s->median}, {"min", s->min}, {"max", s->max}, {"cv", s->cv}, {"n", s->n}};
}

nlohmann::json iteration_json(const Iteration& it) {
  return {{"index", it.index},
          {"recipe", it.recipe},
          {"title", it.title},
          {"outcome", it.outcome},
          {"reason", it.reason},
          {"commit", it.commit},
          {"stats", stats_json(it.stats)},
          {"speedup", it.speedup},
          {"expected_gain", it.expected_gain},
          {"decision", it.decision ? to_json(*it.decision) : nlohmann::json(nullptr)},
          {"retry", it.retry}};
}

nlohmann::json check_json(const Check& c) {
  return {{"kind", c.kind},
          {"recipe", c.recipe},
          {"commit", c.commit},
          {"finding", c.finding},
          {"decision", to_json(c.decision)}};
}

bench::RunResult run_failure(std::string why) {
  bench::RunResult r;
  r.failure = std::move(why);
  return r;
}

class Loop {
 public:
  Loop(patch::GitRepo& repo, const Options& o, exec::Runner& runner)
      : repo_(repo),
        o_(o),
        runner_(runner),
        root_(repo.workdir()),
        workdir_(o.bench.cwd.empty() ? root_ : o.bench.cwd),
        start_(Clock::now()) {}

  Outcome run(const kb::RecipeSet& recipes, const std::vector<Finding>& findings) {
    out_.unit = o_.bench.unit;
    baseline();
    findings_ = &findings;
    // The recipes in order; after a keep, those reverted so far (slower, or not clearly faster)
    // are queued once more: a change may pay only on top of another.
    std::vector<std::pair<const kb::Recipe*, bool>> queue;
    for (const auto* r : order(recipes, findings)) queue.push_back({r, false});
    for (size_t i = 0; i < queue.size(); ++i) {
      if (stop()) break;
      if (try_recipe(*queue[i].first, queue[i].second)) {
        for (const auto* r : retry_) queue.push_back({r, true});
        retry_.clear();
      }
    }
    // Recipes exhausted, target not met: the LLM proposes changes, judged the same way.
    while (o_.propose && out_.target && !stop()) {
      const auto before = repo_.head_id();
      auto proposal = o_.propose(out_);
      if (!proposal) break;
      ++tries_;
      Iteration it;
      it.index = tries_;
      it.recipe = proposal->id;
      it.title = proposal->title;
      it.commit = repo_.head_id();
      if (it.commit == before) {
        it.outcome = "failed";
        it.reason = "the proposal changed nothing: " + proposal->title;
        finish(it);
        continue;
      }
      it.diff = repo_.diff(before, it.commit);
      evaluate(it, before);
    }
    end_checks();
    if (out_.stop_reason.empty()) out_.stop_reason = out_.target_met ? "target met" : "recipes exhausted";
    record("optimize.stop",
           {{"reason", out_.stop_reason},
            {"target_met", out_.target_met},
            {"best", stats_json(out_.best)},
            {"baseline", stats_json(out_.baseline)},
            {"speedup", out_.speedup ? nlohmann::json(*out_.speedup) : nlohmann::json(nullptr)}});
    return std::move(out_);
  }

 private:
  void record(const std::string& type, const nlohmann::json& j) {
    if (o_.record) o_.record(type, j);
  }

  std::map<std::string, std::string> env() const {
    auto env = o_.bench.env;
    for (auto& [k, v] : read_env_file(root_)) env[k] = v;
    return env;
  }

  // "" when the build passed; else why not.
  std::string build() {
    if (o_.before_build) o_.before_build();
    if (o_.build_command.empty()) return "";
    exec::Command c;
    c.shell = o_.build_command;
    c.cwd = workdir_;
    c.env = env();
    c.timeout = o_.build_timeout;
    if (auto left = budget_left(); left && (c.timeout.count() == 0 || *left < c.timeout)) c.timeout = *left;
    auto r = runner_.run(c);
    record("optimize.build",
           {{"command", o_.build_command}, {"result", r.describe()}, {"elapsed_ms", r.elapsed.count()}});
    // A signal stopped the build (and its processes): not the change's fault.
    if (r.cancelled && o_.cancelled && o_.cancelled())
      throw cancel::Interrupted("the build stopped, its processes with it");
    if (r.ok()) return "";
    return fmt::format("the build failed ({}): {}", r.describe(), tail(r.err.empty() ? r.out : r.err, 6));
  }

  bench::Result measure() {
    auto spec = o_.bench;
    spec.cwd = workdir_;
    spec.env = env();
    spec.cancelled = o_.cancelled;  // a signal stops the run in progress and its processes
    if (o_.max_minutes > 0) spec.deadline = deadline();
    auto r = bench::run(spec, runner_);
    record("optimize.bench",
           {{"command", spec.command}, {"stats", stats_json(r.stats)}, {"failure", r.failure}});
    return r;
  }

  // --max-minutes reaches the commands too: a build or bench run that would outlive it is stopped.
  Clock::time_point deadline() const {
    return start_ + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double, std::ratio<60>>(o_.max_minutes));
  }
  std::optional<std::chrono::milliseconds> budget_left() const {
    if (o_.max_minutes <= 0) return std::nullopt;
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline() - Clock::now()));
  }

  std::optional<std::string> veto(const std::string& stage, const std::string& detail) {
    if (!o_.hook) return std::nullopt;
    return o_.hook(stage, detail);
  }

  // Where the bench command writes its dump (on the host, when it runs there).
  std::filesystem::path dump_path() const {
    return o_.reference->output.is_absolute() ? o_.reference->output : workdir_ / o_.reference->output;
  }
  std::filesystem::path output_path() const {
    auto path = dump_path();
    return o_.fetch_output ? o_.fetch_output(path) : path;
  }
  // Before every run: a run that writes no dump must not be judged by the file an earlier run left.
  void remove_dump() {
    if (!o_.reference) return;
    exec::Command c;
    c.argv = {"rm", "-f", "--", dump_path().string()};
    c.cwd = workdir_;
    runner_.run(c);
  }

  // "" when the output matches the reference (or there is none to check). A tensor whose dtype
  // has a floor in dtype_floor is compared at the larger of that and rtol/atol.
  std::string check_output() {
    if (!o_.reference) return "";
    std::filesystem::path out_file;
    try {
      out_file = output_path();
    } catch (const Error& e) {
      return std::string("the benchmark's output dump could not be read: ") + e.what();
    }
    std::error_code ec;
    if (!std::filesystem::exists(out_file, ec))
      return "the benchmark wrote no output dump at " + out_file.string();
    std::map<std::string, bench::Tensor> ref, out;
    try {
      ref = bench::load_tensors(reference_file_);
      out = bench::load_tensors(out_file);
    } catch (const Error& e) {
      return std::string("the output dump does not load: ") + e.what();
    }
    const auto& rf = *o_.reference;
    for (const auto& d : bench::compare(ref, out, rf.rtol, rf.atol, rf.dtype_floor)) {
      // the tolerances it was compared at (compare's per-dtype rule), for the message
      double rtol = rf.rtol, atol = rf.atol;
      auto r = ref.find(d.name);
      auto floor = r == ref.end() ? rf.dtype_floor.end() : rf.dtype_floor.find(r->second.dtype);
      if (d.problem.empty() && floor != rf.dtype_floor.end()) {
        rtol = std::max(rtol, floor->second.first);
        atol = std::max(atol, floor->second.second);
      }
      if (d.within) continue;
      if (!d.problem.empty())
        return fmt::format("the output differs from the reference: {}: {}", d.name, d.problem);
      return fmt::format(
          "the output differs from the reference: {} has {} elements outside rtol {} / atol {} "
          "(max abs error {:.3g} at index {}: {:.6g} vs {:.6g})",
          d.name, d.mismatches, rtol, atol, d.max_abs, d.worst_index, d.worst_out, d.worst_ref);
    }
    return "";
  }

  void baseline() {
    if (auto why = build(); !why.empty()) {
      throw Error(ErrorKind::Environment, "the baseline does not build: " + why, o_.build_command,
                  "fix the build command (kcat.toml [build] command) before optimizing");
    }
    baseline_commit_ = repo_.head_id();
    remove_dump();
    auto r = measure();
    if (!r.stats) {
      throw Error(ErrorKind::Environment, "the baseline benchmark produced no number: " + r.failure,
                  o_.bench.command, "run the bench command by hand; check [bench] metric against its output");
    }
    out_.baseline = out_.best = r.stats;
    if (o_.target) {
      out_.target = o_.target;
    } else if (o_.target_speedup > 0) {
      out_.target = r.stats->median * o_.target_speedup;
    }
    if (o_.reference) {
      reference_file_ = o_.reference->reference;
      if (reference_file_.empty()) {
        // The unoptimized program's output is the truth every faster version must reproduce.
        auto produced = output_path();
        std::error_code ec;
        if (!std::filesystem::exists(produced, ec)) {
          throw Error(ErrorKind::Environment, "the baseline benchmark wrote no output dump",
                      produced.string(),
                      "make the bench command write its output (--dump) or drop [optimize] output");
        }
        auto dir = root_ / ".kcat" / "optimize";
        std::filesystem::create_directories(dir);
        reference_file_ = dir / ("reference" + produced.extension().string());
        std::filesystem::copy_file(produced, reference_file_,
                                   std::filesystem::copy_options::overwrite_existing);
      }
    }
    Iteration it;
    it.outcome = "baseline";
    it.title = "baseline";
    it.stats = r.stats;
    it.speedup = 1.0;
    it.commit = repo_.head_id();
    it.reason = "measured before any change";
    finish(it);
  }

  // The target as a multiple of the baseline's median.
  std::optional<double> target_ratio() const {
    if (!out_.target || !out_.baseline || out_.baseline->median <= 0) return std::nullopt;
    return *out_.target / out_.baseline->median;
  }

  // After a keep: when the kept ratios say the target is reached, the branch is measured against
  // the baseline itself before the target is claimed; claimed when the interval's low end reaches it.
  void update_target() {
    auto want = target_ratio();
    if (!want || best_ratio_ < *want) return;
    const auto& c = final_check();
    out_.target_met = shows_target(c.decision, *want);
  }

  // A final A/B shows the target when no run failed and its interval's low end reaches it.
  static bool shows_target(const Decision& d, double want) {
    return d.verdict != "failed" && d.pairs > 0 && d.low >= want;
  }

  const Check& final_check() {
    Check c;
    c.kind = "final";
    c.commit = repo_.head_id();
    // The question is the target: the pairs go on until the interval is clearly above it or below
    // it (or the pairs are spent), not only until the branch clearly beats the baseline (a 2.2x
    // branch stopped at 8 pairs with [1.24x, 4.28x] and "the target (1.50x) is not shown").
    auto want = target_ratio();
    c.decision = pairwise(baseline_commit_, c.commit, true,
                          want && *want - 1 > o_.min_gain ? std::optional<double>(*want - 1) : std::nullopt);
    go_to(c.commit);
    if (c.decision.pairs > 0) {
      out_.speedup = c.decision.ratio;
      best_ratio_ = c.decision.ratio;
    }
    c.finding = c.decision.verdict == "failed"
                    ? "the branch failed against the baseline: " + c.decision.reason
                    : fmt::format("the branch against the baseline: {}", c.decision.evidence());
    if (want) {
      c.finding += shows_target(c.decision, *want)
                       ? fmt::format("; the target ({:.2f}x) is met", *want)
                       : fmt::format("; the target ({:.2f}x) is not shown", *want);
    }
    record("optimize.check", check_json(c));
    out_.checks.push_back(std::move(c));
    return out_.checks.back();
  }

  // At the end: each kept change left out once (when two or more were kept: a change kept early
  // may have stopped paying once a later one landed), then the branch against the baseline unless
  // that was just measured.
  void end_checks() {
    if (out_.stop_reason == "cancelled" || out_.stop_reason == "time budget") return;
    const auto head = repo_.head_id();
    if (o_.leave_one_out && kept_.size() >= 2) {
      for (size_t i = 0; i < kept_.size(); ++i) {
        if (out_of_time()) break;
        const auto& recipe = kept_[i].id;
        auto base = without(i);
        if (!base) {
          go_to(head);
          continue;
        }
        Check c;
        c.kind = "leave-one-out";
        c.recipe = recipe;
        c.commit = kept_[i].commit;
        c.decision = pairwise(*base, head, true);
        go_to(head);
        c.finding = c.decision.kept()
                        ? fmt::format("{} still pays on the final branch: {}", recipe, c.decision.evidence())
                        : fmt::format("{} shows no clear gain on the final branch ({}): consider dropping it",
                                      recipe, c.decision.reason);
        record("optimize.check", check_json(c));
        out_.checks.push_back(std::move(c));
      }
      if (built_ != head && build().empty()) built_ = head;  // the work tree and the host hold the branch
    }
    if (kept_.empty() || out_of_time()) return;
    auto measured = std::find_if(out_.checks.begin(), out_.checks.end(),
                                 [&](const Check& c) { return c.kind == "final" && c.commit == head; });
    if (measured == out_.checks.end()) {
      final_check();
      if (auto want = target_ratio()) out_.target_met = shows_target(out_.checks.back().decision, *want);
    }
  }

  // The branch without one kept change: the baseline with the other kept changes made again in
  // order (a recipe applied afresh, a proposal's commit cherry-picked), as throwaway commits the
  // caller resets away. nullopt (and a record) when one does not apply without it.
  std::optional<std::string> without(size_t left_out) {
    repo_.reset_hard(baseline_commit_);
    built_.clear();
    auto local = exec::local_runner();
    try {
      for (size_t j = 0; j < kept_.size(); ++j) {
        if (j == left_out) continue;
        const auto& k = kept_[j];
        if (k.recipe) {
          auto p = recipe_patch(*k.recipe, root_, *findings_);
          if (p.edits.empty()) continue;
          patch::GateOptions g;
          g.message = "optimize: leave-one-out check (" + kept_[left_out].id + " left out): " + k.id;
          g.author_name = o_.author_name;
          g.author_email = o_.author_email;
          auto gate = patch::apply_verify_commit(repo_, p, g);
          if (!gate.committed) throw Error(ErrorKind::Internal, k.id + " does not apply: " + gate.reason);
          continue;
        }
        exec::Command c;
        c.argv = {"git",
                  "-c",
                  "user.name=" + o_.author_name,
                  "-c",
                  "user.email=" + o_.author_email,
                  "cherry-pick",
                  "--allow-empty",
                  k.from + ".." + k.commit};
        c.cwd = root_;
        auto r = local->run(c);
        if (!r.ok()) {
          exec::Command abort;
          abort.argv = {"git", "cherry-pick", "--abort"};
          abort.cwd = root_;
          local->run(abort);
          throw Error(ErrorKind::Internal, k.id + " does not apply: " + r.describe());
        }
      }
    } catch (const Error& e) {
      record("optimize.check",
             {{"kind", "leave-one-out"}, {"recipe", kept_[left_out].id}, {"failure", e.what()}});
      return std::nullopt;
    }
    return repo_.head_id();
  }

  // The branch at `commit` (the work tree as it was committed; built again when next measured).
  void go_to(const std::string& commit) {
    if (repo_.head_id() == commit) return;
    repo_.reset_hard(commit);
    built_.clear();
  }

  bool out_of_time() const {
    if (o_.cancelled && o_.cancelled()) return true;
    return o_.max_minutes > 0 &&
           std::chrono::duration<double, std::ratio<60>>(Clock::now() - start_).count() >= o_.max_minutes;
  }

  // One benchmark run of `commit`: checked out and built when it is not already, warmed up the first
  // time in this decision (a warm-up that fails counts), its stale dump deleted, its number read,
  // and its output checked when `check` (every candidate run is).
  bench::RunResult run_side(const std::string& commit, bool check, std::set<std::string>& warmed) {
    go_to(commit);
    if (built_ != commit) {
      if (auto why = build(); !why.empty()) return run_failure(why);
      built_ = commit;
    }
    auto spec = o_.bench;
    spec.cwd = workdir_;
    spec.env = env();
    spec.cancelled = o_.cancelled;  // a signal stops the run in progress and its processes
    if (o_.max_minutes > 0) spec.deadline = deadline();
    spec.warmup = 0;
    spec.runs = spec.max_runs = 1;
    auto once = [&](const char* what) {
      remove_dump();
      auto r = bench::run(spec, runner_);
      record("optimize.bench",
             {{"command", spec.command},
              {"commit", commit},
              {"run", what},
              {"value", r.stats ? nlohmann::json(r.stats->median) : nlohmann::json(nullptr)},
              {"failure", r.failure}});
      if (!r.stats) return run_failure(r.runs.empty() ? r.failure : r.runs.back().failure);
      bench::RunResult out;
      out.value = r.stats->median;
      if (check) {
        if (auto wrong = check_output(); !wrong.empty()) return run_failure(wrong);
      }
      return out;
    };
    if (warmed.insert(commit).second) {
      for (int i = 0; i < o_.bench.warmup; ++i) {
        auto w = once("warm-up");
        if (!w.value) return run_failure("the warm-up run failed: " + w.failure);
      }
    }
    return once("measured");
  }

  // Decides `candidate` against `base`, measured interleaved (decide.h).
  // `min_gain`: the gain the candidate must clearly show (default: [optimize] min_gain).
  Decision pairwise(const std::string& base, const std::string& candidate, bool check_candidate,
                    std::optional<double> min_gain = std::nullopt) {
    DecideOptions d;
    d.min_gain = min_gain.value_or(o_.min_gain);
    d.min_pairs = o_.min_pairs;
    d.max_pairs = std::max(o_.max_pairs, o_.min_pairs);
    std::set<std::string> warmed;
    return decide(
        [&](Side s) {
          return s == Side::baseline ? run_side(base, false, warmed)
                                     : run_side(candidate, check_candidate, warmed);
        },
        d, [&] { return out_of_time(); });
  }

  bool stop() {
    if (out_.target_met) {
      out_.stop_reason = "target met";
      return true;
    }
    if (o_.cancelled && o_.cancelled()) {
      out_.stop_reason = "cancelled";
      return true;
    }
    if (tries_ >= o_.max_iterations) {
      out_.stop_reason = "max iterations";
      return true;
    }
    if (o_.max_minutes > 0 &&
        std::chrono::duration<double, std::ratio<60>>(Clock::now() - start_).count() >= o_.max_minutes) {
      out_.stop_reason = "time budget";
      return true;
    }
    return false;
  }

  std::vector<const kb::Recipe*> order(const kb::RecipeSet& recipes, const std::vector<Finding>& findings) {
    std::vector<const kb::Recipe*> out;
    for (const auto* r : recipes.by_gain("performance")) {
      if (!o_.only.empty() && std::find(o_.only.begin(), o_.only.end(), r->id) == o_.only.end()) continue;
      auto why = why_not_applicable(*r, root_, findings);
      if (!why.empty()) {
        out_.not_applicable.push_back(r->id + ": " + why);
        continue;
      }
      out.push_back(r);
    }
    auto rank = [&](const kb::Recipe* r) {
      auto it = std::find(o_.prefer.begin(), o_.prefer.end(), r->id);
      return it == o_.prefer.end() ? o_.prefer.size() : static_cast<size_t>(it - o_.prefer.begin());
    };
    std::stable_sort(out.begin(), out.end(), [&](auto* a, auto* b) { return rank(a) < rank(b); });
    return out;
  }

  // True when the change is kept.
  bool try_recipe(const kb::Recipe& r, bool retry) {
    auto p = recipe_patch(r, root_, *findings_);
    if (p.edits.empty()) {
      out_.not_applicable.push_back(r.id + ": already applied (nothing left to change)");
      return false;
    }
    ++tries_;
    Iteration it;
    it.index = tries_;
    it.retry = retry;
    it.recipe = r.id;
    it.title = r.title;
    it.expected_gain = r.expected_gain;
    const auto before = repo_.head_id();
    patch::GateOptions g;
    g.message = "optimize: " + r.title;
    if (!r.description.empty()) g.message += "\n\n" + r.description;
    g.message += "\n\nSource: " + r.source;
    g.trailers["Kcat-Recipe"] = r.id;
    if (!o_.run_id.empty()) g.trailers["Kcat-Run"] = o_.run_id;
    if (!o_.upstream.empty()) g.trailers["Kcat-Upstream"] = o_.upstream;
    g.author_name = o_.author_name;
    g.author_email = o_.author_email;
    patch::GateOutcome gate;
    try {
      gate = patch::apply_verify_commit(repo_, p, g);
    } catch (const Error& e) {
      it.outcome = "failed";
      it.reason = "the change could not be applied: " + std::string(e.what());
      finish(it);
      return false;
    }
    it.diff = gate.diff;
    if (!gate.committed) {
      it.outcome = "failed";
      it.reason = "verification refused the change: " + gate.reason;
      finish(it);
      return false;
    }
    it.commit = gate.commit;
    if (evaluate(it, before, &r)) return true;
    // Slower or not clearly faster (not broken): worth one more try once another change is kept.
    if (!retry && it.decision && (it.decision->verdict == "revert" || it.decision->verdict == "inconclusive"))
      retry_.push_back(&r);
    return false;
  }

  // The change of `it` is committed on top of `before`: build, then measure it interleaved with
  // `before` (every run's output checked), keep or revert on the interval. True when kept. A
  // signal during it (the build's or a benchmark's processes are stopped) rolls the change back
  // and ends the loop, the change not held against its recipe.
  bool evaluate(Iteration& it, const std::string& before, const kb::Recipe* recipe = nullptr) {
    try {
      return measure_and_decide(it, before, recipe);
    } catch (const cancel::Interrupted& e) {
      repo_.reset_hard(before);
      built_.clear();
      it.outcome = "reverted";
      it.decision.reset();
      it.reason = std::string("interrupted: ") + e.what() + "; the change was rolled back";
      out_.stop_reason = "cancelled";
      finish(it);
      return false;
    }
  }

  bool measure_and_decide(Iteration& it, const std::string& before, const kb::Recipe* recipe) {
    auto revert = [&](std::string why) {
      repo_.reset_hard(before);
      built_.clear();
      it.outcome = "reverted";
      it.reason = std::move(why);
      finish(it);
      return false;
    };
    const std::string candidate = it.commit;
    if (auto why = build(); !why.empty()) return revert(why);
    built_ = candidate;
    if (auto v = veto("after_build", it.recipe)) return revert("the after_build hook vetoed it: " + *v);
    it.decision = pairwise(before, candidate, true);
    const auto& d = *it.decision;
    if (!d.candidate.empty()) it.stats = bench::statistics(d.candidate);
    it.speedup = d.ratio > 0 ? best_ratio_ * d.ratio : 0;
    go_to(candidate);
    if (d.verdict == "failed") return revert("it failed: " + d.reason);
    if (it.stats) {
      if (auto v = veto("after_bench", metric_text(*it.stats, out_.unit) + ", " + d.evidence())) {
        return revert("the after_bench hook vetoed it: " + *v);
      }
    }
    if (!d.kept()) return revert(d.reason);
    it.commit = repo_.add_trailers_to_head(
        {{"Kcat-Metric", metric_text(*it.stats, out_.unit) + "; " + d.evidence() + " vs the best so far"}});
    it.outcome = "kept";
    it.reason = fmt::format("{:.2f}x the best so far ({:.2f}x the baseline, estimated): {}", d.ratio,
                            it.speedup, d.reason);
    best_ratio_ = it.speedup;
    out_.best = it.stats;
    kept_.push_back({it.recipe, it.commit, recipe, before});
    finish(it);
    if (built_ == candidate) built_ = it.commit;  // amending the message left the tree as built
    update_target();
    return true;
  }

  void finish(Iteration& it) {
    record("optimize.iteration", iteration_json(it));
    if (o_.on_iteration) o_.on_iteration(it);
    out_.iterations.push_back(it);
  }

  patch::GitRepo& repo_;
  const Options& o_;
  exec::Runner& runner_;
  std::filesystem::path root_;
  std::filesystem::path workdir_;  // where build and bench run: the repository, or the host's work tree
  Clock::time_point start_;
  Outcome out_;
  int tries_ = 0;
  std::filesystem::path reference_file_;
  const std::vector<Finding>* findings_ = nullptr;
  std::string baseline_commit_;
  std::string built_;                     // the commit the work tree (and the host) last built
  double best_ratio_ = 1.0;               // the branch's estimated speed-up over the baseline
  std::vector<const kb::Recipe*> retry_;  // reverted, to try once more after a keep
  struct Kept {
    std::string id, commit;
    const kb::Recipe* recipe = nullptr;  // null for a proposal: its commits are from..commit
    std::string from;
  };
  std::vector<Kept> kept_;  // in order
};

}  // namespace

Outcome run(patch::GitRepo& repo, const kb::RecipeSet& recipes, const std::vector<Finding>& findings,
            const Options& options, exec::Runner& runner) {
  if (options.bench.command.empty()) {
    throw Error(ErrorKind::Usage, "no benchmark command", "",
                "set [bench] command in kcat.toml or --bench-cmd");
  }
  return Loop(repo, options, runner).run(recipes, findings);
}

std::vector<std::string> prefer_from_profile(const bench::Summary& profile, const kb::RecipeSet& recipes) {
  // Share of device time per normalized operator type, of the top operators; each operator a
  // recipe addresses counts once.
  std::map<std::string, double> share;
  for (const auto& op : profile.top) share[bench::normalize_op_type(op.op_type)] += op.share;
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto* r : recipes.by_gain("performance")) {
    double s = 0;
    std::set<std::string> counted;
    for (const auto& a : r->addresses) {
      auto op = bench::normalize_op_type(a);
      auto it = share.find(op);
      if (it != share.end() && counted.insert(op).second) s += it->second;
    }
    if (s > 0) ranked.push_back({s, r->id});
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& [s, id] : ranked) out.push_back(id);
  return out;
}

nlohmann::json to_json(const Outcome& o) {
  nlohmann::json its = nlohmann::json::array();
  for (const auto& it : o.iterations) its.push_back(iteration_json(it));
  nlohmann::json j = {{"iterations", its},
                      {"baseline", stats_json(o.baseline)},
                      {"best", stats_json(o.best)},
                      {"target_met", o.target_met},
                      {"stop_reason", o.stop_reason},
                      {"not_applicable", o.not_applicable},
                      {"unit", o.unit}};
  j["target"] = o.target ? nlohmann::json(*o.target) : nlohmann::json(nullptr);
  // The speed-up: by the final A/B against the baseline when there was one, else the medians'.
  if (o.speedup)
    j["speedup"] = *o.speedup;
  else if (o.baseline && o.best && o.baseline->median != 0)
    j["speedup"] = o.best->median / o.baseline->median;
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : o.checks) checks.push_back(check_json(c));
  j["checks"] = checks;
  return j;
}

std::string render_markdown(const Outcome& o) {
  std::string md = "## Optimization\n\n";
  if (o.baseline && o.best) {
    md += fmt::format("Baseline {:.2f} {}, best {:.2f} {} ({:.2f}x{})", o.baseline->median, o.unit,
                      o.best->median, o.unit,
                      o.speedup                 ? *o.speedup
                      : o.baseline->median != 0 ? o.best->median / o.baseline->median
                                                : 0.0,
                      o.speedup ? ", by the final A/B against the baseline" : "");
    if (o.target)
      md += fmt::format(", target {:.2f} {}: {}", *o.target, o.unit, o.target_met ? "met" : "missed");
    md += fmt::format(". Stopped: {}.\n\n", o.stop_reason);
  }
  md +=
      "| # | change | result | metric | vs baseline | evidence (ratio to the best so far [interval], runs) | "
      "why |\n"
      "|---|---|---|---|---|---|---|\n";
  for (const auto& it : o.iterations) {
    std::string reason = it.reason;
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    std::replace(reason.begin(), reason.end(), '|', '/');
    std::string result = it.outcome;
    if (it.decision && it.decision->verdict != "keep" && it.decision->verdict != "revert")
      result += " (" + it.decision->verdict + ")";
    if (it.retry) result += ", second try";
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", it.index,
                      it.recipe.empty() ? it.title : it.recipe, result,
                      it.stats ? fmt::format("{:.2f}", it.stats->median) : "-",
                      it.stats ? fmt::format("{:.2f}x", it.speedup) : "-",
                      it.decision ? it.decision->evidence() : "-", reason);
  }
  if (!o.checks.empty()) {
    md += "\nChecks:\n";
    for (const auto& c : o.checks) md += "- " + c.kind + ": " + c.finding + "\n";
  }
  if (!o.not_applicable.empty()) {
    md += "\nNot tried:\n";
    for (const auto& n : o.not_applicable) md += "- " + n + "\n";
  }
  return md;
}

}  // namespace kcat::optimize
