#include "kcat/kb/target.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

bool Target::supports(std::string_view dtype) const {
  return std::find(dtypes.begin(), dtypes.end(), dtype) != dtypes.end();
}

std::vector<Target> load_targets(const std::filesystem::path& dir) {
  std::vector<Target> out;
  std::error_code ec;
  // No knowledge base at all (a copied binary, a removed share/kcat): say so, not "unknown target
  // 'ascend-a2'" with an empty list.
  if (!std::filesystem::is_directory(dir, ec)) {
    throw Error(ErrorKind::Environment, "kcat's knowledge base is missing", dir.string(),
                "set KCAT_DATA_DIR to a patches/ folder (the source tree's, or share/kcat/patches of an "
                "installation), or reinstall kcat");
  }
  if (!std::filesystem::is_directory(dir / "targets", ec)) return out;
  std::vector<std::filesystem::path> files;
  for (auto& e : std::filesystem::directory_iterator(dir / "targets")) {
    if (e.path().extension() == ".toml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (auto& f : files) {
    auto doc = parse_toml_file(f);
    auto* arr = doc["target"].as_array();
    if (!arr) continue;
    for (auto& n : *arr) {
      auto& t = *n.as_table();
      Target x;
      x.id = text_field(t, "id");
      x.name = text_field(t, "name");
      x.device = text_field(t, "device");
      x.dist_backend = text_field(t, "dist_backend");
      x.soc_version = text_field(t, "soc_version");
      x.detect = text_field(t, "detect");
      x.source = text_field(t, "source");
      if (auto* d = t["dtypes"].as_array()) {
        for (auto& v : *d) x.dtypes.push_back(v.value_or(std::string{}));
      }
      if (auto* env = t["env"].as_table()) {
        for (auto& [k, v] : *env) x.env[std::string(k.str())] = v.value_or(std::string{});
      }
      if (const auto* tr = t.get("triton")) {
        if (!tr->is_boolean()) {
          throw Error(ErrorKind::Usage, "'triton' must be true or false",
                      fmt::format("{}:{}", f.string(), tr->source().begin.line),
                      "write triton = false where triton-ascend does not run (cite the source)");
        }
        x.triton = tr->value_or(true);
      }
      if (x.id.empty() || x.device.empty() || x.source.empty()) {
        throw Error(ErrorKind::Usage, "a target needs id, device and source",
                    fmt::format("{}:{}", f.string(), t.source().begin.line));
      }
      out.push_back(std::move(x));
    }
  }
  return out;
}

const Target& find_target(const std::vector<Target>& targets, std::string_view id) {
  for (auto& t : targets) {
    if (t.id == id) return t;
  }
  throw Error(ErrorKind::Usage, fmt::format("unknown target '{}'", id), "",
              "known targets: " + target_list(targets));
}

std::vector<std::string> target_ids(const std::vector<Target>& targets) {
  std::vector<std::string> out;
  for (auto& t : targets) out.push_back(t.id);
  return out;
}

std::string target_help(const std::filesystem::path& dir) {
  try {
    auto ts = load_targets(dir);
    if (!ts.empty()) return target_list(ts, " or ");
  } catch (const Error&) {
  }
  return "a target id from patches/targets";
}

std::string target_list(const std::vector<Target>& targets, std::string_view last_joiner) {
  std::string out;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (i > 0) out += i + 1 == targets.size() ? std::string(last_joiner) : std::string(", ");
    out += targets[i].id;
  }
  return out;
}

}  // namespace kcat::kb
