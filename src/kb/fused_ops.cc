#include "kcat/kb/fused_ops.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

std::vector<FusedOp> load_fused_ops(const std::filesystem::path& dir) {
  std::vector<FusedOp> out;
  auto file = dir / "fused_ops.toml";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return out;
  auto doc = parse_toml_file(file);
  each_table(doc, "op", file.string(), "[[op]]", "write [[op]] tables (docs/knowledge-base.md)",
             [&](const toml::table& t, const std::string& where) {
               FusedOp op{text_field(t, "id"),      text_field(t, "signature"), text_field(t, "notes"),
                          text_field(t, "source"),  string_list(t, "replaces"), string_list(t, "layouts"),
                          string_list(t, "mapping")};
               if (op.id.empty() || op.source.empty() || op.replaces.empty() || op.signature.empty()) {
                 throw Error(ErrorKind::Usage, "a fused op needs id, signature, replaces and source", where);
               }
               out.push_back(std::move(op));
             });
  return out;
}

}  // namespace kcat::kb
