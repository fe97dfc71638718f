#include "kcat/env/requirements.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <toml++/toml.h>
#include <algorithm>
#include <sstream>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/glob.h"
#include "kcat/kb/toml_json.h"

namespace kcat::env {

namespace {

namespace fs = std::filesystem;

std::string normalise(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return c == '_' || c == '.' ? '-' : std::tolower(c); });
  return name;
}

// CUDA-only packages and what takes their place on Ascend.
const std::vector<std::pair<std::string, std::string>>& cuda_only() {
  static const std::vector<std::pair<std::string, std::string>> m = {
      {"flash-attn", "torch_npu.npu_fusion_attention (or SDPA); recipe flash-attn-to-npu-fusion-attention"},
      {"xformers", "torch_npu fused attention (npu_fusion_attention) or SDPA"},
      {"nvidia-*", "nothing: CANN provides the runtime libraries"},
      {"cupy-cuda*", "numpy on the host, or torch tensors on the NPU"},
      {"pynvml", "npu-smi info, or torch.npu memory APIs"},
      {"nvidia-ml-py*", "npu-smi info, or torch.npu memory APIs"},
      {"bitsandbytes", "unquantized bf16/fp16, or W8A8 quantization served by vllm-ascend"},
      {"triton", "triton-ascend at the version vllm-ascend pins, if Triton kernels are kept"},
      {"apex", "torch_npu's fused optimizers and torch.npu.amp"},
      {"mamba-ssm", "a PyTorch implementation of the scan (no NPU kernel package)"},
      {"causal-conv1d", "torch.nn.functional.conv1d (no NPU kernel package)"},
      {"flashinfer*", "vllm-ascend's attention backends"},
      {"tensorrt*", "vllm-ascend / CANN graph mode"},
      {"pycuda", "the ACL runtime through torch_npu"},
      {"deepspeed-kernels", "DeepSpeed with DS_ACCELERATOR=npu"},
      {"transformer-engine", "torch_npu fused operators"},
  };
  return m;
}

struct Line {
  std::string text;     // as written
  std::string kind;     // package | wheel | index | option | comment | blank
  std::string name;     // normalised package name
  std::string version;  // pinned version (== or from a wheel file name)
  std::string file;
};

Line parse_line(const std::string& raw, const std::string& file) {
  Line l{raw, "blank", "", "", file};
  std::string s = raw;
  auto hash = s.find(" #");
  if (s.rfind("#", 0) == 0) {
    l.kind = "comment";
    return l;
  }
  if (hash != std::string::npos) s = s.substr(0, hash);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return l;
  s = s.substr(first);
  if (s.rfind("--index-url", 0) == 0 || s.rfind("--extra-index-url", 0) == 0 || s.rfind("-i ", 0) == 0 ||
      s.rfind("--find-links", 0) == 0 || s.rfind("-f ", 0) == 0) {
    l.kind = "index";
    return l;
  }
  if (s[0] == '-') {
    l.kind = "option";
    return l;
  }
  std::string wheel;
  if (RE2::PartialMatch(s, R"(([A-Za-z0-9_.]+-[0-9][^/\s]*\.whl))", &wheel)) {
    l.kind = "wheel";
    auto dash = wheel.find('-');
    l.name = normalise(wheel.substr(0, dash));
    auto rest = wheel.substr(dash + 1);
    l.version = rest.substr(0, rest.find('-'));
    return l;
  }
  std::string name, ver;
  if (!RE2::PartialMatch(s, R"(^([A-Za-z0-9][A-Za-z0-9._-]*))", &name)) return l;
  l.kind = "package";
  l.name = normalise(name);
  RE2::PartialMatch(s, R"(==\s*([^\s,;]+))", &ver);
  l.version = ver;
  return l;
}

std::string cuda_replacement(const std::string& name) {
  for (auto& [glob, repl] : cuda_only()) {
    if (glob_match(glob, name)) return repl;
  }
  return {};
}

