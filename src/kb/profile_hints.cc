#include "kcat/kb/profile_hints.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

namespace {

std::vector<std::vector<std::string>> signatures(const toml::table& t, const std::string& where) {
  std::vector<std::vector<std::string>> out;
  const auto* node = t.get("signatures");
  if (!node) return out;
  auto bad = [&] {
    return Error(ErrorKind::Usage, "'signatures' must be a list of lists of op names", where,
                 "write signatures = [[\"Softmax\", \"BatchMatMul\"]]");
  };
  const auto* arr = node->as_array();
  if (!arr) throw bad();
  for (const auto& sig : *arr) {
    const auto* ops = sig.as_array();
    if (!ops || ops->empty()) throw bad();
    auto& one = out.emplace_back();
    for (const auto& op : *ops) {
      if (!op.is_string()) throw bad();
      one.push_back(op.value_or(std::string{}));
    }
  }
  return out;
}

}  // namespace

std::vector<ProfileHint> load_profile_hints(const std::filesystem::path& dir,
                                            std::string (*normalized)(std::string_view)) {
  std::vector<ProfileHint> out;
  auto file = dir / "profile_hints.toml";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return out;
  auto doc = parse_toml_file(file);
  each_table(
      doc, "hint", file.string(), "'hint'", "write [[hint]]",
      [&](const toml::table& t, const std::string& where) {
        ProfileHint h{text_field(t, "recipe"), text_field(t, "why"),    text_field(t, "source"),  where,
                      signatures(t, where),    string_list(t, "fused"), string_list(t, "related")};
        if (h.recipe.empty() || h.why.empty() || h.source.empty() || h.signatures.empty()) {
          throw Error(ErrorKind::Usage, "a hint needs recipe, signatures, why and source", where);
        }
        auto check = [&](const std::string& op) {
          if (normalized && normalized(op) != op) {
            throw Error(
                ErrorKind::Usage, fmt::format("op '{}' in hint {} is not a normalized name", op, h.recipe),
                where,
                fmt::format("write '{}' (the profiler's name without version or D suffix)", normalized(op)));
          }
        };
        for (auto& sig : h.signatures)
          for (auto& op : sig) check(op);
        for (auto& op : h.fused) check(op);
        for (auto& op : h.related) check(op);
        out.push_back(std::move(h));
      });
  return out;
}

}  // namespace kcat::kb
