#pragma once
// Jupyter notebooks: the code cells are Python. Findings point into the .ipynb file (line:column
// of the cell's line inside the JSON) and name the cell; they carry no codemod, because a byte
// edit inside JSON-escaped text is not safe.
#include <string>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/kb/rule.h"
#include "kcat/scan/analyzer.h"

namespace kcat::scan {

std::vector<Finding> analyze_notebook(const std::string& path, const std::string& bytes,
                                      const kb::RuleSet& rules, AnalyzeStats* stats);

}  // namespace kcat::scan