std::vector<Line> read_requirements(const fs::path& file, int depth = 0) {
  std::vector<Line> out;
  std::istringstream in(read_file(file));
  std::string raw;
  while (std::getline(in, raw)) {
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    std::string inc;
    if (depth < 5 && RE2::FullMatch(raw, R"(\s*(?:-r|--requirement)\s+(\S+)\s*)", &inc)) {
      auto sub = file.parent_path() / inc;
      std::error_code ec;
      if (fs::exists(sub, ec)) {
        auto more = read_requirements(sub, depth + 1);
        out.insert(out.end(), more.begin(), more.end());
        continue;
      }
    }
    out.push_back(parse_line(raw, file.filename().string()));
  }
  return out;
}

// `pip install a==1 b` lines in README.md and shell scripts, one Line per package argument.
std::vector<Line> install_lines(const fs::path& file) {
  std::vector<Line> out;
  std::istringstream in(read_file(file));
  std::string raw;
  static const RE2 pip(R"(pip3?\s+install\s+(.*))");
  while (std::getline(in, raw)) {
    std::string args;
    if (!RE2::PartialMatch(raw, pip, &args)) continue;
    std::istringstream words(args);
    std::string w;
    bool skip_next = false, index_next = false;
    while (words >> w) {
      if (index_next) {
        out.push_back(parse_line("--extra-index-url " + w, file.filename().string()));
        index_next = false;
        continue;
      }
      if (skip_next) {
        skip_next = false;
        continue;
      }
      if (w == "--index-url" || w == "--extra-index-url" || w == "-i") {
        index_next = true;
        continue;
      }
      if (w == "-r") {
        skip_next = true;
        continue;
      }
      if (w[0] == '-' || w == "&&" || w == "|" || w == "\\") continue;
      auto l = parse_line(w, file.filename().string());
      if (l.kind == "package" || l.kind == "wheel") out.push_back(l);
    }
  }
  return out;
}

// pyproject.toml [project].dependencies and optional-dependencies.
std::vector<Line> pyproject_lines(const fs::path& file) {
  std::vector<Line> out;
  auto doc = kb::parse_toml_file(file);
  auto add = [&](const toml::array* a) {
    if (!a) return;
    for (auto& v : *a) {
      if (auto str = v.value<std::string>()) out.push_back(parse_line(*str, "pyproject.toml"));
    }
  };
  add(doc["project"]["dependencies"].as_array());
  if (auto* opt = doc["project"]["optional-dependencies"].as_table()) {
    for (auto& [k, v] : *opt) add(v.as_array());
  }
  return out;
}

// setup.py install_requires=[...]: the string literals of the list (not executed).
std::vector<Line> setup_py_lines(const fs::path& file) {
  std::vector<Line> out;
  auto text = read_file(file);
  std::string list;
  static const RE2 re(R"(install_requires\s*=\s*\[([^\]]*)\])");
  if (!RE2::PartialMatch(text, re, &list)) return out;
  re2::StringPiece in(list);
  std::string item;
  while (RE2::FindAndConsume(&in, R"([\"']([^\"']+)[\"'])", &item))
    out.push_back(parse_line(item, "setup.py"));
  return out;
}

// environment.yml: `- name=1.0` conda entries and the `- pip:` list beneath them.
std::vector<Line> conda_lines(const fs::path& file) {
  std::vector<Line> out;
  std::istringstream in(read_file(file));
  std::string raw;
  bool deps = false;
  while (std::getline(in, raw)) {
    if (raw.rfind("dependencies:", 0) == 0) {
      deps = true;
      continue;
    }
    if (!raw.empty() && !std::isspace(static_cast<unsigned char>(raw[0])) && raw[0] != '-') deps = false;
    std::string item;
    if (!deps || !RE2::FullMatch(raw, R"(\s*-\s+([^#:]+?)\s*)", &item)) continue;
    // conda's `name=1.0` is pip's `name==1.0`
    std::string name, ver;
    if (RE2::FullMatch(item, R"(([A-Za-z0-9_.-]+)=([^=]\S*))", &name, &ver)) item = name + "==" + ver;
    auto l = parse_line(item, file.filename().string());
    if (l.name == "python" || l.name == "pip") continue;  // conda's own, not a pip requirement
    out.push_back(l);
  }
  return out;
}

