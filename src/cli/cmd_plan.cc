// kcat plan PATH --target T: the ordered migration plan that `kcat migrate` executes.
#include <iostream>
#include <nlohmann/json.hpp>

#include "kcat/cli/command.h"
#include "kcat/config/common.h"
#include "kcat/config/config.h"
#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/json.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/framework.h"
#include "kcat/kb/route.h"
#include "kcat/kb/target.h"
#include "kcat/migrate/migration.h"
#include "kcat/migrate/optimize_phase.h"
#include "kcat/plan/plan.h"
#include "kcat/scan/output.h"
#include "kcat/scan/scanner.h"

namespace kcat::cli {
namespace {

struct PlanCmd {
  std::string path = ".";
  std::string target = "ascend-a2";
  std::string format = "markdown";
  std::string output;
  std::vector<std::string> rules;
  std::string doctor;  // JSON from `kcat doctor --format json`
  std::string route;   // a route id from patches/routes (default: the highest expected throughput)
  scan::SiteFilter filter;
};

void run(const PlanCmd& o, const std::string& config_file) {
  kb::find_target(kb::load_targets(kb::default_data_dir()), o.target);  // unknown: lists the known ones
  auto rules = load_rule_catalog(o.rules);
  scan::ScanOptions so;
  so.root = o.path;
  so.filter = o.filter;
  auto r = scan::scan(so, rules);
  load_knowledge_base().annotate(r.findings);
  auto root = std::filesystem::canonical(o.path);
  auto p = plan::make_plan(r.findings, root.filename().string(), o.target, root);
  plan::add_routes(p, root, kb::load_routes(kb::default_data_dir() / "routes"), o.route);
  if (auto fw = kb::detect_framework(root, kb::load_frameworks(kb::default_data_dir() / "frameworks.toml")))
    p.notes.insert(p.notes.begin(), kb::framework_note(*fw));
  if (!r.suppressed.empty()) {
    p.notes.push_back(std::to_string(r.suppressed.size()) + " site(s) suppressed and not planned: " +
                      scan::suppressed_counts(r) + " (kcat scan --format json lists them)");
  }
  if (!o.doctor.empty()) {
    std::vector<env::Check> checks;
    try {
      auto j = nlohmann::json::parse(read_file(o.doctor));
      for (auto& c : j.at("checks")) {
        checks.push_back({c.value("what", ""), c.value("found", ""), c.value("expected", ""),
                          c.value("status", ""), c.value("fix", "")});
      }
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorKind::Usage, std::string("not the output of `kcat doctor --format json`: ") + e.what(),
                  o.doctor);
    }
    plan::add_environment(p, checks);
  }
  auto config = load_config(root, config_file);
  // Each CUDA extension as one item: its build on the NPU host, its kernels, its oracle (issue 17).
  plan::add_extensions(p, plan::find_cuda_extensions(root), config.llm.configured(),
                       !config.remote.host.empty());
  // The performance phase is always there: what the optimize loop will try, or what to configure.
  p.steps.push_back(migrate::performance_step(root, config, r.findings));
  std::string text;
  if (o.format == "json") {
    nlohmann::json j = p;
    text = json_text(j, 2) + "\n";
  } else {
    text = plan::render_markdown(p);
  }
  if (o.output.empty() || o.output == "-") {
    std::cout << text;
  } else {
    write_output(o.output, text);
  }
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<PlanCmd>();
  auto* cmd =
      root.add_subcommand("plan",
                          "The ordered migration plan: environment, device API, distributed, attention "
                          "and fused operators, kernels and build, performance");
  cmd->footer(
      "Each step names its findings, its action (codemod, recipe, llm, manual), its risk and how it is\n"
      "verified. The same repository always gives the same plan. `kcat migrate` executes it.\n\n"
      "Examples:\n  kcat plan . --target ascend-a2\n  kcat plan . --format json -o plan.json");
  add_repo_option(cmd, o->path);
  cmd->add_option("-t,--target", o->target, kb::target_help(kb::default_data_dir()))->capture_default_str();
  cmd->add_option("-f,--format", o->format, "markdown or json")->check(CLI::IsMember({"markdown", "json"}));
  cmd->add_option("-o,--output", o->output, "Write to FILE instead of standard output");
  cmd->add_option("--rules", o->rules, "Extra rule file (TOML, repeatable)");
  add_filter_options(cmd, o->filter);
  cmd->add_option("--doctor", o->doctor, "The host's environment: JSON from `kcat doctor --format json`")
      ->check(CLI::ExistingFile);
  cmd->add_option(
      "--route", o->route,
      "A route from patches/routes for a known model (default: the highest published throughput)");
  cmd->callback([o, &g] {
    run(*o, g.config);
    g.exit_code = 0;
  });
}

}  // namespace

KCAT_COMMAND(setup, 20);

}  // namespace kcat::cli
