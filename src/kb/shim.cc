#include "kcat/kb/shim.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

std::vector<ShimCover> load_shim_coverage(const std::filesystem::path& dir) {
  std::vector<ShimCover> out;
  auto file = dir / "shim_coverage.toml";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return out;
  auto doc = parse_toml_file(file);
  each_table(doc, "covered", file.string(), "'covered'", "write [[covered]]",
             [&](const toml::table& t, const std::string& where) {
               ShimCover c{text_field(t, "rule"), text_field(t, "source")};
               auto when = text_field(t, "when");
               if (when == "blocking") {
                 c.when = ShimCover::When::Blocking;
               } else if (when == "supported") {
                 c.when = ShimCover::When::Supported;
               } else if (!when.empty() && when != "always") {
                 throw Error(ErrorKind::Usage, fmt::format("unknown when = \"{}\" for {}", when, c.rule),
                             where, "when is \"always\", \"blocking\" or \"supported\"");
               }
               if (c.rule.empty() || c.source.empty()) {
                 throw Error(ErrorKind::Usage, "a covered rule needs rule and source", where,
                             "write rule = \"<rule id>\" and source = \"<where transfer_to_npu maps it>\"");
               }
               out.push_back(std::move(c));
             });
  return out;
}

bool covered_by_shim(const std::vector<ShimCover>& coverage, const Finding& f) {
  for (auto& c : coverage) {
    if (c.rule != f.rule_id) continue;
    switch (c.when) {
      case ShimCover::When::Always:
        return true;
      case ShimCover::When::Blocking:
        return f.severity == Severity::Blocking;
      case ShimCover::When::Supported:
        return f.verdict == Verdict::Supported;
    }
  }
  return false;
}

}  // namespace kcat::kb