// Every requirement line of the repository: requirement and constraint files, declared
// dependencies (pyproject.toml, setup.py, environment.yml) and install lines in the README and
// scripts, each package once. Names what it read in s.read.
std::vector<Line> gather_lines(const fs::path& repo, Solution& s) {
  std::vector<Line> lines;
  std::error_code ec;
  std::vector<fs::path> req_files;
  for (auto& e : fs::directory_iterator(repo, ec)) {
    auto n = e.path().filename().string();
    if (e.is_regular_file() && (glob_match("requirements*.txt", n) || glob_match("constraints*.txt", n)) &&
        n != "requirements-ascend.txt") {
      req_files.push_back(e.path());
    }
  }
  std::sort(req_files.begin(), req_files.end());
  for (auto& f : req_files) {
    auto more = read_requirements(f);
    lines.insert(lines.end(), more.begin(), more.end());
    s.read.push_back(f.filename().string());
  }
  // Declared dependencies the requirement files do not repeat.
  std::vector<Line> declared;
  for (auto [name, reader] :
       {std::pair{"pyproject.toml", &pyproject_lines}, std::pair{"setup.py", &setup_py_lines},
        std::pair{"environment.yml", &conda_lines}, std::pair{"environment.yaml", &conda_lines}}) {
    if (!fs::is_regular_file(repo / name, ec)) continue;
    auto more = reader(repo / name);
    s.read.push_back(name);
    declared.insert(declared.end(), more.begin(), more.end());
  }
  // Install lines in the README and scripts add packages the requirement files do not list.
  std::vector<Line> extra = declared;
  for (auto& e : fs::recursive_directory_iterator(repo, fs::directory_options::skip_permission_denied, ec)) {
    auto n = e.path().filename().string();
    if (e.path().string().find("/.") != std::string::npos) continue;
    if (!e.is_regular_file() || (n != "README.md" && e.path().extension() != ".sh")) continue;
    auto more = install_lines(e.path());
    if (!more.empty()) s.read.push_back(relative_slash(repo, e.path()));
    extra.insert(extra.end(), more.begin(), more.end());
  }
  for (auto& x : extra) {
    bool listed = std::any_of(lines.begin(), lines.end(), [&](const Line& l) {
      return x.kind == "index" ? l.text == x.text : l.name == x.name;
    });
    if (!listed) lines.push_back(x);
  }
  if (lines.empty()) {
    throw Error(
        ErrorKind::Usage, "no requirements found", repo.string(),
        "kcat reads requirements*.txt, constraints*.txt and `pip install` lines in README.md and *.sh");
  }
  return lines;
}

