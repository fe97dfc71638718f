#pragma once
// Names bound by imports, carried from one piece of Python to the next: a notebook's cells share
// one namespace, so `import torch as th` in cell 1 makes `th.cuda.synchronize()` in cell 3 resolve.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/kb/rule.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/source.h"

namespace kcat::scan {

struct PythonScope {
  std::map<std::string, std::string> bindings;  // local name -> qualified name ("th" -> "torch")
  std::set<std::string> guarded;                // names bound inside try/except ImportError
};

// analyze_python that starts from `scope`'s bindings and adds this file's imports to it.
// Analyze notebook cells in order with one PythonScope.
std::vector<Finding> analyze_python(const SourceFile& file, const kb::RuleSet& rules, AnalyzeStats* stats,
                                    PythonScope& scope);

}  // namespace kcat::scan
