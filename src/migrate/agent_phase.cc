// agent: the plan steps no codemod or recipe covers, given to the LLM agent when an endpoint is
// configured; each comes back done (its commits) or for a person (the reason).

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "kcat/core/events.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/route.h"
#include "kcat/llm/client.h"
#include "kcat/llm/config.h"
#include "kcat/migrate/agent_setup.h"
#include "kcat/migrate/phases.h"

namespace kcat::migrate {

namespace {

agent::Options migrate_agent_options(Run& r, const llm::LlmConfig& llm_config) {
  auto ao = agent_options(llm_config, r.env.config, r.p.root, r.run_id, *r.ledger);
  ao.target = r.o.target;
  if (r.p.from_branch != r.p.branch) ao.upstream = r.p.from_branch;
  ao.author_name = r.p.author_name;
  ao.author_email = r.p.author_email;
  ao.budgets.max_turns = r.o.max_turns;
  ao.budgets.max_tokens = r.o.max_tokens;
  ao.budgets.max_cost = r.o.max_cost;
  if (r.o.max_minutes > 0) ao.budgets.max_minutes = std::max(0.05, r.o.max_minutes - r.minutes_used());
  ao.hook = [&r](const std::string& stage, const std::vector<std::string>& files) {
    return run_hooks(r, stage, files);
  };
  // -i: the person approves each edit (the gate's before_commit hook asks, as for a rule's step), so
  // the approved edits of a step not done stay on the branch; the report says the step is not done.
  if (r.o.approve) {
    ao.policy.keep_unfinished = true;
    auto record = ao.record;
    ao.record = [&r, record](const std::string& type, const nlohmann::json& j) {
      if (type == "agent-step-started") {  // the question names it; "show more" gives its task
        r.current_step = j.value("step", "");
        r.current_why = "agent step " + r.current_step + ": " + j.value("title", "");
      }
      record(type, j);
    };
  }
  ao.on_text = r.o.on_text;
  return ao;
}

void record_agent_steps(Run& r, const std::vector<agent::Task>& tasks, const agent::Outcome& res) {
  r.out.llm_failed = res.llm_failed;
  r.out.loop_detected = res.loop_detected;
  r.out.budget_exhausted = r.out.budget_exhausted || res.budget_exhausted;
  r.out.llm_usage = {res.usage.prompt_tokens, res.usage.completion_tokens, res.usage.cost,
                     res.usage.requests};
  for (size_t i = 0; i < res.steps.size(); ++i) {
    auto& st = res.steps[i];
    r.book.agent_records.push_back(agent_step_record(st, tasks[i].title, r.p.repo));
    r.book.agent_tasks.emplace_back(st.id, tasks[i].findings);
    if (st.commits.empty()) continue;
    r.out.changed_anything = true;
    r.book.llm_fixed[st.id] = {tasks[i].findings, st.commits.back()};
  }
}

// Why a plan step goes to the model (issue 18 §2: two step titles named recipes that do not exist,
// and the model was not told what kcat had tried).
std::string why_agent(const plan::Step& s, const kb::Recipe* recipe, bool attempted) {
  if (recipe && recipe->kind == "agent")
    return "recipe " + recipe->id + " is a task for you (its contract is above).";
  if (s.action == plan::Action::Recipe && !recipe)
    return "the plan names recipe " + s.recipe +
           ", which kcat's recipes do not hold (do not look for it), and no codemod covers these sites.";
  if (s.action == plan::Action::Recipe && attempted)
    return "kcat ran recipe " + s.recipe +
           " and these sites were left (its edits did not match them or were refused); no codemod covers "
           "them.";
  std::set<std::string> withheld;
  for (const auto& f : s.findings) {
    if (!f.codemod.empty()) withheld.insert(f.rule_id);
  }
  if (!withheld.empty())
    return fmt::format(
        "the codemods of {} have no fixed replacement at these sites, and no recipe covers them: each needs "
        "reading the code.",
        fmt::join(withheld, ", "));
  return "no rule has a mechanical fix (codemod) for these sites and no recipe covers them: each needs "
         "reading the code.";
}

}  // namespace

std::vector<agent::Task> agent_tasks(const plan::Plan& plan, const kb::RecipeSet& recipes,
                                     const std::set<std::string>& attempted,
                                     const std::set<std::string>& declined) {
  std::vector<agent::Task> tasks;
  for (auto& s : plan.steps) {
    if (declined.count(step_key(s))) continue;
    // A recipe of kind "agent" (cuda-extension-port) is a task for the agent, with its contract.
    const auto* recipe = s.action == plan::Action::Recipe ? recipes.find(s.recipe) : nullptr;
    bool agent_recipe = recipe && recipe->kind == "agent";
    bool recipe_missing = s.action == plan::Action::Recipe && (!recipe || attempted.count(step_key(s)));
    if (s.action != plan::Action::Llm && !recipe_missing && !agent_recipe) continue;
    if (s.findings.empty()) continue;
    // One task per file (issue 18 §2: one step held 423 findings in 21 files): the agent re-scans
    // between tasks and carries a summary, so the files of a step are ported one after the other.
    std::vector<std::string> files;
    std::map<std::string, std::vector<Finding>> by_file;
    for (const auto& f : s.findings) {
      if (by_file[f.file].empty()) files.push_back(f.file);
      by_file[f.file].push_back(f);
    }
    auto rationale = agent_recipe ? s.rationale + "\n" + recipe->task : s.rationale;
    auto why = why_agent(s, recipe, attempted.count(step_key(s)) > 0);
    if (files.size() == 1) {
      tasks.push_back({s.id, s.title, rationale, s.findings});
      tasks.back().why = why;
      continue;
    }
    for (size_t i = 0; i < files.size(); ++i) {
      tasks.push_back({fmt::format("{}/{}", s.id, i + 1),
                       fmt::format("{} ({}, file {} of {})", s.title, files[i], i + 1, files.size()),
                       rationale, by_file[files[i]]});
      tasks.back().why = why;
    }
  }
  return tasks;
}

void agent_phase(Run& r) {
  if (r.o.mode != "source" || !r.o.use_llm || r.out.budget_exhausted) return;
  const auto& llm_config = r.env.config.llm;
  auto scanned = r.scan();
  auto pl = run_plan(r, scanned.findings);  // names the steps in the book, with or without an LLM
  if (!llm_config.configured()) return;
  // The chosen route's plan: sites in code the route does not run are not the model's to port.
  plan::add_routes(pl, r.p.root, kb::load_routes(kb::default_data_dir() / "routes"), r.o.route);
  std::set<std::string> declined;
  for (auto& [key, rec] : r.book.records) {
    if (rec.status == "declined") declined.insert(key);
  }
  auto tasks = agent_tasks(pl, r.env.recipes, r.book.attempted, declined);
  if (tasks.empty()) return;
  auto ao = migrate_agent_options(r, llm_config);
  llm::Client client(llm_config);
  r.ledger->append("agent-started",
                   {{"steps", tasks.size()}, {"model", llm_config.model}, {"endpoint", llm_config.base_url}});
  events::emit("agent-started", {{"steps", tasks.size()}, {"model", llm_config.model}});
  auto res = agent::run(client, r.p.repo, tasks, r.env.rules, r.env.kb, ao);
  record_agent_steps(r, tasks, res);
}

}  // namespace kcat::migrate
