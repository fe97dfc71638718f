#include "kcat/env/requirements.h"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/glob.h"
#include "kcat/env/pep508.h"
#include "kcat/env/sources.h"
#include "kcat/exec/process.h"

namespace kcat::env {

namespace {

namespace fs = std::filesystem;

// One line of requirements-ascend.txt in the making: the entry it came from and its text now.
struct Out {
  Entry e;
  std::string line;      // the requirement as it will be written
  std::string why;       // kcat's comment, "" when unchanged
  bool comment = false;  // written as a comment (dropped, refused)
  std::string name() const { return e.name(); }
};

const kb::CudaOnly* cuda_only(const kb::VersionMatrix& m, const std::string& name) {
  for (auto& c : m.cuda_only) {
    if (glob_match(c.name, name)) return &c;
  }
  return nullptr;
}

bool is_cuda_index(const std::string& url) {
  return url.find("download.pytorch.org/whl/cu") != std::string::npos ||
         url.find("download.pytorch.org/whl/nightly/cu") != std::string::npos;
}

// The Python the stack runs on, as a marker environment: the newest 3.x the range admits.
// The range is a specifier (">= 3.10, < 3.12") or a list of versions ("3.9, 3.10, 3.11").
std::string python_for(const std::string& range) {
  std::string spec = range;
  spec.erase(std::remove(spec.begin(), spec.end(), ' '), spec.end());
  if (spec.empty()) return "3.11";
  if (spec.find_first_of("<>=!~") == std::string::npos) {
    auto last = spec.substr(spec.find_last_of(',') == std::string::npos ? 0 : spec.find_last_of(',') + 1);
    return pep::Version::try_parse(last) ? last : "3.11";
  }
  pep::SpecifierSet set;
  try {
    set = pep::SpecifierSet::parse(spec);
  } catch (const Error&) {
    return "3.11";
  }
  for (auto v : {"3.12", "3.11", "3.10", "3.9"}) {
    if (set.contains(std::string(v) + ".0")) return v;
  }
  return "3.11";
}

// The Python minor versions (3.8 .. 3.14) a range admits: a specifier or a list ("3.10, 3.11").
std::vector<std::string> python_minors(const std::string& range) {
  std::string spec = range;
  spec.erase(std::remove(spec.begin(), spec.end(), ' '), spec.end());
  std::vector<std::string> out;
  std::optional<pep::SpecifierSet> set;
  if (spec.find_first_of("<>=!~") != std::string::npos) {
    try {
      set = pep::SpecifierSet::parse(spec);
    } catch (const Error&) {
      return out;
    }
  }
  for (int minor = 8; minor <= 14; ++minor) {
    auto v = "3." + std::to_string(minor);
    bool in = set ? set->contains(v + ".0") || set->contains(v + ".99")
                  : ("," + spec + ",").find("," + v + ",") != std::string::npos;
    if (in) out.push_back(v);
  }
  return out;
}

std::string requirement_text(const pep::Requirement& r, const pep::SpecifierSet& spec) {
  pep::Requirement c = r;
  c.specifier = spec;
  return c.str();
}

struct Solver {
  const kb::VersionMatrix& m;
  const SolveOptions& o;
  Solution s;
  std::vector<Out> outs;
  std::string own;
  std::string repo_name;        // the checkout's directory name, canonical
  bool triton_dropped = false;  // the project's triton was dropped: triton-ascend takes its place

  Out* find(const std::string& name) {
    for (auto& x : outs) {
      if (!x.comment && x.e.req && x.name() == name) return &x;
    }
    return nullptr;
  }
  const Out* find_any(const std::string& name) const {
    for (auto& x : outs) {
      if (x.e.req && x.name() == name) return &x;
    }
    return nullptr;
  }

  void drop(Out& x, const std::string& replacement, bool record = true) {
    x.comment = true;
    x.why = "dropped, " + replacement;
    if (record) s.dropped.push_back({x.e.text, x.e.file, replacement});
  }

  // ---- the stack ----

  std::optional<std::string> project_version(const std::string& name) const {
    auto* x = find_any(name);
    if (!x || !x->e.req) return std::nullopt;
    if (auto p = x->e.req->specifier.pinned()) return *p;
    return std::nullopt;
  }

