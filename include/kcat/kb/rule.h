#pragma once
// Rule: one registered check of the scanner, loaded from data (patches/rules/*.toml), never code.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kcat/core/finding.h"

namespace kcat::kb {

// What a rule matches with. The scan layer owns the matchers; a rule only names one.
//   "query"      a tree-sitter query (field `query`); the capture @match is the reported span
//   "text"       an RE2 pattern (field `pattern`) run line by line on text files
//   "python"     a semantic Python matcher over resolved names (field `match.kind` + params)
struct Rule {
  std::string id;
  // python cpp cuda requirements pyproject conda cmake dockerfile shell container
  std::vector<std::string> languages;
  std::string category;
  Severity severity = Severity::Warning;
  std::string matcher;  // "query" | "text" | "python"
  std::string query;
  std::string pattern;
  nlohmann::json match;  // matcher parameters (kind, names, ...), from the TOML table
  std::string message;
  std::string action;
  std::string codemod;
  std::string recipe;
  std::string replacement;
  std::string source;  // citation: repo:path or doc URL
  std::string origin;  // where it was loaded from: file
  // Literals of which at least one must occur in a file for this rule to match there: the
  // scanner's fast prefilter. Empty means the rule can match any file of its languages.
  std::vector<std::string> prefilter;
  std::vector<std::string> examples;          // code that must match (tested)
  std::vector<std::string> counter_examples;  // code that must not match (tested)

  bool applies_to(std::string_view language) const;
};

struct RuleSet {
  std::vector<Rule> rules;
  const Rule* find(std::string_view id) const;
  // Hash of every rule's content: part of the scan cache key.
  std::string fingerprint() const;
};

// The kinds a python rule's `match.kind` may name (the scan layer implements each).
const std::vector<std::string>& python_match_kinds();

// Loads one TOML file of [[rule]] tables. Throws Error(Usage) naming file, line and rule on bad
// data: an unknown key, a value of the wrong type, a pattern RE2 refuses or too large, a match table
// the python matcher cannot use.
std::vector<Rule> load_rule_file(const std::filesystem::path& file);
// Loads every *.toml under dir (sorted by name). Duplicate ids are an error.
RuleSet load_rules(const std::filesystem::path& dir);
// Adds user rules; a user rule with a built-in id replaces it.
void merge_rules(RuleSet& into, std::vector<Rule> extra);

}  // namespace kcat::kb
