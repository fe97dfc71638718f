// Routes in the plan: which known stacks fit the repository, and which one is the default.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/plan/plan.h"

namespace kcat::plan {
namespace {

// Files where a model's name or architecture appears: code, configs, docs, scripts.
bool searchable(const std::filesystem::path& p) {
  static const char* exts[] = {".py", ".md", ".txt", ".json", ".toml", ".yaml", ".yml", ".sh", ".cfg"};
  auto ext = p.extension().string();
  return std::any_of(std::begin(exts), std::end(exts), [&](const char* e) { return ext == e; });
}

// Calls f(rel, bytes) for each repository file `want` accepts that is readable and at most 2 MiB;
// stops when f returns false.
template <class Want, class F>
void each_file_text(const std::filesystem::path& root, Want&& want, F&& f) {
  for (const auto& rel : repository_files(root)) {
    auto path = root / rel;
    std::error_code ec;
    if (!want(path) || std::filesystem::file_size(path, ec) > (2u << 20)) continue;
    std::string bytes;
    try {
      bytes = read_file(path);
    } catch (const Error&) {
      continue;
    }
    if (!f(rel, bytes)) return;
  }
}

bool repo_contains_any(const std::filesystem::path& root, const std::vector<std::string>& texts) {
  bool found = false;
  each_file_text(root, searchable, [&](const std::string&, const std::string& bytes) {
    found =
        std::any_of(texts.begin(), texts.end(), [&](auto& t) { return bytes.find(t) != std::string::npos; });
    return !found;
  });
  return found;
}

// The folders the route replaces (kb::RouteReplaces): a folder below the root holding a Python file
// that defines the model, where some file registers it out of tree.
std::vector<std::string> replaced_folders(const std::filesystem::path& root, const kb::Route& route) {
  std::vector<std::string> out;
  if (!route.replaces) return out;
  std::set<std::string> folders, registering;  // folders defining the model; .py files registering it
  auto python = [](const std::filesystem::path& p) { return p.extension() == ".py"; };
  each_file_text(root, python, [&](const std::string& rel, const std::string& bytes) {
    auto folder = std::filesystem::path(rel).parent_path().generic_string();
    if (!folder.empty() && bytes.find(route.replaces->defines) != std::string::npos) folders.insert(folder);
    if (bytes.find(route.replaces->registers) != std::string::npos) registering.insert(rel);
    return true;
  });
  for (auto& folder : folders) {
    if (std::any_of(registering.begin(), registering.end(),
                    [&](auto& rel) { return rel.rfind(folder + "/", 0) == 0; }))
      out.push_back(folder);
  }
  return out;
}

// The agent's steps (Action::Llm) hold no site in a folder the route replaces: those sites move to
// one skipped step per phase that says why, so no model is asked to port code the route does not run.
void set_aside_moot(Plan& plan, const std::filesystem::path& root, const kb::Route& route) {
  auto folders = replaced_folders(root, route);
  if (folders.empty()) return;
  auto replaced = [&](const Finding& f) {
    return std::any_of(folders.begin(), folders.end(),
                       [&](auto& d) { return f.file.rfind(d + "/", 0) == 0; });
  };
  std::map<Phase, Step> moot;
  for (auto it = plan.steps.begin(); it != plan.steps.end();) {
    if (it->action != Action::Llm) {
      ++it;
      continue;
    }
    auto& fs = it->findings;
    auto cut = std::stable_partition(fs.begin(), fs.end(), [&](auto& f) { return !replaced(f); });
    auto& m = moot[it->phase];
    m.findings.insert(m.findings.end(), cut, fs.end());
    fs.erase(cut, fs.end());
    it = fs.empty() ? plan.steps.erase(it) : it + 1;
  }
  for (auto& [phase, m] : moot) {
    if (m.findings.empty()) continue;
    m.id = fmt::format("{}-moot", to_string(phase));
    m.phase = phase;
    m.action = Action::Manual;
    m.status = Status::Skipped;
    m.risk = "low";
    m.title = fmt::format("Not ported on route {}: {} site(s) in {}", route.id, m.findings.size(),
                          fmt::join(folders, ", "));
    m.status_reason = route.replaces->why + " Another route (--route) ports them.";
    m.rationale = m.status_reason;
    plan.steps.push_back(std::move(m));
  }
}

std::string stack_text(const kb::Route& r) {
  std::string out;
  for (const char* k :
       {"engine", "vllm", "vllm_ascend", "cann", "torch", "torch_npu", "python", "transformers"}) {
    auto it = r.stack.find(k);
    if (it != r.stack.end()) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", k, it->second);
  }
  return out;
}

// The routes that fit, the highest published throughput first; routes without a figure rank below.
std::vector<kb::Route> sorted_fit(const std::filesystem::path& root, const std::vector<kb::Route>& routes) {
  std::vector<kb::Route> fit;
  for (const auto& r : routes) {
    if (repo_contains_any(root, r.detect)) fit.push_back(r);
  }
  std::stable_sort(fit.begin(), fit.end(), [](const kb::Route& a, const kb::Route& b) {
    return a.expected_throughput.value_or(0) > b.expected_throughput.value_or(0);
  });
  return fit;
}

// Moves the chosen route first; throws Error(Usage) when it does not fit.
void choose(std::vector<kb::Route>& fit, const std::string& chosen, const std::filesystem::path& root) {
  if (chosen.empty()) return;
  auto it = std::find_if(fit.begin(), fit.end(), [&](auto& r) { return r.id == chosen; });
  if (it == fit.end()) {
    std::string ids;
    for (auto& r : fit) ids += (ids.empty() ? "" : ", ") + r.id;
    throw Error(ErrorKind::Usage, "unknown route '" + chosen + "'", root.string(),
                fit.empty() ? "no route in patches/routes fits this repository" : "routes that fit: " + ids);
  }
  std::rotate(fit.begin(), it, it + 1);
}

}  // namespace

std::vector<kb::Route> fitting_routes(const std::filesystem::path& root, const std::vector<kb::Route>& routes,
                                      const std::string& chosen) {
  auto fit = sorted_fit(root, routes);
  choose(fit, chosen, root);
  return fit;
}

std::optional<kb::Route> stack_route(const std::filesystem::path& root, const std::vector<kb::Route>& routes,
                                     const std::string& chosen, const std::string& cann_release) {
  for (auto& r : fitting_routes(root, routes, chosen)) {
    if (!chosen.empty() && r.id != chosen) break;  // the chosen route's stack, or none: not another's
    auto cann = r.stack.count("cann") ? r.stack.at("cann") : "";
    if (!cann_release.empty() && cann_release != cann) continue;
    if (r.stack.count("vllm_ascend")) return r;
  }
  return std::nullopt;
}

std::vector<kb::Route> add_routes(Plan& plan, const std::filesystem::path& root,
                                  const std::vector<kb::Route>& routes, const std::string& chosen) {
  auto fit = sorted_fit(root, routes);
  const std::string best_id = fit.empty() ? "" : fit.front().id;  // the default when nothing is chosen
  choose(fit, chosen, root);
  if (fit.empty()) return fit;
  const auto& pick = fit.front();
  // Route notes go first: the plan's own notes (make_plan) follow them.
  size_t at = 0;
  for (const auto& r : fit) {
    std::string why;
    if (&r == &fit.front()) {
      why = !chosen.empty()   ? "chosen with --route"
            : fit.size() == 1 ? "the only route that fits"
                              : fmt::format("the default: the highest expected throughput ({})",
                                            r.expected_note.empty() ? "published figure" : r.expected_note);
    } else {
      why = r.expected_throughput
                ? fmt::format("not the default: {}", r.expected_note)
                : fmt::format("not the default: {}; choose it with --route {}",
                              r.expected_note.empty() ? "no published NPU figure" : r.expected_note, r.id);
      if (!chosen.empty() && r.id == best_id) why = "the default when no route is chosen: " + r.expected_note;
    }
    std::string summary = r.summary;
    std::replace(summary.begin(), summary.end(), '\n', ' ');
    plan.notes.insert(plan.notes.begin() + static_cast<std::ptrdiff_t>(at++),
                      fmt::format("route {} — {} [{}]: {} {}", r.id, r.title, stack_text(r), summary, why));
  }
  Step s;
  s.id = "environment-route";
  s.phase = Phase::Environment;
  s.action = Action::Manual;
  s.risk = "medium";
  s.title = "Set up the Atlas host for route " + pick.id;
  s.rationale = fmt::format("{}. Stack: {}.", pick.title, stack_text(pick));
  if (!pick.env.empty()) {
    std::string env;
    for (auto& [k, v] : pick.env) env += fmt::format("{}{}={}", env.empty() ? "" : " ", k, v);
    s.rationale += " Environment: " + env + ".";
  }
  if (!pick.run.empty()) s.rationale += " Run: " + pick.run;
  for (const auto& c : pick.caveats) s.rationale += " Caveat: " + c + ".";
  s.rationale += " Sources: " + fmt::format("{}", fmt::join(pick.sources, "; ")) +
                 ". Verified by `kcat doctor` on the host and the bench phase.";
  s.commands = pick.install;
  plan.steps.insert(plan.steps.begin(), std::move(s));
  set_aside_moot(plan, root, pick);
  return fit;
}

}  // namespace kcat::plan