  void choose_stack() {
    auto known = [&] {
      std::string k;
      for (auto& r : m.torch_npu) {
        if (k.find(r.cann) == std::string::npos) k += (k.empty() ? "" : ", ") + r.cann;
      }
      return k;
    };
    const std::string& cann = o.cann;
    if (!cann.empty() && m.for_cann_line(cann).empty() && m.vllm_for_cann(cann).empty()) {
      throw Error(ErrorKind::Usage, "CANN " + cann + " is not in the version matrix", "",
                  "known: " + known());
    }
    bool uses_vllm = find_any("vllm") != nullptr;
    auto vllm_version = project_version("vllm");
    if (!o.vllm_ascend.empty()) {
      auto* row = m.for_vllm_ascend(o.vllm_ascend);
      if (!row)
        throw Error(ErrorKind::Usage, "vllm-ascend " + o.vllm_ascend + " is not in the version matrix");
      set_vllm_row(*row, vllm_version);
      s.stack_reason =
          fmt::format("the stack of route {} (vllm-ascend {}, {})", o.route, row->vllm_ascend, row->source);
      return;
    }
    if (uses_vllm) {
      const kb::VllmAscendRow* best = nullptr;
      std::vector<const kb::VllmAscendRow*> rows;
      if (cann.empty()) {
        for (auto& r : m.vllm_ascend) rows.push_back(&r);
      } else {
        rows = m.vllm_for_cann(cann);
      }
      for (auto* r : rows) {
        bool same = vllm_version && kb::release_of(r->vllm).rfind(kb::release_of(*vllm_version), 0) == 0;
        if (same) {
          best = r;
          break;
        }
        if (!best) best = r;  // rows are newest first
      }
      if (!best)
        throw Error(ErrorKind::Usage, "no vllm-ascend release for CANN " + cann, "", "pick another --cann");
      set_vllm_row(*best, vllm_version);
      s.stack_reason = !cann.empty()  ? "CANN " + cann + " (--cann), the vllm-ascend release for it"
                       : vllm_version ? "the vllm-ascend release of the project's vLLM " + *vllm_version
                                      : "the newest vllm-ascend release";
      return;
    }
    if (cann.empty() && project_ascend_stack()) return;
    std::string want = cann.empty() ? m.default_cann : cann;
    auto rows =
        want.empty() ? std::vector<const kb::TorchNpuRow*>{&m.torch_npu.front()} : m.for_cann_line(want);
    if (rows.empty())
      throw Error(ErrorKind::Usage, "CANN " + want + " is not in the version matrix", "",
                  "known: " + known());
    auto* row = closest_row(rows);
    set_row(*row);
    s.cann = cann.empty() && !want.empty() ? want : row->cann;
    s.stack_reason =
        (cann.empty() ? fmt::format("the plan's default CANN {} (patches/versions/default.toml)", want)
                      : "CANN " + cann + " (--cann)") +
        s.stack_reason;
    if (row->cann != s.cann)
      s.stack_reason += fmt::format("; torch_npu's rows for CANN {} serve it", row->cann);
    if (auto* t = find_any("torch"); t && t->e.req && !t->e.req->specifier.empty())
      s.stack_reason += fmt::format("; its torch {} row is the closest to the project's torch{}", row->torch,
                                    t->e.req->specifier.str());
  }

  void set_row(const kb::TorchNpuRow& row) {
    s.cann = row.cann;
    s.torch = row.torch;
    s.torch_npu = row.torch_npu;
    s.torch_npu_source = row.source;
    s.python.clear();
    if (auto* py = m.python_for_torch(row.torch)) {
      for (auto& v : py->python) s.python += (s.python.empty() ? "" : ", ") + v;
    }
  }

  // The project's own Ascend stack: the torch-npu its NPU requirements file or npu / ascend extra
  // pins (LLaMA-Factory's requirements/npu.txt), when the version matrix has that torch-npu. Else
  // the reason says why it was not used and the default stack follows.
  bool project_ascend_stack() {
    auto npu = std::find_if(outs.begin(), outs.end(),
                            [](const Out& x) { return x.e.ascend && x.e.req && x.name() == "torch-npu"; });
    if (npu == outs.end()) return false;
    auto pin = npu->e.req->specifier.pinned();
    const kb::TorchNpuRow* row = pin ? m.for_torch_npu(*pin) : nullptr;
    if (!row) {
      s.stack_reason =
          fmt::format("; the project's own Ascend pin `{}` ({}) is {}: not followed", npu->e.text,
                      npu->e.where(), pin ? "not in the version matrix" : "not an exact pin");
      return false;
    }
    set_row(*row);
    s.stack_reason = fmt::format("the project's own Ascend stack: `{}` ({}), torch {} on CANN {} ({})",
                                 npu->e.text, npu->e.where(), row->torch, row->cann, row->source);
    return true;
  }

