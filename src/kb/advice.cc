#include "kcat/kb/advice.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

const PackageAdvice* AdviceSet::find(std::string_view package) const {
  for (const auto& p : packages) {
    if (p.package == package) return &p;
  }
  return nullptr;
}

const AdviceSet& shipped_advice() {
  static const AdviceSet set = load_advice(default_data_dir() / "advice");
  return set;
}

std::string cuda_only_package(std::string_view matched) {
  auto pkg = std::string(matched.substr(0, matched.find('.')));
  if (pkg == "flash_attn_interface" || pkg == "flash_attn_2_cuda") pkg = "flash_attn";
  return pkg;
}

AdviceSet load_advice(const std::filesystem::path& dir) {
  AdviceSet set;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return set;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".toml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  constexpr const char* kHint = "[[package]] needs name, advice and source (docs/recipes.md)";
  for (const auto& file : files) {
    auto t = parse_toml_file(file, kHint);
    each_table(t, "package", file.string(), "[[package]]", kHint,
               [&](const toml::table& pt, const std::string& where) {
                 PackageAdvice a;
                 a.package = text_field(pt, "name");
                 a.advice = text_field(pt, "advice");
                 a.guarded = text_field(pt, "guarded");
                 a.guarded_no_change = pt["guarded_no_change"].value_or(false);
                 a.recipe = text_field(pt, "recipe");
                 a.source = text_field(pt, "source");
                 if (a.package.empty() || a.advice.empty() || a.source.empty())
                   throw Error(ErrorKind::Usage, "package advice without name, advice or source", where,
                               kHint);
                 if (set.find(a.package))
                   throw Error(ErrorKind::Usage, "duplicate package advice " + a.package, where, kHint);
                 set.packages.push_back(std::move(a));
               });
  }
  return set;
}

}  // namespace kcat::kb
