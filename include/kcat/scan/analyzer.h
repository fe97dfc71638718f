#pragma once
// Analyzers turn one source file into findings. Each language family has one:
//   analyze_python  semantic Python matching over resolved names (rules with matcher "python",
//                   plus "query" rules for language python)
//   analyze_cpp     C++ / CUDA through tree-sitter queries (matcher "query")
//   analyze_text    RE2 patterns on text files (matcher "text")
// analyze() dispatches on file.language. Findings carry spans and line:column from file.index.
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/kb/rule.h"
#include "kcat/scan/source.h"

namespace kcat::scan {

struct AnalyzeStats {
  size_t syntax_errors = 0;  // ERROR / MISSING nodes seen (the file is still scanned)
  bool parsed = false;       // a tree-sitter parse happened
  size_t bytes_parsed = 0;   // bytes given to the parser (Python: the statements that can hold a finding)
};

// Partial: tree-sitter parses only the statements that can hold a finding (src/scan/python_partial.h);
// Whole: every statement. Both give the same findings; Whole is there to show it.
enum class PythonParse { Partial, Whole };

std::vector<Finding> analyze_python(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats,
                                    PythonParse how = PythonParse::Partial);
std::vector<Finding> analyze_cpp(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats);
std::vector<Finding> analyze_text(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats);
std::vector<Finding> analyze(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats);

// Makes a Finding for `rule` over bytes [begin, end) of `file` (span, line:column, and the
// rule's category, severity, message, action, codemod, recipe, source copied in).
Finding make_finding(const kb::Rule& rule, const SourceFile& file, uint32_t begin, uint32_t end);

}  // namespace kcat::scan