  // The stack's Python range intersected with the project's requires-python; an empty intersection
  // is a conflict, named.
  void intersect_python(const std::string& requires_python, const std::string& from) {
    if (requires_python.empty() || s.python.empty()) return;
    pep::SpecifierSet want;
    try {
      want = pep::SpecifierSet::parse(requires_python);
    } catch (const Error&) {
      s.notes.push_back(
          fmt::format("{}: `{}` is not a PEP 440 specifier: not applied", from, requires_python));
      return;
    }
    std::string both;
    for (auto& v : python_minors(s.python)) {
      if (want.contains(v + ".0") || want.contains(v + ".99")) both += (both.empty() ? "" : ", ") + v;
    }
    if (both.empty()) {
      s.conflicts.push_back({"Python " + requires_python,
                             fmt::format("the stack (torch {}, torch-npu {}) runs on Python {}, the project "
                                         "requires Python {} ({}): no Python satisfies both",
                                         s.torch, s.torch_npu, s.python, requires_python, from),
                             "patches/versions (torch_python, vllm_ascend)"});
      return;
    }
    s.python = both;
  }

  // Issue 15: the stack closest to the project's own torch. Among the CANN's torch_npu rows: an exact
  // pin's major.minor; else the lowest row that satisfies the specifier (the newest satisfying one
  // when it has no lower bound); else the nearest row above the project's version; else the newest.
  // Without a torch requirement, the newest. A moved torch is reported on the torch line.
  const kb::TorchNpuRow* closest_row(const std::vector<const kb::TorchNpuRow*>& rows) const {
    auto version = [](const kb::TorchNpuRow* r) { return pep::Version::try_parse(r->torch); };
    auto newest = [&](auto keep) {
      const kb::TorchNpuRow* best = nullptr;
      for (auto* r : rows) {
        auto v = version(r);
        if (v && keep(*v) && (!best || *version(best) < *v)) best = r;
      }
      return best;
    };
    auto lowest = [&](auto keep) {
      const kb::TorchNpuRow* best = nullptr;
      for (auto* r : rows) {
        auto v = version(r);
        if (v && keep(*v) && (!best || *v < *version(best))) best = r;
      }
      return best;
    };
    auto all = [](const pep::Version&) { return true; };
    auto* t = find_any("torch");
    if (!t || !t->e.req || t->e.req->specifier.empty()) return newest(all) ? newest(all) : rows.front();
    const auto& spec = t->e.req->specifier;
    // The project's version: the pin, or the highest lower bound of its clauses.
    std::optional<pep::Version> floor;
    for (auto& c : spec.clauses) {
      if (c.op == "!=" || c.op == "<" || c.op == "<=") continue;
      auto text = c.version;
      if (text.size() > 2 && text.substr(text.size() - 2) == ".*") text.resize(text.size() - 2);
      auto v = pep::Version::try_parse(text);
      if (v && (!floor || *floor < *v)) floor = v;
    }
    if (spec.pinned() && floor && floor->release.size() >= 2) {
      auto same = [&](const pep::Version& v) {
        return v.release.size() >= 2 && v.release[0] == floor->release[0] &&
               v.release[1] == floor->release[1];
      };
      if (auto* r = newest(same)) return r;
    }
    auto satisfies = [&](const pep::Version& v) { return spec.contains(v); };
    if (auto* r = floor ? lowest(satisfies) : newest(satisfies)) return r;
    if (floor) {
      if (auto* r = lowest([&](const pep::Version& v) { return !(v < *floor); })) return r;
    }
    return newest(all) ? newest(all) : rows.front();
  }

  void set_vllm_row(const kb::VllmAscendRow& r, const std::optional<std::string>& vllm_version) {
    s.vllm_ascend = r;
    s.cann = r.cann;
    s.torch = r.torch;
    s.torch_npu = r.torch_npu;
    s.python = r.python;
    if (vllm_version && kb::release_of(r.vllm).rfind(kb::release_of(*vllm_version), 0) != 0) {
      s.conflicts.push_back(
          {"vllm " + *vllm_version,
           fmt::format("vllm-ascend for CANN {} supports vLLM {}, the project pins {}: its vLLM code must "
                       "be ported to {}",
                       r.cann, r.vllm, *vllm_version, r.vllm),
           r.source});
    }
  }

  // ---- entries to lines ----

  // git+https://github.com/openai/whisper.git in whisper's own README: the repository itself
  bool own_url(const Entry& e) const {
    if ((e.kind != "vcs" && e.kind != "url" && e.kind != "editable") || e.value.empty()) return false;
    auto url = e.value.substr(0, e.value.find_first_of("#?@", e.value.find("://") + 3));
    while (!url.empty() && url.back() == '/') url.pop_back();
    auto last = url.substr(url.find_last_of('/') + 1);
    if (last.size() > 4 && last.substr(last.size() - 4) == ".git") last.resize(last.size() - 4);
    last = pep::canonical_name(last);
    return !last.empty() && (last == own || last == repo_name);
  }

  bool consent(const Entry& e) {
    if (o.allow_repo_indexes) return true;
    if (o.ask) {
      return o.ask(
          fmt::format("{} asks pip to use `{}`. Keep it in requirements-ascend.txt?", e.where(), e.text));
    }
    return false;
  }

