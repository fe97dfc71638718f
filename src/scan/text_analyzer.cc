// Text rules: RE2 patterns over lines. For C++ and CUDA the lines are first masked: comments and
// string literals become spaces (same length), so a pattern matches code only and byte offsets
// stay exact.
#include <re2/re2.h>

#include <map>
#include <memory>
#include <mutex>

#include "kcat/core/error.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/parser.h"

namespace kcat::scan {

namespace {

struct TextRule {
  std::shared_ptr<const kb::Rule> rule;  // a copy: the compiled set outlives the caller's RuleSet
  std::unique_ptr<RE2> re;
};

std::shared_ptr<const std::vector<TextRule>> compile_text(const kb::RuleSet& rules) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const std::vector<TextRule>>> cache;
  auto key = rules.fingerprint();
  std::lock_guard lock(mu);
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto out = std::make_shared<std::vector<TextRule>>();
  for (auto& r : rules.rules) {
    if (r.matcher != "text") continue;
    RE2::Options opt;
    opt.set_log_errors(false);
    auto re = std::make_unique<RE2>(r.pattern, opt);
    if (!re->ok()) {
      throw Error(ErrorKind::Usage, "bad pattern: " + re->error(), r.origin + " (rule " + r.id + ")",
                  "patterns are RE2 syntax: https://github.com/google/re2/wiki/Syntax");
    }
    out->push_back({std::make_shared<const kb::Rule>(r), std::move(re)});
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
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t')) {
      return i;
    }
  }
  return std::string_view::npos;
}

// Blanks comments and string literals (not #include paths) of C++ / CUDA source.
std::string mask_cpp(const SourceFile& file, AnalyzeStats* stats) {
  std::string masked = file.bytes;
  auto tree = parse(file.language, file.bytes);
  TSNode root = ts_tree_root_node(tree.get());
  if (stats) {
    stats->parsed = true;
    stats->syntax_errors = count_syntax_errors(root);
  }
  std::vector<TSNode> stack{root};
  while (!stack.empty()) {
    TSNode n = stack.back();
    stack.pop_back();
    const char* t = ts_node_type(n);
    bool blank = std::strcmp(t, "comment") == 0 || std::strcmp(t, "string_literal") == 0 ||
                 std::strcmp(t, "raw_string_literal") == 0 || std::strcmp(t, "char_literal") == 0;
    if (blank) {
      TSNode p = ts_node_parent(n);
      if (!ts_node_is_null(p) && std::strcmp(ts_node_type(p), "preproc_include") == 0) continue;
      for (uint32_t i = ts_node_start_byte(n); i < ts_node_end_byte(n) && i < masked.size(); ++i) {
        if (masked[i] != '\n' && masked[i] != '\r') masked[i] = ' ';
      }
      continue;
    }
    for (uint32_t i = 0; i < ts_node_child_count(n); ++i) stack.push_back(ts_node_child(n, i));
  }
  return masked;
}

std::vector<Finding> run_patterns(const SourceFile& file, std::string_view text, const kb::RuleSet& rules,
                                  bool strip_hash_comments) {
  auto compiled = compile_text(rules);
  std::vector<Finding> out;
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
    for (auto& tr : *compiled) {
      if (!tr.rule->applies_to(file.language)) continue;
      re2::StringPiece input(view.data(), view.size());
      re2::StringPiece m;
      // A rule may capture the exact span to report with a group named "match"; else the whole match.
      int group = 0;
      auto& names = tr.re->NamedCapturingGroups();
      if (auto it = names.find("match"); it != names.end()) group = it->second;
      std::vector<re2::StringPiece> groups(static_cast<size_t>(tr.re->NumberOfCapturingGroups() + 1));
      size_t pos = 0;
      while (pos <= view.size() &&
             tr.re->Match(input, pos, view.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()))) {
        m = groups[static_cast<size_t>(group)];
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

}  // namespace

std::vector<Finding> analyze_cpp(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats) {
  auto masked = mask_cpp(file, stats);
  return run_patterns(file, masked, rules, false);
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
