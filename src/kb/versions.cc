#include "kcat/kb/versions.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "kcat/core/error.h"
#include "kcat/kb/toml_json.h"

namespace kcat::kb {

namespace {

// Splits "0.9.0rc1.post2" into comparable pieces: numbers, and a rank for the letters between.
std::vector<std::pair<int, long>> pieces(std::string_view v) {
  v = v.substr(0, v.find('+'));
  if (!v.empty() && (v[0] == 'v' || v[0] == 'V')) v.remove_prefix(1);
  std::vector<std::pair<int, long>> out;
  size_t i = 0;
  while (i < v.size()) {
    if (std::isdigit(static_cast<unsigned char>(v[i]))) {
      long n = 0;
      while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) n = n * 10 + (v[i++] - '0');
      out.push_back({1, n});
    } else if (std::isalpha(static_cast<unsigned char>(v[i]))) {
      std::string w;
      while (i < v.size() && std::isalpha(static_cast<unsigned char>(v[i])))
        w += static_cast<char>(std::tolower(v[i++]));
      // pre-releases sort before the release (rank < 1), post after; RC/alpha in CANN alike
      int rank = w == "dev"                   ? -4
                 : (w == "a" || w == "alpha") ? -3
                 : (w == "b" || w == "beta")  ? -2
                 : (w == "rc" || w == "c")    ? -1
                 : w == "post"                ? 2
                                              : 0;
      out.push_back({rank, 0});
    } else {
      ++i;
    }
  }
  return out;
}

}  // namespace

int compare_versions(std::string_view a, std::string_view b) {
  auto x = pieces(a), y = pieces(b);
  size_t n = std::max(x.size(), y.size());
  for (size_t i = 0; i < n; ++i) {
    // A missing piece compares as the release itself (rank 1, value 0): 0.8.5 == 0.8.5.0 < 0.8.5.post1
    auto p = i < x.size() ? x[i] : std::pair<int, long>{1, 0};
    auto q = i < y.size() ? y[i] : std::pair<int, long>{1, 0};
    if (p.first != q.first) return p.first < q.first ? -1 : 1;
    if (p.second != q.second) return p.second < q.second ? -1 : 1;
  }
  return 0;
}

bool satisfies(std::string_view version, std::string_view op, std::string_view bound) {
  int c = compare_versions(version, bound);
  if (op == "==") return c == 0;
  if (op == "!=") return c != 0;
  if (op == ">=") return c >= 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  if (op == "<") return c < 0;
  return true;
}

std::string release_of(std::string_view v) {
  auto s = std::string(v.substr(0, v.find('+')));
  // CANN builds: 8.1.RC1.alpha001 -> 8.1.RC1
  auto rc = s.find(".RC");
  if (rc != std::string::npos) {
    auto dot = s.find('.', rc + 1);
    if (dot != std::string::npos) s = s.substr(0, dot);
  }
  for (auto suffix : {".alpha", ".beta"}) {
    auto p = s.find(suffix);
    if (p != std::string::npos) s = s.substr(0, p);
  }
  return s;
}

namespace {

// "8.5.1" -> {8,5,1}; anything else (8.1.RC1, 9.1.0-beta.1) -> empty: only exact matches.
std::vector<long> plain_release(std::string_view v) {
  std::vector<long> out;
  long n = -1;
  for (char c : v) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      n = (n < 0 ? 0 : n * 10) + (c - '0');
    } else if (c == '.' && n >= 0) {
      out.push_back(n);
      n = -1;
    } else {
      return {};
    }
  }
  if (n < 0) return {};
  out.push_back(n);
  return out.size() == 3 ? out : std::vector<long>{};
}

}  // namespace

CannFit cann_fit(std::string_view installed, std::string_view row) {
  auto a = release_of(installed), b = release_of(row);
  if (a == b) return CannFit::same;
  auto x = plain_release(a), y = plain_release(b);
  if (x.empty() || y.empty() || x[0] != y[0] || x[1] != y[1]) return CannFit::mismatch;
  return x[2] > y[2] ? CannFit::patch : CannFit::older_patch;
}