  // An index, host, VCS URL or -e entry from the repository: its line with consent, else a comment
  // and a refusal naming where it came from (issue 14 §1).
  Out kept_with_consent(const Entry& e, Out x) {
    if (consent(e)) {
      x.line = e.text;
      x.why = "kept with consent (from " + e.where() + ")";
    } else {
      x.comment = true;
      x.why = "refused: from " + e.where() + "; keep it with --allow-repo-indexes";
      s.refused.push_back({e.text, e.where()});
    }
    return x;
  }

  // An entry of an optional image or alternative setup (a Dockerfile, a script, a README): the
  // runtime set the project declares has it, or it is written as a comment naming where it came
  // from. Two optional images are never merged into one set of pins.
  void left_out(const Entry& e, Out x, std::set<std::string>& seen) {
    auto name = e.name();
    if (e.constraint || name == "torch-npu" || name == "vllm-ascend") return;
    if (!name.empty() && !seen.insert(name).second) return;
    x.comment = true;
    x.why =
        "left out: only in " + e.where() + ", an optional image or alternative setup; add it if you use it";
    outs.push_back(x);
  }

  // An index or host option (--index-url, --extra-index-url, --find-links, --trusted-host).
  void take_index(const Entry& e, Out x, bool& cpu_index) {
    const auto& k = e.kind;
    if ((k == "index-url" || k == "extra-index-url") && is_cuda_index(e.value)) {
      s.dropped.push_back({e.text, e.file, "the CPU wheel index (torch) plus torch-npu from PyPI"});
      if (!cpu_index) {
        Out c = x;
        c.line = "--extra-index-url https://download.pytorch.org/whl/cpu";
        c.why = "CPU torch wheels; the NPU comes from torch-npu (was: " + e.text + ")";
        outs.push_back(c);
        cpu_index = true;
      }
      return;
    }
    if (e.value.find("download.pytorch.org/whl/cpu") != std::string::npos) {
      if (!cpu_index) {
        x.line = "--extra-index-url https://download.pytorch.org/whl/cpu";
        x.why = "CPU torch wheels (was: " + e.text + ")";
        outs.push_back(x);
        cpu_index = true;
      }
      return;
    }
    if (e.value.empty() || e.value.find('$') != std::string::npos) {
      s.notes.push_back(e.where() + ": `" + e.text + "` names no usable value: not kept");
      return;
    }
    if (e.optional) {
      s.notes.push_back(e.where() + ": `" + e.text +
                        "` not kept: from an optional image or alternative setup");
      return;
    }
    // an index or host from the repository: only with consent
    outs.push_back(kept_with_consent(e, x));
  }

