// Text rules: RE2 patterns over lines. For C++ and CUDA the lines are first masked: comments and
// string literals become spaces (same length), so a pattern matches code only and byte offsets
// stay exact.
#include <re2/re2.h>
#include <re2/set.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "kcat/core/error.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/cpp_mask.h"
#include "rules_key.h"

namespace kcat::scan {

namespace {

struct TextRule {
  std::shared_ptr<const kb::Rule> rule;  // a copy: the compiled set outlives the caller's RuleSet
  std::unique_ptr<RE2> re;
  int group = 0;   // the group named "match" when the pattern has one, else 0 (the whole match)
  int groups = 1;  // capturing groups + 1
};

// A language's text rules in one RE2::Set: one pass per line says which rules match it at all,
// so a line none matches (most lines) costs one search instead of one per rule.
struct LanguageSet {
  std::unique_ptr<RE2::Set> set;
  std::vector<size_t> rule_of;  // set index -> index into TextRules::rules
};

struct TextRules {
  std::vector<TextRule> rules;
  std::map<std::string, LanguageSet, std::less<>> sets;
};

std::shared_ptr<const TextRules> compile_text(const kb::RuleSet& rules) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const TextRules>> cache;
  auto key = rules_key(rules);
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto out = std::make_shared<TextRules>();
  RE2::Options opt;
  opt.set_log_errors(false);
  for (auto& r : rules.rules) {
    if (r.matcher != "text") continue;
    auto re = std::make_unique<RE2>(r.pattern, opt);
    if (!re->ok()) {
      throw Error(ErrorKind::Usage, "bad pattern: " + re->error(), r.origin + " (rule " + r.id + ")",
                  "patterns are RE2 syntax: https://github.com/google/re2/wiki/Syntax");
    }
    TextRule tr{std::make_shared<const kb::Rule>(r), std::move(re)};
    auto& names = tr.re->NamedCapturingGroups();
    if (auto it = names.find("match"); it != names.end()) tr.group = it->second;
    tr.groups = tr.re->NumberOfCapturingGroups() + 1;
    out->rules.push_back(std::move(tr));
  }
  std::set<std::string> languages;
  for (auto& tr : out->rules) languages.insert(tr.rule->languages.begin(), tr.rule->languages.end());
  for (auto& lang : languages) {
    LanguageSet ls;
    ls.set = std::make_unique<RE2::Set>(opt, RE2::UNANCHORED);
    bool ok = true;
    for (size_t i = 0; i < out->rules.size() && ok; ++i) {
      if (!out->rules[i].rule->applies_to(lang)) continue;
      ok = ls.set->Add(out->rules[i].rule->pattern, nullptr) >= 0;
      ls.rule_of.push_back(i);
    }
    // Without a set (a pattern it refuses) every rule is tried on every line, as it would be.
    if (ok && ls.set->Compile()) out->sets.emplace(lang, std::move(ls));
  }
  cache.emplace(key, out);
  return out;
}

// Where a comment starts on a line of these languages ('#' not inside quotes), or npos.
size_t hash_comment(std::string_view line) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == '\\')
        ++i;
      else if (c == quote)
        quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return i;
    }
  }
  return std::string_view::npos;
}

