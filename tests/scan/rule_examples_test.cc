// Every rule's own examples must match it and its counter-examples must not: the catalog tests
// itself, so a user's rule file is tested the same way (see docs/rules.md).
#include <gtest/gtest.h>

#include "kcat/kb/data_dir.h"
#include "kcat/kb/rule.h"
#include "kcat/scan/analyzer.h"
#include "testsupport/support.h"

namespace kcat::scan {

namespace {

std::string file_name_for(const std::string& language) {
  if (language == "python") return "example.py";
  if (language == "cuda") return "example.cu";
  if (language == "cpp") return "example.cc";
  if (language == "requirements") return "requirements.txt";
  if (language == "pyproject") return "pyproject.toml";
  if (language == "conda") return "environment.yml";
  if (language == "cmake") return "CMakeLists.txt";
  if (language == "dockerfile") return "Dockerfile";
  return "example.sh";
}

size_t hits(const kb::RuleSet& rules, const kb::Rule& rule, const std::string& code) {
  auto lang = rule.languages.front();
  SourceFile f(file_name_for(lang), lang, code);
  AnalyzeStats stats;
  size_t n = 0;
  for (auto& finding : analyze(f, rules, &stats)) n += finding.rule_id == rule.id;
  return n;
}

}  // namespace

TEST(RuleExamples, EveryRuleMatchesItsExamplesAndNotItsCounterExamples) {
  auto rules = kb::load_rules(test::source_dir() / "patches" / "rules");
  // The shim-gap rules (loaded by `kcat migrate --mode shim`) are held to the same standard.
  kb::merge_rules(rules, kb::load_rules(test::source_dir() / "patches" / "shim").rules);
  ASSERT_GT(rules.rules.size(), 30u);
  for (auto& rule : rules.rules) {
    EXPECT_FALSE(rule.examples.empty()) << rule.id << " has no examples";
    EXPECT_FALSE(rule.source.empty()) << rule.id << " has no source";
    for (auto& ex : rule.examples) EXPECT_GT(hits(rules, rule, ex), 0u) << rule.id << " misses:\n" << ex;
    for (auto& ex : rule.counter_examples)
      EXPECT_EQ(hits(rules, rule, ex), 0u) << rule.id << " matches:\n" << ex;
  }
}

}  // namespace kcat::scan