  // Something to install: kept, replaced, pinned, dropped or left out, with the reason.
  void take_package(const Entry& e, Out x, std::set<std::string>& seen,
                    const std::map<std::string, std::string>& env) {
    const auto& k = e.kind;
    std::string name = e.name();
    if (k == "path" || (!own.empty() && name == own) || own_url(e)) {
      if (k == "path" && e.value != "." && e.value.rfind(".[", 0) != 0 && e.value != "./") {
        s.notes.push_back(e.where() + ": local path `" + e.text +
                          "` not kept (install it from the checkout)");
      } else {
        s.notes.push_back(e.where() + ": `" + e.text + "` is the repository's own package: not re-added");
      }
      return;
    }
    if (k == "editable" &&
        (e.text.find(" .") != std::string::npos || e.text.find("=.") != std::string::npos)) {
      s.notes.push_back(e.where() + ": `" + e.text + "` is the repository's own package: not re-added");
      return;
    }
    if (e.optional) {
      left_out(e, x, seen);
      return;
    }
    if (!name.empty() && !seen.insert(name).second) {
      // constraints bound the listed requirement
      if (e.constraint && e.req) {
        if (auto* prev = find(name); prev && prev->e.req && prev->e.req->url.empty()) {
          auto& spec = prev->e.req->specifier.clauses;
          for (auto& c : e.req->specifier.clauses) spec.push_back(c);
          prev->line = prev->e.req->str();
          prev->why = "bounded by " + e.where() + " (" + e.text + ")";
        }
      }
      return;
    }
    if (e.constraint) {
      s.notes.push_back(e.where() + ": constraint `" + e.text + "` bounds a package nothing here requires");
      seen.erase(name);
      return;
    }
    if (!name.empty()) {
      if (auto* c = cuda_only(m, name)) {
        if (name == "triton") triton_dropped = true;
        drop(x, "CUDA-only; on Ascend: " + c->replacement);
        outs.push_back(x);
        return;
      }
    }
    // After the CUDA-only check: a CUDA package behind a platform marker (whisper's
    // `triton; platform_machine == "x86_64"`) is still named in the file with what replaces it.
    if (e.req && e.req->marker && !e.req->marker->evaluate(env)) {
      s.notes.push_back(fmt::format("{}: `{}` not kept: its marker is false on Linux {}, Python {}",
                                    e.where(), e.text, env.at("platform_machine"), python_for(s.python)));
      return;
    }
    if (k == "vcs" || k == "url" || k == "editable") {
      outs.push_back(kept_with_consent(e, x));
      return;
    }
    if (name == "torch-npu" || name == "vllm-ascend") return;  // kcat pins them below
    if (name == "torch") {
      auto spec = pep::SpecifierSet::parse("==" + s.torch);
      x.line = requirement_text(*e.req, spec);
      x.why = fmt::format("the CPU build that torch-npu {} needs (was: {})", s.torch_npu, e.text);
      if (e.req->specifier.contains(s.torch) == false && !e.req->specifier.empty()) {
        s.resolved.push_back(
            {"torch " + e.req->specifier.str(),
             fmt::format("torch-npu {} is built for torch {}, the project asks for torch{} ({}); "
                         "re-test the code that relied on the old torch",
                         s.torch_npu, s.torch, e.req->specifier.str(), e.where()),
             "Ascend/pytorch COMPATIBILITY.en.md"});
      }
      outs.push_back(x);
      return;
    }
    if (name == "vllm") {
      x.comment = true;
      x.line = "vllm==" + (s.vllm_ascend ? s.vllm_ascend->vllm : std::string("?"));
      x.why =
          "build from source with VLLM_TARGET_DEVICE=empty, then vllm-ascend (vllm-ascend installation "
          "guide); was: " +
          e.text;
      outs.push_back(x);
      return;
    }
    if (k == "wheel" || (e.req && !e.req->specifier.empty() &&
                         std::any_of(e.req->specifier.clauses.begin(), e.req->specifier.clauses.end(),
                                     [](auto& c) { return c.version.find('+') != std::string::npos; }))) {
      // a CUDA build (+cu118) or a wheel file: the generic release of the same version
      pep::SpecifierSet spec;
      for (auto c : e.req->specifier.clauses) {
        auto v = pep::Version::try_parse(c.version);
        if (v) c.version = v->public_part().str();
        spec.clauses.push_back(c);
      }
      pep::Requirement r = *e.req;
      r.specifier = spec;
      x.e.req = r;
      x.line = r.str();
      x.why = "CPU / generic build (was: " + e.text + ")";
      outs.push_back(x);
      return;
    }
    outs.push_back(x);
  }

  void take(std::vector<Entry> entries) {
    std::set<std::string> seen;
    bool cpu_index = false;
    auto env = pep::linux_environment(python_for(s.python));
    for (auto& e : entries) {
      Out x{e, e.req ? e.req->str() : e.text, "", false};
      const auto& k = e.kind;
      if (k == "requirement-file" || k == "constraint-file") continue;
      if (k == "unparsed") continue;
      if (k == "option") {
        static const std::set<std::string> kept = {"--pre", "--prefer-binary", "--only-binary",
                                                   "--no-binary"};
        auto name = e.text.substr(0, e.text.find_first_of(" ="));
        if (kept.count(name) && e.file.find("requirements") != std::string::npos) {
          x.line = e.text;
          outs.push_back(x);
        }
        continue;  // a command's own options (--upgrade, --no-cache-dir) are not requirements
      }
      if (k == "no-index") {
        s.notes.push_back(e.where() +
                          ": --no-index not kept: requirements-ascend.txt installs from an index");
        continue;
      }
      if (k == "index-url" || k == "extra-index-url" || k == "find-links" || k == "trusted-host") {
        take_index(e, x, cpu_index);
        continue;
      }
      take_package(e, x, seen, env);
    }
  }

  // ---- the stack's own requirements, then the families ----

  void apply_notes() {
    const Out* vllm = find_any("vllm");
    std::optional<std::string> vllm_version = project_version("vllm");
    for (auto& note : m.notes) {
      bool applies =
          (note.package == "vllm" && vllm && vllm_version && kb::release_of(*vllm_version) == note.version) ||
          (note.package == "vllm-ascend" && s.vllm_ascend && s.vllm_ascend->vllm_ascend == note.version);
      if (!applies) continue;
      for (auto& need : note.needs) {
        auto r = pep::try_parse_requirement(need);
        if (!r || r->key() == "torch" || r->key() == "torch-npu") continue;
        auto* x = find(r->key());
        if (!x || !x->e.req || !x->e.req->url.empty()) continue;
        auto pinned = x->e.req->specifier.pinned();
        if (!pinned) continue;  // a range or nothing: pip intersects it with the stack's own metadata
        if (r->specifier.contains(*pinned, true)) continue;
        std::string was = x->e.text;
        x->line = requirement_text(*x->e.req, r->specifier);
        x->e.req->specifier = r->specifier;
        x->why = fmt::format("{} {} requires it (was: {}); re-test the code that used {} {}", note.package,
                             note.version, was, r->name, *pinned);
        s.resolved.push_back(
            {r->name + " " + *pinned,
             fmt::format("{} {} requires {}, the project pins {}=={} ({}); pinned to {} instead: "
                         "re-test the code that relied on {} {}",
                         note.package, note.version, need, r->name, *pinned, x->e.file, r->specifier.str(),
                         r->name, *pinned),
             note.source});
      }
    }
  }

