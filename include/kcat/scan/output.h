#pragma once
// What `kcat scan` prints: a table for people (grouped by file, counts per category), JSON
// (docs/scan-schema.json), SARIF 2.1.0 for code-scanning UIs, and Markdown.
#include <nlohmann/json.hpp>
#include <string>

#include "kcat/kb/rule.h"
#include "kcat/scan/scanner.h"

namespace kcat::scan {

// "N by a `kcat: ignore` comment, M by --select/--exclude": how the set-aside sites were set aside
// (empty when none were), for every place that counts them.
std::string suppressed_counts(const ScanResult& r);
// `width`: the terminal's columns, to cut each "what to do" line at (with …); 0 (a file, a pipe)
// keeps whole lines.
std::string render_table(const ScanResult& r, bool color, size_t width = 0);
// `accounting`: keys added to the summary (kcat scan adds left, notes and kept as the plan routes the
// findings; plan::account).
std::string render_json(const ScanResult& r, const nlohmann::json& accounting = nlohmann::json::object());
std::string render_sarif(const ScanResult& r, const kb::RuleSet& rules, const std::string& version);
std::string render_markdown(const ScanResult& r);

}  // namespace kcat::scan