const Line* find_line(const std::vector<Line>& lines, const std::string& name) {
  for (auto& l : lines) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

void choose_row(Solution& s, const Line* vllm, const std::string& cann, const kb::VersionMatrix& m) {
  // Choose the row: vllm-ascend's when vLLM is used (preferring the project's vLLM release), else
  // the newest torch_npu row for the CANN.
  if (!cann.empty() && m.for_cann(cann).empty() &&
      std::none_of(m.vllm_ascend.begin(), m.vllm_ascend.end(),
                   [&](auto& r) { return r.cann == kb::release_of(cann); })) {
    std::string known;
    for (auto& r : m.torch_npu) {
      if (known.find(r.cann) == std::string::npos) known += (known.empty() ? "" : ", ") + r.cann;
    }
    throw Error(ErrorKind::Usage, "CANN " + cann + " is not in the version matrix", "", "known: " + known);
  }
  if (vllm) {
    const kb::VllmAscendRow* best = nullptr;
    for (auto& r : m.vllm_ascend) {
      if (!cann.empty() && r.cann != kb::release_of(cann)) continue;
      bool same =
          !vllm->version.empty() && kb::release_of(r.vllm).rfind(kb::release_of(vllm->version), 0) == 0;
      if (same) {
        best = &r;
        break;
      }
      if (!best) best = &r;  // rows are newest first
    }
    if (!best)
      throw Error(ErrorKind::Usage, "no vllm-ascend release for CANN " + cann, "", "pick another --cann");
    s.vllm_ascend = *best;
    if (!vllm->version.empty() && kb::release_of(best->vllm).rfind(kb::release_of(vllm->version), 0) != 0) {
      s.conflicts.push_back(
          {"vllm " + vllm->version,
           fmt::format("vllm-ascend for CANN {} supports vLLM {}, the project pins {}: its vLLM code must "
                       "be ported to {}",
                       best->cann, best->vllm, vllm->version, best->vllm),
           best->source});
    }
    s.cann = best->cann;
    s.torch = best->torch;
    s.torch_npu = best->torch_npu;
    s.python = best->python;
  } else {
    auto rows = cann.empty() ? std::vector<const kb::TorchNpuRow*>{&m.torch_npu.front()} : m.for_cann(cann);
    auto* row = rows.front();
    s.cann = row->cann;
    s.torch = row->torch;
    s.torch_npu = row->torch_npu;
    if (auto* py = m.python_for_torch(row->torch)) {
      for (auto& v : py->python) s.python += (s.python.empty() ? "" : ", ") + v;
    }
  }
}

void rewrite_lines(Solution& s, const std::vector<Line>& lines) {
  // Rewrite, line by line, saying why at each changed line.
  bool cpu_index = false;
  for (auto& l : lines) {
    if (l.kind == "index" && l.text.find("download.pytorch.org/whl/cu") != std::string::npos) {
      s.dropped.push_back({l.text, l.file, "the CPU wheel index (torch) plus torch-npu from PyPI"});
      if (!cpu_index) {
        s.lines.push_back(
            "--extra-index-url https://download.pytorch.org/whl/cpu  # kcat: CPU torch wheels; the NPU comes "
            "from torch-npu (was: " +
            l.text + ")");
        cpu_index = true;
      }
      continue;
    }
    if (l.kind != "package" && l.kind != "wheel") {
      s.lines.push_back(l.text);
      continue;
    }
    if (auto repl = cuda_replacement(l.name); !repl.empty()) {
      s.dropped.push_back({l.text, l.file, repl});
      s.lines.push_back("# " + l.text + "  # kcat: dropped, CUDA-only; on Ascend: " + repl);
      continue;
    }
    if (l.name == "torch") {
      s.lines.push_back(fmt::format("torch=={}  # kcat: the CPU build that torch-npu {} needs (was: {})",
                                    s.torch, s.torch_npu, l.text));
      continue;
    }
    if (l.name == "vllm") {
      s.lines.push_back(
          fmt::format("# vllm=={}  # kcat: build from source with VLLM_TARGET_DEVICE=empty, then vllm-ascend "
                      "(vllm-ascend installation guide); was: {}",
                      s.vllm_ascend ? s.vllm_ascend->vllm : "", l.text));
      continue;
    }
    if (l.kind == "wheel" || l.text.find("+cu") != std::string::npos) {
      std::string clean = l.version.substr(0, l.version.find('+'));
      s.lines.push_back(fmt::format("{}=={}  # kcat: CPU / generic build (was: {})", l.name, clean, l.text));
      continue;
    }
    s.lines.push_back(l.text);
  }
  s.lines.push_back(fmt::format("torch-npu=={}  # kcat: for CANN {} (Ascend/pytorch COMPATIBILITY.en.md)",
                                s.torch_npu, s.cann));
  if (s.vllm_ascend) {
    s.lines.push_back(fmt::format("vllm-ascend=={}  # kcat: for vLLM {}, CANN {}, Python {} ({})",
                                  s.vllm_ascend->vllm_ascend, s.vllm_ascend->vllm, s.vllm_ascend->cann,
                                  s.vllm_ascend->python, s.vllm_ascend->source));
  }
}

void resolve_notes(Solution& s, const std::vector<Line>& lines, const Line* vllm,
                   const kb::VersionMatrix& m) {
  // Conflicts the pins imply: what the chosen vLLM and vllm-ascend need against what is pinned.
  for (auto& note : m.notes) {
    bool applies =
        (note.package == "vllm" && vllm && kb::release_of(vllm->version) == note.version) ||
        (note.package == "vllm-ascend" && s.vllm_ascend && s.vllm_ascend->vllm_ascend == note.version);
    if (!applies) continue;
    for (auto& need : note.needs) {
      std::string pkg, op, bound;
      if (!RE2::FullMatch(need, R"(([A-Za-z0-9_.-]+)\s*(==|>=|<=|!=|<|>)\s*(\S+))", &pkg, &op, &bound))
        continue;
      auto* pinned = find_line(lines, normalise(pkg));
      if (!pinned || pinned->version.empty() || normalise(pkg) == "torch-npu" || normalise(pkg) == "torch")
        continue;
      if (!kb::satisfies(pinned->version, op, bound)) {
        // Resolved: the stack's requirement wins (vLLM / vllm-ascend will not run otherwise); the
        // line says what it was, and the report says what to re-test.
        auto it = std::find(s.lines.begin(), s.lines.end(), pinned->text);
        Conflict c{pkg + " " + pinned->version,
                   fmt::format("{} {} requires {}, the project pins {}=={} ({})", note.package, note.version,
                               need, pkg, pinned->version, pinned->file),
                   note.source};
        if (it != s.lines.end()) {
          *it = fmt::format("{}{}{}  # kcat: {} {} requires it (was: {}); re-test the code that used {} {}",
                            pkg, op, bound, note.package, note.version, pinned->text, pkg, pinned->version);
          c.explanation += fmt::format("; pinned to {}{}{} instead: re-test the code that relied on {} {}",
                                       pkg, op, bound, pkg, pinned->version);
          s.resolved.push_back(std::move(c));
        } else {
          c.explanation +=
              "; move the pin to a version that satisfies it, and re-test the code that relied on the old "
              "one";
          s.conflicts.push_back(std::move(c));
        }
      }
    }
  }
}

}  // namespace