  void copin_torch_family() {
    auto* fam = m.family_for_torch(s.torch);
    if (!fam) return;
    for (auto [pkg, spec_text] :
         {std::pair{"torchvision", fam->torchvision}, std::pair{"torchaudio", fam->torchaudio}}) {
      auto* x = find(pkg);
      if (!x || !x->e.req || !x->e.req->url.empty()) continue;
      auto family = pep::SpecifierSet::parse(spec_text);
      auto& have = x->e.req->specifier;
      // kept when the project's pin is one the family admits; otherwise the family's release
      if (auto p = have.pinned(); p && family.contains(*p, true)) continue;
      if (!have.empty() && !have.pinned() && !x->why.empty()) continue;  // the stack's own bound stays
      std::string was = x->e.text;
      auto have_before = have;
      x->line = requirement_text(*x->e.req, family);
      x->e.req->specifier = family;
      auto& have_ref = have_before;
      x->why = fmt::format("the {} release for torch {} (was: {})", pkg, s.torch, was);
      // a record only when the project's own range excludes the family's release
      auto family_release = family.clauses.front().version;
      if (family_release.size() > 2 && family_release.substr(family_release.size() - 2) == ".*")
        family_release = family_release.substr(0, family_release.size() - 2) + ".0";
      if (!have_ref.empty() && !have_ref.contains(family_release, true))
        s.resolved.push_back(
            {std::string(pkg) + " " + have_ref.str(),
             fmt::format("torch {} pairs with {}{}, the project asks for {}{} ({}): re-test the "
                         "code that uses {}",
                         s.torch, pkg, spec_text, pkg, have_ref.str(), x->e.where(), pkg),
             fam->source});
    }
  }

  void copin_tokenizers() {
    auto* t = find("transformers");
    auto* k = find("tokenizers");
    if (!t || !k || !t->e.req || !k->e.req) return;
    auto tp = t->e.req->specifier.pinned();
    auto kp = k->e.req->specifier.pinned();
    if (tp) {
      for (auto& row : m.tokenizers) {
        if (!pep::SpecifierSet::parse(row.transformers).contains(*tp, true)) continue;
        auto spec = pep::SpecifierSet::parse(row.tokenizers);
        if (kp && spec.contains(*kp, true)) return;
        std::string was = k->e.text;
        k->line = requirement_text(*k->e.req, spec);
        k->e.req->specifier = spec;
        k->why = fmt::format("transformers {} requires it (was: {})", *tp, was);
        s.resolved.push_back(
            {"tokenizers " + (kp ? *kp : std::string("")),
             fmt::format("transformers {} requires tokenizers{}, the project asks for {} ({})", *tp,
                         row.tokenizers, was, k->e.where()),
             row.source});
        return;
      }
      return;
    }
    // transformers is a range kcat moved: let it choose its own tokenizers
    if (kp && !t->why.empty()) {
      std::string was = k->e.text;
      k->line = k->e.req->name;
      k->e.req->specifier = {};
      k->why = fmt::format("unpinned: {} chooses its tokenizers (was: {})", t->line, was);
      std::string ranges;
      for (auto& row : m.tokenizers)
        ranges += fmt::format("; transformers{} needs tokenizers{}", row.transformers, row.tokenizers);
      s.resolved.push_back(
          {"tokenizers " + *kp,
           fmt::format("transformers moved to {}, whose releases need other tokenizers than {}{}", t->line,
                       was, ranges),
           m.tokenizers.empty() ? "" : m.tokenizers.back().source});
    }
  }

  // The triton-ascend a vllm-ascend release pins beside this stack: the stack's own release, else
  // the newest release whose requirements pin the stack's torch-npu exactly. "" when none does.
  std::pair<std::string, const kb::RequirementNote*> triton_ascend_pin() const {
    std::pair<std::string, const kb::RequirementNote*> best{"", nullptr};
    std::optional<pep::Version> best_release;
    for (auto& note : m.notes) {
      if (note.package != "vllm-ascend") continue;
      std::string npu, triton;
      for (auto& need : note.needs) {
        auto r = pep::try_parse_requirement(need);
        if (!r) continue;
        auto pin = r->specifier.pinned();
        if (r->key() == "torch-npu" && pin) npu = *pin;
        if (r->key() == "triton-ascend" && pin) triton = *pin;
      }
      if (triton.empty()) continue;
      bool same = s.vllm_ascend ? note.version == s.vllm_ascend->vllm_ascend : npu == s.torch_npu;
      if (!same) continue;
      auto release = pep::Version::try_parse(note.version);
      if (!best.second || (release && best_release && *best_release < *release)) {
        best = {triton, &note};
        best_release = release;
      }
    }
    return best;
  }

