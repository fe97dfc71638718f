#pragma once
// The one way kcat turns JSON into text (reports, the ledger, SARIF, scan output, plan.json):
// never aborts on bytes that are not UTF-8 (a source file's comment, a path, a hook's output);
// each invalid byte becomes U+FFFD, so every file kcat writes is valid UTF-8 JSON.
#include <nlohmann/json.hpp>
#include <string>

namespace kcat {

// j.dump(indent) with invalid UTF-8 replaced instead of throwing. indent -1 = one line.
std::string json_text(const nlohmann::json& j, int indent = -1);

}  // namespace kcat