Solution solve(const fs::path& repo, const std::string& cann, const kb::VersionMatrix& m) {
  Solution s;
  auto lines = gather_lines(repo, s);
  const Line* vllm = find_line(lines, "vllm");
  choose_row(s, vllm, cann, m);
  rewrite_lines(s, lines);
  resolve_notes(s, lines, vllm, m);
  return s;
}

std::string render_file(const Solution& s) {
  std::string out = fmt::format(
      "# requirements-ascend.txt, written by kcat for CANN {} (torch {}, torch-npu {}{}). Python: {}.\n"
      "# Install torch from the CPU index and torch-npu from PyPI; every line kcat changed says why.\n",
      s.cann, s.torch, s.torch_npu, s.vllm_ascend ? ", vllm-ascend " + s.vllm_ascend->vllm_ascend : "",
      s.python);
  for (auto& l : s.lines) out += l + "\n";
  return out;
}

std::string render_summary(const Solution& s) {
  std::string out = fmt::format("read: ");
  for (auto& r : s.read) out += r + " ";
  out += fmt::format("\nchosen: CANN {}, torch {}, torch-npu {}", s.cann, s.torch, s.torch_npu);
  if (s.vllm_ascend)
    out += fmt::format(", vllm {}, vllm-ascend {}", s.vllm_ascend->vllm, s.vllm_ascend->vllm_ascend);
  out += fmt::format("; Python {}\n", s.python);
  for (auto& d : s.dropped) out += fmt::format("dropped: {} ({}) -> {}\n", d.what, d.file, d.replacement);
  for (auto& c : s.resolved)
    out += fmt::format("resolved: {}: {}\n  source: {}\n", c.what, c.explanation, c.source);
  for (auto& c : s.conflicts)
    out += fmt::format("conflict: {}: {}\n  source: {}\n", c.what, c.explanation, c.source);
  return out;
}

}  // namespace kcat::env