VersionMatrix VersionMatrix::load(const std::filesystem::path& dir) {
  VersionMatrix m;
  m.dir = dir;
  std::error_code ec;
  if (auto def = dir / "versions" / "default.toml"; std::filesystem::exists(def, ec)) {
    auto doc = parse_toml_file(def);
    m.default_cann = doc["cann"].value_or(std::string{});
  }
  if (auto fam = dir / "versions" / "families.toml"; std::filesystem::exists(fam, ec)) {
    auto doc = parse_toml_file(fam);
    if (auto* a = doc["torch"].as_array()) {
      for (auto& n : *a) {
        auto& t = *n.as_table();
        m.torch_family.push_back({text_field(t, "torch"), text_field(t, "torchvision"),
                                  text_field(t, "torchaudio"), text_field(t, "source")});
      }
    }
    if (auto* a = doc["tokenizers"].as_array()) {
      for (auto& n : *a) {
        auto& t = *n.as_table();
        m.tokenizers.push_back(
            {text_field(t, "transformers"), text_field(t, "tokenizers"), text_field(t, "source")});
      }
    }
    if (auto* a = doc["cuda_only"].as_array()) {
      for (auto& n : *a) {
        auto& t = *n.as_table();
        m.cuda_only.push_back({text_field(t, "name"), text_field(t, "replacement"), text_field(t, "source")});
      }
    }
  }
  auto tn = dir / "versions" / "torch_npu.toml";
  if (std::filesystem::exists(tn, ec)) {
    auto doc = parse_toml_file(tn);
    for (auto [key, rows] :
         {std::pair{"torch_npu", &m.torch_npu}, std::pair{"torch_npu_pinned", &m.torch_npu_pinned}}) {
      if (auto* a = doc[key].as_array()) {
        for (auto& n : *a) {
          auto& t = *n.as_table();
          rows->push_back({text_field(t, "torch_npu"), text_field(t, "branch"), text_field(t, "torch"),
                           text_field(t, "cann"), text_field(t, "source")});
        }
      }
    }
    if (auto* a = doc["torch_python"].as_array()) {
      for (auto& n : *a) {
        auto& t = *n.as_table();
        TorchPythonRow r{text_field(t, "torch"), {}, text_field(t, "source")};
        if (auto* py = t["python"].as_array()) {
          for (auto& p : *py) r.python.push_back(p.value_or(std::string{}));
        }
        m.torch_python.push_back(std::move(r));
      }
    }
  }
  auto hdk = dir / "versions" / "hdk.toml";
  if (std::filesystem::exists(hdk, ec)) {
    auto doc = parse_toml_file(hdk);
    if (auto* a = doc["hdk"].as_array()) {
      for (auto& n : *a) {
        auto& t = *n.as_table();
        m.hdk.push_back({text_field(t, "cann"), text_field(t, "min_driver"), text_field(t, "source")});
      }
    }
  }
  auto va = dir / "versions" / "vllm_ascend.toml";
  if (std::filesystem::exists(va, ec)) {
    auto doc = parse_toml_file(va);
    for (auto [key, pkg] : {std::pair{"vllm_ascend_note", "vllm-ascend"}, std::pair{"vllm_note", "vllm"}}) {
      if (auto* a = doc[key].as_array()) {
        for (auto& n : *a) {
          auto& t = *n.as_table();
          RequirementNote note{pkg,
                               text_field(t, std::string(pkg) == "vllm" ? "vllm" : "vllm_ascend"),
                               {},
                               text_field(t, "source")};
          if (auto* r = t["requires"].as_array()) {
            for (auto& x : *r) note.needs.push_back(x.value_or(std::string{}));
          }
          m.notes.push_back(std::move(note));
        }
      }
    }
    if (auto* a = doc["vllm_ascend"].as_array()) {
      for (auto& n : *a) {
        auto& t = *n.as_table();
        m.vllm_ascend.push_back({text_field(t, "vllm_ascend"), text_field(t, "vllm"), text_field(t, "python"),
                                 text_field(t, "cann"), text_field(t, "torch"), text_field(t, "torch_npu"),
                                 text_field(t, "source")});
      }
    }
  }
  return m;
}

const TorchNpuRow* VersionMatrix::for_torch_npu(std::string_view v) const {
  auto want = std::string(v.substr(0, v.find('+')));
  for (auto* rows : {&torch_npu, &torch_npu_pinned}) {
    for (auto& r : *rows) {
      if (r.torch_npu == want) return &r;
    }
  }
  return nullptr;
}