  // Where the project's Triton stays (named in its requirements, or kernels in its code),
  // triton-ascend replaces triton (they cannot be installed together: triton-ascend's FAQ;
  // vllm-ascend's Dockerfile uninstalls triton first).
  void add_triton_ascend() {
    if ((!triton_dropped && !o.triton_kernels) || find("triton-ascend")) return;
    auto [version, note] = triton_ascend_pin();
    const std::string why =
        std::string(triton_dropped ? "" : "the code's Triton kernels (@triton.jit) run on it; ") +
        "replaces triton, which must be uninstalled first "
        "(triton-lang/triton-ascend:docs/en/FAQ.md@a84b1eb5; "
        "vllm-ascend's Dockerfile uninstalls triton); Triton kernels run on Atlas A2/A3";
    if (!note) {
      s.lines.push_back(
          fmt::format("# triton-ascend  # kcat: {}; no vllm-ascend release in the version matrix pins it "
                      "beside torch-npu {}: "
                      "pick the release triton-ascend's installation guide pairs with CANN {}",
                      why, s.torch_npu, s.cann));
      return;
    }
    s.lines.push_back(
        fmt::format("triton-ascend=={}  # kcat: {}; the version vllm-ascend {} pins with torch-npu {} ({})",
                    version, why, note->version, s.torch_npu, note->source));
  }

  void finish() {
    if (!s.skipped.empty()) {
      std::string names;
      for (auto& k : s.skipped) names += (names.empty() ? "" : ", ") + k;
      s.lines.push_back("# kcat: development tools, not the runtime, left out: " + names);
    }
    for (auto& x : outs) {
      std::string text = x.line;
      if (x.comment) {
        s.lines.push_back("# " + (x.e.text.empty() ? text : x.e.text) + "  # kcat: " + x.why);
      } else if (!x.why.empty()) {
        s.lines.push_back(text + "  # kcat: " + x.why);
      } else {
        // as written, when that is a requirement pip reads (conda's `name=1.0` is not)
        bool as_written = x.e.kind == "requirement" && x.e.req && pep::try_parse_requirement(x.e.text);
        s.lines.push_back(as_written ? x.e.text : text);
      }
    }
    s.lines.push_back(
        fmt::format("torch-npu=={}  # kcat: for CANN {} ({})", s.torch_npu, s.cann,
                    s.torch_npu_source.empty() ? "Ascend/pytorch COMPATIBILITY.en.md" : s.torch_npu_source));
    if (s.vllm_ascend) {
      s.lines.push_back(fmt::format("vllm-ascend=={}  # kcat: for vLLM {}, CANN {}, Python {} ({})",
                                    s.vllm_ascend->vllm_ascend, s.vllm_ascend->vllm, s.vllm_ascend->cann,
                                    s.vllm_ascend->python, s.vllm_ascend->source));
    }
    add_triton_ascend();
  }
};

}  // namespace

Solution solve(const fs::path& repo, const SolveOptions& o, const kb::VersionMatrix& m) {
  auto sources = read_sources(repo, CondaMap::load(m.dir));
  Solver v{
      m,
      o,
      {},
      {},
      sources.own_name,
      pep::canonical_name(fs::absolute(repo / "x").lexically_normal().parent_path().filename().string())};
  v.s.read = sources.read;
  v.s.notes = sources.notes;
  bool any = std::any_of(sources.entries.begin(), sources.entries.end(), [](const Entry& e) {
    return e.req.has_value() || e.kind == "vcs" || e.kind == "url" || e.kind == "editable";
  });
  if (!any) {
    throw Error(
        ErrorKind::Usage, "no requirements found", repo.string(),
        "kcat reads requirements*.txt and constraints*.txt (with -r / -c), pyproject.toml, setup.py, "
        "setup.cfg, environment.yml, and `pip install` commands in Dockerfiles, *.sh and README code blocks");
  }
  // the stack needs the project's pins (its vLLM), so a first pass over the entries names them
  for (auto& e : sources.entries) {
    if (e.req && !e.constraint && !e.optional) v.outs.push_back({e, "", "", false});
  }
  v.choose_stack();
  v.intersect_python(sources.requires_python, sources.requires_python_from);
  v.s.skipped = sources.skipped;
  v.outs.clear();
  v.take(sources.entries);
  v.apply_notes();
  v.copin_torch_family();
  v.copin_tokenizers();
  v.finish();
  return std::move(v.s);
}

bool has_triton_kernels(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.rule_id == "py.triton"; });
}

