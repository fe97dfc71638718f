#include "kcat/scan/notebook.h"
#include "kcat/core/json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "kcat/core/error.h"
#include "kcat/scan/python_scope.h"

namespace kcat::scan {

std::vector<Finding> analyze_notebook(const std::string& path, const std::string& bytes,
                                      const kb::RuleSet& rules, AnalyzeStats* stats) {
  nlohmann::json nb;
  try {
    nb = nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::Parse, std::string("not a valid notebook (JSON): ") + e.what(), path);
  }
  // A notebook of the wrong shape is skipped with the reason, never fatal (issue 14 §5).
  auto bad = [&](const std::string& why) {
    return Error(ErrorKind::Parse, "not a valid notebook: " + why, path);
  };
  if (!nb.is_object()) throw bad("the top level is not a JSON object");
  if (nb.contains("cells") && !nb["cells"].is_array()) throw bad("\"cells\" is not a list");
  LineIndex file_index(bytes);
  std::vector<Finding> out;
  size_t search_from = 0;
  int cell_no = 0;
  PythonScope scope;  // cells share one namespace: an import in cell 1 resolves names in cell 3
  for (auto& cell : nb.value("cells", nlohmann::json::array())) {
    ++cell_no;
    if (!cell.is_object()) throw bad(fmt::format("cell {} is not a JSON object", cell_no));
    auto type = cell.value("cell_type", nlohmann::json());
    if (!type.is_null() && !type.is_string())
      throw bad(fmt::format("cell {}: \"cell_type\" is not a string", cell_no));
    if (!type.is_string() || type.get<std::string>() != "code") continue;
    std::vector<std::string> lines;
    auto src = cell.value("source", nlohmann::json());
    std::string code;
    if (src.is_array()) {
      for (auto& l : src) code += l.is_string() ? l.get<std::string>() : "";
    } else if (src.is_string()) {
      code = src.get<std::string>();
    } else if (!src.is_null()) {
      throw bad(fmt::format("cell {}: \"source\" is neither text nor a list of lines", cell_no));
    }
    // IPython magics and shell escapes are not Python: blank them so the cell still parses.
    std::string py;
    size_t p = 0;
    while (p <= code.size()) {
      size_t e = code.find('\n', p);
      if (e == std::string::npos) e = code.size();
      auto line = code.substr(p, e - p);
      lines.push_back(line);
      auto first = line.find_first_not_of(" \t");
      if (first != std::string::npos && (line[first] == '%' || line[first] == '!'))
        line = std::string(line.size(), ' ');
      py += line;
      if (e < code.size()) py += '\n';
      p = e + 1;
    }
    SourceFile cell_src(path, "python", py);
    AnalyzeStats cell_stats;
    auto found = analyze_python(cell_src, rules, &cell_stats, scope);
    if (stats) {
      stats->parsed = true;
      stats->syntax_errors += cell_stats.syntax_errors;
    }
    for (auto& f : found) {
      uint32_t cl = f.span.start.line;
      std::string where = fmt::format("cell {}, line {}: ", cell_no, cl);
      // Find the cell line as a JSON string in the file, after the previous cell's lines.
      std::string needle = cl <= lines.size() ? json_text(nlohmann::json(lines[cl - 1])) : std::string();
      if (needle.size() >= 2) needle = needle.substr(1, needle.size() - 2);
      size_t at = needle.empty() ? std::string::npos : bytes.find(needle, search_from);
      if (at != std::string::npos) {
        auto pos = file_index.position(static_cast<uint32_t>(at));
        f.span.start = {pos.line, pos.column + f.span.start.column - 1};
        f.span.stop = {pos.line, pos.column + f.span.stop.column - 1};
        f.span.begin = static_cast<uint32_t>(at);
        f.span.end = static_cast<uint32_t>(at);
      }
      f.message = where + f.message;
      f.codemod.clear();
      f.replacement.clear();
      out.push_back(std::move(f));
    }
    // Later cells come later in the file.
    if (!lines.empty() && !lines[0].empty()) {
      auto first = json_text(nlohmann::json(lines[0]));
      auto at = bytes.find(first.substr(1, first.size() - 2), search_from);
      if (at != std::string::npos) search_from = at;
    }
  }
  return out;
}

}  // namespace kcat::scan