std::vector<const TorchNpuRow*> VersionMatrix::for_cann(std::string_view cann) const {
  std::vector<const TorchNpuRow*> out;
  // Exact rows first, then a patch release's line (8.5.1 runs the 8.5.0 rows); Ascend's table
  // before vllm-ascend's pins.
  for (auto fit : {CannFit::same, CannFit::patch}) {
    for (auto* rows : {&torch_npu, &torch_npu_pinned}) {
      for (auto& r : *rows) {
        if (cann_fit(cann, r.cann) == fit) out.push_back(&r);
      }
    }
  }
  return out;
}

std::vector<const TorchNpuRow*> VersionMatrix::for_cann_line(std::string_view cann) const {
  auto out = for_cann(cann);
  if (!out.empty()) return out;
  // An older patch of a row's release (8.5.0 for rows saying 8.5.1) runs the same builds.
  for (auto& r : torch_npu) {
    if (cann_fit(cann, r.cann) == CannFit::older_patch) out.push_back(&r);
  }
  return out;
}

std::vector<const VllmAscendRow*> VersionMatrix::vllm_for_cann(std::string_view cann) const {
  std::vector<const VllmAscendRow*> out;
  for (auto fit : {CannFit::same, CannFit::patch}) {
    for (auto& r : vllm_ascend) {
      if (cann_fit(cann, r.cann) == fit) out.push_back(&r);
    }
  }
  return out;
}

const TorchFamilyRow* VersionMatrix::family_for_torch(std::string_view torch) const {
  auto want = release_of(torch);
  for (auto& r : torch_family) {
    if (want.rfind(r.torch + ".", 0) == 0 || want == r.torch) return &r;
  }
  return nullptr;
}

const TorchPythonRow* VersionMatrix::python_for_torch(std::string_view torch) const {
  auto want = release_of(torch);
  for (auto& r : torch_python) {
    if (r.torch == want) return &r;
  }
  return nullptr;
}

const VllmAscendRow* VersionMatrix::for_vllm_ascend(std::string_view v) const {
  auto want = std::string(v.substr(0, v.find('+')));
  if (!want.empty() && want[0] == 'v') want.erase(0, 1);
  for (auto& r : vllm_ascend) {
    if (r.vllm_ascend == want) return &r;
  }
  return nullptr;
}

std::vector<std::string> VersionMatrix::contradictions() const {
  std::vector<std::string> out;
  std::map<std::string, const TorchNpuRow*> seen;
  for (auto [rows, label] : {std::pair{&torch_npu, ""}, std::pair{&torch_npu_pinned, " (pinned)"}}) {
    for (auto& r : *rows) {
      if (r.source.empty()) out.push_back("torch_npu " + r.torch_npu + label + " has no source");
      auto [it, fresh] = seen.emplace(r.torch_npu, &r);
      if (!fresh && (it->second->torch != r.torch || it->second->cann != r.cann)) {
        out.push_back(fmt::format("torch_npu {} maps to torch {} / CANN {} and to torch {} / CANN {}",
                                  r.torch_npu, it->second->torch, it->second->cann, r.torch, r.cann));
      }
    }
  }
  std::map<std::string, const VllmAscendRow*> va;
  for (auto& r : vllm_ascend) {
    if (r.source.empty()) out.push_back("vllm-ascend " + r.vllm_ascend + " has no source");
    auto [it, fresh] = va.emplace(r.vllm_ascend, &r);
    if (!fresh) out.push_back("vllm-ascend " + r.vllm_ascend + " appears twice");
  }
  for (auto& r : hdk) {
    if (r.source.empty()) out.push_back("HDK for CANN " + r.cann + " has no source");
  }
  for (auto& r : torch_python) {
    if (r.source.empty()) out.push_back("torch " + r.torch + " (python table) has no source");
  }
  for (auto& r : torch_family) {
    if (r.source.empty()) out.push_back("torch " + r.torch + " (family table) has no source");
  }
  for (auto& r : tokenizers) {
    if (r.source.empty())
      out.push_back("transformers " + r.transformers + " (tokenizers table) has no source");
  }
  for (auto& r : cuda_only) {
    if (r.source.empty()) out.push_back("CUDA-only package " + r.name + " has no source");
  }
  return out;
}

}  // namespace kcat::kb