std::vector<Finding> run_patterns(const SourceFile& file, std::string_view text, const kb::RuleSet& rules,
                                  bool strip_hash_comments) {
  auto compiled = compile_text(rules);
  const LanguageSet* lang_set = nullptr;
  if (auto it = compiled->sets.find(file.language); it != compiled->sets.end()) lang_set = &it->second;
  std::vector<Finding> out;
  std::vector<int> hits;
  std::vector<char> try_rule(compiled->rules.size(), 1);
  std::vector<re2::StringPiece> groups;
  for (uint32_t line = 1; line <= file.index.line_count(); ++line) {
    auto orig = file.index.line_text(line);
    // line_text may skip a BOM on line 1: offset of the text inside the file.
    uint32_t offset = static_cast<uint32_t>(orig.data() - file.bytes.data());
    std::string_view view = text.substr(offset, orig.size());
    if (strip_hash_comments) {
      auto c = hash_comment(view);
      if (c != std::string_view::npos) view = view.substr(0, c);
    }
    if (view.find_first_not_of(" \t") == std::string_view::npos) continue;
    re2::StringPiece input(view.data(), view.size());
    if (lang_set) {
      hits.clear();
      RE2::Set::ErrorInfo error{};
      bool any = lang_set->set->Match(input, &hits, &error);
      if (error.kind != RE2::Set::kNoError) {
        std::fill(try_rule.begin(), try_rule.end(), 1);  // the set gave up: try every rule
      } else if (!any) {
        continue;
      } else {
        std::fill(try_rule.begin(), try_rule.end(), 0);
        for (int h : hits) try_rule[lang_set->rule_of[static_cast<size_t>(h)]] = 1;
      }
    }
    for (size_t ri = 0; ri < compiled->rules.size(); ++ri) {
      auto& tr = compiled->rules[ri];
      if (!try_rule[ri] || !tr.rule->applies_to(file.language)) continue;
      // A rule may capture the exact span to report with a group named "match"; else the whole match.
      groups.assign(static_cast<size_t>(tr.groups), re2::StringPiece());
      size_t pos = 0;
      while (pos <= view.size() &&
             tr.re->Match(input, pos, view.size(), RE2::UNANCHORED, groups.data(), tr.groups)) {
        re2::StringPiece m = groups[static_cast<size_t>(tr.group)];
        if (m.data() == nullptr) m = groups[0];
        auto begin = offset + static_cast<uint32_t>(m.data() - view.data());
        out.push_back(make_finding(*tr.rule, file, begin, begin + static_cast<uint32_t>(m.size())));
        size_t next = static_cast<size_t>(groups[0].data() - view.data()) + groups[0].size();
        pos = next > pos ? next : pos + 1;
      }
    }
  }
  return out;
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The name of the kernel a `__global__` at `pos` declares, read from the masked source: the first
// identifier followed by '(' that is not an attribute (__launch_bounds__(...), __attribute__((...))),
// before the declaration's '{' or ';'. "" when there is none (a macro's body, a broken file).
std::string kernel_name_after(std::string_view src, size_t pos) {
  size_t i = pos, end = std::min(src.size(), pos + 1024);  // a declaration head, not a whole file
  while (i < end) {
    char c = src[i];
    if (c == '{' || c == ';') return {};
    if (!ident_char(c)) {
      ++i;
      continue;
    }
    size_t b = i;
    while (i < end && ident_char(src[i])) ++i;
    std::string_view word = src.substr(b, i - b);
    size_t j = i;
    while (j < end && std::isspace(static_cast<unsigned char>(src[j]))) ++j;
    if (j >= end || src[j] != '(') continue;
    if (word == "__launch_bounds__" || word == "__attribute__" || word == "__declspec" || word == "alignas") {
      int depth = 0;  // skip the attribute's balanced parentheses
      for (i = j; i < end; ++i) {
        if (src[i] == '(') ++depth;
        if (src[i] == ')' && --depth == 0) break;
      }
      ++i;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(word.front()))) continue;
    return std::string(word);
  }
  return {};
}

}  // namespace

std::vector<Finding> analyze_cpp_masked(const SourceFile& file, std::string_view masked,
                                        const kb::RuleSet& rules) {
  auto out = run_patterns(file, masked, rules, false);
  // A kernel's finding names the kernel ("__global__ name"): the plan and the report list a CUDA
  // file's kernels from them (core/cuda_files.h).
  for (auto& f : out) {
    if (f.matched != "__global__") continue;
    auto name = kernel_name_after(masked, f.span.end);
    if (!name.empty()) f.matched += " " + name;
  }
  return out;
}

std::vector<Finding> analyze_cpp(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats) {
  (void)stats;  // the lexer does not parse: no syntax errors to count
  return analyze_cpp_masked(file, mask_cpp(file.bytes), rules);
}

std::vector<Finding> analyze_text(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats) {
  (void)stats;
  // Every text language kcat reads (requirements, TOML, YAML, CMake, Dockerfile, shell) uses '#'.
  return run_patterns(file, file.bytes, rules, true);
}

std::vector<Finding> analyze(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats) {
  std::vector<Finding> out;
  if (file.language == "python") {
    out = analyze_python(file, rules, stats);
  } else if (file.language == "cpp" || file.language == "cuda") {
    out = analyze_cpp(file, rules, stats);
  } else {
    out = analyze_text(file, rules, stats);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kcat::scan
