// The optimize loop (see optimize.h).
#include "kcat/optimize/optimize.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "kcat/bench/tensors.h"
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
          {"expected_gain", it.expected_gain}};
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
    for (const auto* r : order(recipes, findings)) {
      if (stop()) break;
      try_recipe(*r);
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
    if (out_.stop_reason.empty()) out_.stop_reason = out_.target_met ? "target met" : "recipes exhausted";
    record("optimize.stop", {{"reason", out_.stop_reason},
                             {"target_met", out_.target_met},
                             {"best", stats_json(out_.best)},
                             {"baseline", stats_json(out_.baseline)}});
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
    if (r.ok()) return "";
    return fmt::format("the build failed ({}): {}", r.describe(), tail(r.err.empty() ? r.out : r.err, 6));
  }

  bench::Result measure() {
    auto spec = o_.bench;
    spec.cwd = workdir_;
    spec.env = env();
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

  std::filesystem::path output_path() const {
    auto path = o_.reference->output.is_absolute() ? o_.reference->output : workdir_ / o_.reference->output;
    return o_.fetch_output ? o_.fetch_output(path) : path;
  }

  // "" when the output matches the reference (or there is none to check).
  std::string check_output() {
    if (!o_.reference) return "";
    auto out_file = output_path();
    std::error_code ec;
    if (!std::filesystem::exists(out_file, ec))
      return "the benchmark wrote no output dump at " + out_file.string();
    auto diffs = bench::compare(bench::load_tensors(reference_file_), bench::load_tensors(out_file),
                                o_.reference->rtol, o_.reference->atol);
    for (const auto& d : diffs) {
      if (d.within) continue;
      if (!d.problem.empty())
        return fmt::format("the output differs from the reference: {}: {}", d.name, d.problem);
      return fmt::format(
          "the output differs from the reference: {} has {} elements outside rtol {} / atol {} "
          "(max abs error {:.3g} at index {}: {:.6g} vs {:.6g})",
          d.name, d.mismatches, o_.reference->rtol, o_.reference->atol, d.max_abs, d.worst_index, d.worst_out,
          d.worst_ref);
    }
    return "";
  }

  void baseline() {
    if (auto why = build(); !why.empty()) {
      throw Error(ErrorKind::Environment, "the baseline does not build: " + why, o_.build_command,
                  "fix the build command (kcat.toml [build] command) before optimizing");
    }
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
    update_target();
  }

  void update_target() {
    if (out_.target && out_.best) out_.target_met = out_.best->median >= *out_.target;
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

  void try_recipe(const kb::Recipe& r) {
    auto p = recipe_patch(r, root_, *findings_);
    if (p.edits.empty()) {
      out_.not_applicable.push_back(r.id + ": already applied (nothing left to change)");
      return;
    }
    ++tries_;
    Iteration it;
    it.index = tries_;
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
    g.author_name = o_.author_name;
    g.author_email = o_.author_email;
    patch::GateOutcome gate;
    try {
      gate = patch::apply_verify_commit(repo_, p, g);
    } catch (const Error& e) {
      it.outcome = "failed";
      it.reason = "the change could not be applied: " + std::string(e.what());
      finish(it);
      return;
    }
    it.diff = gate.diff;
    if (!gate.committed) {
      it.outcome = "failed";
      it.reason = "verification refused the change: " + gate.reason;
      finish(it);
      return;
    }
    it.commit = gate.commit;
    evaluate(it, before);
  }

  // The change of `it` is committed on top of `before`: build, bench, check, keep or revert.
  void evaluate(Iteration& it, const std::string& before) {
    auto revert = [&](std::string why) {
      repo_.reset_hard(before);
      it.outcome = "reverted";
      it.reason = std::move(why);
      finish(it);
    };
    if (auto why = build(); !why.empty()) return revert(why);
    if (auto v = veto("after_build", it.recipe)) return revert("the after_build hook vetoed it: " + *v);
    auto res = measure();
    if (!res.stats) return revert("the benchmark produced no number: " + res.failure);
    it.stats = res.stats;
    it.speedup = res.stats->median / out_.baseline->median;
    if (auto v = veto("after_bench", metric_text(*res.stats, out_.unit))) {
      return revert("the after_bench hook vetoed it: " + *v);
    }
    // A wrong answer is rejected whatever its speed: a port that is fast and wrong is not a port.
    if (auto wrong = check_output(); !wrong.empty()) return revert(wrong);
    const double noise = std::max(o_.min_gain, out_.best->cv + res.stats->cv);
    const double needed = out_.best->median * (1 + noise);
    if (res.stats->median < needed) {
      return revert(fmt::format("{} is not above the best so far, {}, by more than the noise ({:.1f}%)",
                                metric_text(*res.stats, out_.unit), metric_text(*out_.best, out_.unit),
                                noise * 100));
    }
    it.commit = repo_.add_trailers_to_head({{"Kcat-Metric", metric_text(*res.stats, out_.unit)}});
    it.outcome = "kept";
    it.reason = fmt::format("{:.2f}x the best so far ({:.2f}x the baseline)",
                            res.stats->median / out_.best->median, it.speedup);
    out_.best = res.stats;
    update_target();
    finish(it);
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
  if (o.baseline && o.best && o.baseline->median != 0) j["speedup"] = o.best->median / o.baseline->median;
  return j;
}

std::string render_markdown(const Outcome& o) {
  std::string md = "## Optimization\n\n";
  if (o.baseline && o.best) {
    md += fmt::format("Baseline {:.2f} {}, best {:.2f} {} ({:.2f}x)", o.baseline->median, o.unit,
                      o.best->median, o.unit,
                      o.baseline->median != 0 ? o.best->median / o.baseline->median : 0.0);
    if (o.target)
      md += fmt::format(", target {:.2f} {}: {}", *o.target, o.unit, o.target_met ? "met" : "missed");
    md += fmt::format(". Stopped: {}.\n\n", o.stop_reason);
  }
  md += "| # | change | result | metric | vs baseline | why |\n|---|---|---|---|---|---|\n";
  for (const auto& it : o.iterations) {
    std::string reason = it.reason;
    std::replace(reason.begin(), reason.end(), '\n', ' ');
    std::replace(reason.begin(), reason.end(), '|', '/');
    md += fmt::format("| {} | {} | {} | {} | {} | {} |\n", it.index, it.recipe.empty() ? it.title : it.recipe,
                      it.outcome, it.stats ? fmt::format("{:.2f}", it.stats->median) : "-",
                      it.stats ? fmt::format("{:.2f}x", it.speedup) : "-", reason);
  }
  if (!o.not_applicable.empty()) {
    md += "\nNot tried:\n";
    for (const auto& n : o.not_applicable) md += "- " + n + "\n";
  }
  return md;
}

}  // namespace kcat::optimize