Solution solve(const fs::path& repo, const std::string& cann, const kb::VersionMatrix& m) {
  SolveOptions o;
  o.cann = cann;
  return solve(repo, o, m);
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
  if (!s.stack_reason.empty()) out += "why: " + s.stack_reason + "\n";
  for (auto& d : s.dropped) out += fmt::format("dropped: {} ({}) -> {}\n", d.what, d.file, d.replacement);
  for (auto& c : s.resolved)
    out += fmt::format("resolved: {}: {}\n  source: {}\n", c.what, c.explanation, c.source);
  for (auto& c : s.conflicts)
    out += fmt::format("conflict: {}: {}\n  source: {}\n", c.what, c.explanation, c.source);
  for (auto& r : s.refused)
    out += fmt::format("refused: `{}` ({}): kept only with --allow-repo-indexes\n", r.what, r.where);
  for (auto& n : s.notes) out += "note: " + n + "\n";
  return out;
}

CheckResult check(const fs::path& file, const std::string& index, const std::string& python,
                  int timeout_seconds) {
  CheckResult r;
  exec::Command c;
  // the report goes to a file: pip's resolver explains a conflict at its info level, on the output
  static std::atomic<int> serial{0};
  auto report = fs::temp_directory_path() / fmt::format("kcat-pip-report-{}-{}.json", ::getpid(), serial++);
  c.argv = {python,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--disable-pip-version-check",
            "--no-input",
            "--report",
            report.string(),
            "-r",
            file.string()};
  if (!index.empty()) {
    if (index.find("://") != std::string::npos && index.rfind("file://", 0) != 0) {
      c.argv.insert(c.argv.end(), {"--index-url", index});
    } else {
      auto dir = index.rfind("file://", 0) == 0 ? index.substr(7) : index;
      c.argv.insert(c.argv.end(), {"--no-index", "--find-links", dir});
    }
  }
  c.env = {{"PIP_NO_CACHE_DIR", "1"}, {"PYTHONDONTWRITEBYTECODE", "1"}};
  c.env_remove = {"PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS",
                  "PIP_NO_INDEX",  "PIP_CONSTRAINT",      "PIP_REQUIREMENT"};
  c.timeout = std::chrono::seconds(timeout_seconds);
  for (auto& a : c.argv) r.command += (r.command.empty() ? "" : " ") + a;
  auto out = exec::run_local(c);
  std::string report_text;
  std::error_code ec;
  if (fs::exists(report, ec)) {
    try {
      report_text = read_file(report);
    } catch (const Error&) {
    }
    fs::remove(report, ec);
  }
  auto all = out.out + out.err;
  r.output = all.size() > 4000 ? all.substr(all.size() - 4000) : all;
  if (!out.error.empty() || out.exit_code == 127 ||
      out.err.find("No module named pip") != std::string::npos) {
    r.conflicts.push_back("pip is not available: " + (out.error.empty() ? out.err : out.error));
    return r;
  }
  r.ran = true;
  if (out.ok()) {
    try {
      auto j = nlohmann::json::parse(report_text);
      for (auto& i : j.at("install")) {
        r.installs.emplace_back(i.at("metadata").at("name").get<std::string>(),
                                i.at("metadata").at("version").get<std::string>());
      }
      r.resolved = true;
    } catch (const std::exception& e) {
      r.conflicts.push_back(std::string("pip's report did not parse: ") + e.what());
    }
    return r;
  }
  // pip's resolver: "The conflict is caused by:" then indented lines; else its ERROR lines
  const auto& err = all;
  auto at = err.find("The conflict is caused by:");
  if (at != std::string::npos) {
    size_t p = err.find('\n', at);
    while (p != std::string::npos && p + 1 < err.size()) {
      size_t e = err.find('\n', p + 1);
      std::string l = err.substr(p + 1, e == std::string::npos ? std::string::npos : e - p - 1);
      if (l.empty() || (l[0] != ' ' && l[0] != '\t')) break;
      l.erase(0, l.find_first_not_of(" \t"));
      r.conflicts.push_back(l);
      p = e;
    }
  }
  if (r.conflicts.empty()) {
    size_t p = 0;
    while ((p = err.find("ERROR: ", p)) != std::string::npos) {
      size_t e = err.find('\n', p);
      r.conflicts.push_back(err.substr(p + 7, e == std::string::npos ? std::string::npos : e - p - 7));
      p = e == std::string::npos ? err.size() : e;
    }
  }
  if (r.conflicts.empty()) r.conflicts.push_back("pip failed: " + out.describe());
  return r;
}

}  // namespace kcat::env
