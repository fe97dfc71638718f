#include "kcat/kb/framework.h"

#include <fmt/format.h>

#include <toml++/toml.h>

#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

std::vector<Framework> load_frameworks(const std::filesystem::path& file) {
  std::vector<Framework> out;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return out;
  constexpr const char* hint = "see patches/frameworks.toml";
  auto doc = parse_toml_file(file, hint);
  const auto* arr = doc["framework"].as_array();
  if (!arr) return out;
  for (const auto& node : *arr) {
    const auto* t = node.as_table();
    if (!t) continue;
    Framework f;
    auto where = fmt::format("{}:{}", file.string(), t->source().begin.line);
    f.id = text_field(*t, "id");
    f.name = (*t)["name"].value_or(f.id);
    f.configure = text_field(*t, "configure");
    f.source = text_field(*t, "source");
    f.signals = string_list(*t, "signals", where, hint);
    if (f.id.empty() || f.signals.empty() || f.configure.empty() || f.source.empty())
      throw Error(ErrorKind::Usage, "framework needs id, signals, configure and source", where, hint);
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<Framework> detect_framework(const std::filesystem::path& root,
                                          const std::vector<Framework>& all) {
  for (const auto& f : all) {
    bool every = std::all_of(f.signals.begin(), f.signals.end(), [&](const std::string& s) {
      std::error_code ec;
      return std::filesystem::exists(root / s, ec);
    });
    if (every) return f;
  }
  return std::nullopt;
}

std::string framework_note(const Framework& f) {
  return fmt::format("{} has its own Ascend backend: port it by configuration, not edits: {} (source: {})",
                     f.name, f.configure, f.source);
}

}  // namespace kcat::kb
