#include "kcat/kb/knowledge.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

namespace {

std::string need(const toml::table& t, const char* key, const std::filesystem::path& file) {
  auto v = t[key].value<std::string>();
  if (!v || v->empty()) {
    throw Error(ErrorKind::Usage, fmt::format("entry without '{}'", key),
                fmt::format("{}:{}", file.string(), t.source().begin.line),
                "every entry needs a name and a source");
  }
  return *v;
}

}  // namespace

KnowledgeBase KnowledgeBase::load(const std::filesystem::path& dir) {
  KnowledgeBase kb;
  std::error_code ec;
  auto api_file = dir / "api_map.toml";
  if (std::filesystem::exists(api_file, ec)) {
    auto doc = parse_toml_file(api_file);
    if (auto* arr = doc["api"].as_array()) {
      for (auto& node : *arr) {
        auto* t = node.as_table();
        if (!t) continue;
        ApiEntry e;
        e.name = need(*t, "cuda", api_file);
        e.source = need(*t, "source", api_file);
        auto v = parse_verdict(text_field(*t, "verdict"));
        if (!v || *v == Verdict::None) {
          throw Error(ErrorKind::Usage, "verdict must be supported, unsupported, unknown or cpu-fallback",
                      fmt::format("{}:{}", api_file.string(), t->source().begin.line));
        }
        e.verdict = *v;
        e.equivalent = text_field(*t, "npu");
        e.note = text_field(*t, "note");
        e.behaviour = text_field(*t, "behaviour");
        if (!kb.apis_.emplace(e.name, e).second) {
          throw Error(ErrorKind::Usage, "duplicate API entry '" + e.name + "'", api_file.string());
        }
      }
    }
  }
  auto env_file = dir / "env_map.toml";
  if (std::filesystem::exists(env_file, ec)) {
    auto doc = parse_toml_file(env_file);
    if (auto* arr = doc["env"].as_array()) {
      for (auto& node : *arr) {
        auto* t = node.as_table();
        if (!t) continue;
        EnvEntry e;
        e.name = need(*t, "cuda", env_file);
        e.source = need(*t, "source", env_file);
        e.action = need(*t, "action", env_file);
        e.ascend = text_field(*t, "ascend");
        e.note = text_field(*t, "note");
        if (e.action == "rename" && e.ascend.empty()) {
          throw Error(ErrorKind::Usage, "rename entry '" + e.name + "' has no 'ascend' name",
                      env_file.string());
        }
        if (!kb.envs_.emplace(e.name, e).second) {
          throw Error(ErrorKind::Usage, "duplicate env entry '" + e.name + "'", env_file.string());
        }
      }
    }
    if (auto* arr = doc["perf"].as_array()) {
      for (auto& node : *arr) {
        auto* t = node.as_table();
        if (!t) continue;
        kb.perf_.push_back({need(*t, "name", env_file), need(*t, "value", env_file), text_field(*t, "for"),
                            need(*t, "what", env_file), need(*t, "source", env_file)});
      }
    }
  }
  return kb;
}

const ApiEntry* KnowledgeBase::api(std::string_view q) const {
  auto it = apis_.find(std::string(q));
  return it == apis_.end() ? nullptr : &it->second;
}

const EnvEntry* KnowledgeBase::env(std::string_view name) const {
  auto it = envs_.find(std::string(name));
  return it == envs_.end() ? nullptr : &it->second;
}

void KnowledgeBase::annotate(std::vector<Finding>& findings) const {
  for (auto& f : findings) {
    if (f.context != Context::Code) continue;
    if (f.codemod == "env-rename") {
      auto* e = env(f.matched);
      if (e && e->action == "rename") {
        f.replacement = e->ascend;
        f.verdict = Verdict::Supported;
        f.equivalent = e->ascend;
      } else {
        f.codemod.clear();
        f.verdict = e ? Verdict::Unsupported : Verdict::Unknown;
        if (e && !e->note.empty()) f.action = e->note;
      }
      continue;
    }
    if (f.category == "cuda-api" || f.category == "amp" || f.category == "cuda-graph" ||
        f.category == "nvtx") {
      const ApiEntry* a = api(f.matched);
      // torch.cuda.amp.autocast is judged by its module when the map has no line for it.
      std::string name = f.matched;
      while (!a && name.find('.') != std::string::npos) {
        name = name.substr(0, name.rfind('.'));
        if (name == "torch.cuda") break;
        a = api(name + ".*");
      }
      if (!a) {
        if (f.matched.rfind("torch.cuda.", 0) == 0) {
          // Not in the map: kcat does not know that torch_npu provides it, so it will not
          // rewrite it blindly.
          f.verdict = Verdict::Unknown;
          if (f.codemod == "replace" && f.category == "cuda-api") {
            f.codemod.clear();
            f.action =
                "check whether torch.npu provides " + f.matched.substr(11) + " (not in kcat's API map)";
          }
        }
        continue;
      }
      f.verdict = a->verdict;
      f.equivalent = a->equivalent;
      if (a->verdict != Verdict::Supported) {
        f.codemod.clear();
        if (!a->note.empty()) f.action = a->note;
      } else if (!a->behaviour.empty() && !f.codemod.empty()) {
        f.codemod.clear();
        f.action = "not rewritten: " + a->equivalent + " " + a->behaviour + "; decide the NPU path by hand";
      }
    }
  }
}

}  // namespace kcat::kb
