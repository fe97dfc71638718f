#include "kcat/env/doctor.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <re2/re2.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kcat/core/text.h"
#include "kcat/env/pep508.h"
#include "kcat/exec/shell_quote.h"

namespace kcat::env {

std::map<std::string, std::string> parse_pip_list(const std::string& text) {
  std::map<std::string, std::string> out;
  auto start = text.find('[');
  if (start == std::string::npos) return out;
  try {
    auto j = nlohmann::json::parse(text.substr(start));
    if (!j.is_array()) return {};
    for (auto& e : j)
      if (e.is_object() && e.contains("name") && e["name"].is_string() &&
          e.value("version", nlohmann::json()).is_string())
        out[pep::canonical_name(e["name"].get<std::string>())] = e["version"].get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return {};
  }
  return out;
}

namespace {

std::string run_text(exec::Runner& r, const std::string& shell) {
  exec::Command c;
  c.shell = shell;
  c.timeout = std::chrono::seconds(60);
  auto o = r.run(c);
  return o.ok() ? o.out : std::string();
}

std::string install_torch_npu(const kb::TorchNpuRow& r) {
  return fmt::format(
      "pip install torch=={} --index-url https://download.pytorch.org/whl/cpu && pip install torch-npu=={}",
      r.torch, r.torch_npu);
}

}  // namespace

std::string parse_toolkit_info(const std::string& text) {
  std::string v;
  RE2::PartialMatch(text, R"((?m)^version=(\S+))", &v);
  return v;
}

namespace {

// The cells of a table row "| a | b | c |", trimmed; empty when the line is not a row.
std::vector<std::string> cells(const std::string& line) {
  std::vector<std::string> out;
  if (line.empty() || line[0] != '|') return out;
  std::string cur;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '|') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += line[i];
    }
  }
  for (auto& c : out) c = trim(c);
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// "0 0 / 0 3419 / 65536" -> the "used / total" pairs in order ({0,0}, {3419,65536}); npu-smi
// sometimes prints "27547/ 65536" without the space.
std::vector<std::pair<long, long>> usage_pairs(const std::string& s) {
  std::vector<std::pair<long, long>> out;
  static const RE2 pair(R"((\d+)\s*/\s*(\d+))");
  re2::StringPiece in(s);
  std::string a, b;
  while (RE2::FindAndConsume(&in, pair, &a, &b)) out.push_back({std::stol(a), std::stol(b)});
  return out;
}

}  // namespace

void parse_npu_smi(const std::string& text, Probe& p) {
  RE2::PartialMatch(text, R"(npu-smi\s+(\S+))", &p.npu_smi);
  // The chip table: a first row "| NPU Name | Health | Power Temp Hugepages |" and a second row
  // "| Chip [Phy-ID] | Bus-Id | AICore Memory-Usage HBM-Usage |" per chip; on Atlas A3 each NPU has
  // two such pairs (Chip 0 and 1). Then the process table, "| NPU Chip | Process id | Process
  // name | Process memory(MB) | ...", or "No running processes found in NPU n": never chips.
  static const RE2 bus(R"(^[0-9A-Fa-fx]{4}:[0-9A-Fa-fx]{2}:[0-9A-Fa-fx]{2}\.[0-9A-Fa-fx]$)");
  std::istringstream in(text);
  std::string line;
  bool processes = false;
  NpuChip pending;
  bool have_first = false;
  while (std::getline(in, line)) {
    auto c = cells(line);
    if (c.size() < 2) continue;
    if (c.size() >= 3 && c[1].rfind("Process id", 0) == 0) {
      processes = true;
      continue;
    }
    if (c[0].rfind("No running processes", 0) == 0) {
      processes = true;
      continue;
    }
    auto w0 = words(c[0]);
    if (w0.empty() || !all_digits(w0[0])) continue;  // headers: "NPU Name", "Chip Phy-ID"
    if (processes) {
      if (c.size() >= 4 && w0.size() >= 2 && all_digits(w0[1])) {
        NpuProcess pr;
        pr.npu = std::stoi(w0[0]);
        pr.chip = std::stoi(w0[1]);
        pr.pid = c[1];
        pr.name = c[2];
        if (all_digits(c[3])) pr.memory_mb = std::stol(c[3]);
        p.npu_processes.push_back(pr);
      }
      continue;
    }
    if (c.size() < 3) continue;
    if (RE2::FullMatch(c[1], bus)) {
      if (!have_first) continue;  // a second row without its first: not ours
      pending.chip = std::stoi(w0[0]);
      if (w0.size() >= 2) pending.phy_id = w0[1];
      pending.bus_id = c[1];
      auto u = usage_pairs(c[2]);
      if (u.size() >= 2) {
        pending.mem_used_mb = u[0].first, pending.mem_total_mb = u[0].second;
        pending.hbm_used_mb = u[1].first, pending.hbm_total_mb = u[1].second;
      } else if (u.size() == 1) {
        pending.mem_used_mb = u[0].first, pending.mem_total_mb = u[0].second;
      }
      p.npu_chips.push_back(pending);
      have_first = false;
    } else if (w0.size() >= 2) {
      pending = NpuChip{};
      pending.npu = std::stoi(w0[0]);
      pending.name = w0[1];
      pending.health = c[1];
      have_first = true;
    }
  }
  bool multi = std::any_of(p.npu_chips.begin(), p.npu_chips.end(), [](auto& c) { return c.chip != 0; });
  for (auto& c : p.npu_chips) {
    auto id = multi ? fmt::format("{}.{}", c.npu, c.chip) : std::to_string(c.npu);
    p.chips.push_back(fmt::format("{}: {} ({})", id, c.name, c.health));
  }
}

void parse_npu_board(const std::string& text, Probe& p) {
  RE2::PartialMatch(text, R"(Software Version\s*:\s*(\S+))", &p.driver);
  RE2::PartialMatch(text, R"(Firmware Version\s*:\s*(\S+))", &p.firmware);
}

void parse_layout(const std::string& text, Probe& p) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto k = line.substr(0, eq), v = trim(line.substr(eq + 1));
    if (v.empty()) continue;
    if (k == "toolkit") p.toolkit = v;
    if (k == "toolkit_version" && p.cann.empty()) p.cann = v;
    if (k == "set_env") p.set_env = v;
    if (k == "kernel") p.kernels.push_back(v);
    if (k == "atb" && p.atb.empty()) p.atb = v;
    if (k == "driver") p.driver_info = v;
  }
  // The cann-<version> layout names its version in the directory when no info file says it.
  std::string v;
  if (p.cann.empty() && RE2::PartialMatch(p.toolkit, R"(/cann-([0-9][^/]*)$)", &v)) p.cann = v;
}

std::string layout_probe_command(const std::string& ascend_home) {
  auto home = exec::shell_quote(ascend_home);
  // Both toolkit layouts: <home>/ascend-toolkit/latest (and its versioned directory) and the
  // newer <home>/cann-<version> (with <home>/cann pointing at one).
  return "home=" + home +
         "; tk=; for d in \"$home\"/ascend-toolkit/latest \"$home\"/cann $(ls -d \"$home\"/cann-* "
         "2>/dev/null | sort -V -r); do [ -d \"$d\" ] && { tk=$d; break; }; done; echo toolkit=$tk; "
         "[ -n \"$tk\" ] && for f in \"$tk\"/*-linux/ascend_toolkit_install.info "
         "\"$tk\"/ascend_toolkit_install.info; do [ -f \"$f\" ] && { sed -n "
         "'s/^version=/toolkit_version=/p' \"$f\" | head -n 1; break; }; done; "
         "for f in \"$tk\"/set_env.sh \"$tk\"/../set_env.sh; do [ -n \"$tk\" ] && [ -f \"$f\" ] && "
         "{ echo set_env=$(cd \"$(dirname \"$f\")\" && pwd)/set_env.sh; break; }; done; "
         "[ -n \"$tk\" ] && for k in \"$tk\"/opp/built-in/op_impl/ai_core/tbe/kernel/* "
         "\"$tk\"/*-linux/opp/built-in/op_impl/ai_core/tbe/kernel/*; do [ -d \"$k\" ] && echo "
         "kernel=$(basename \"$k\"); done; "
         "for f in \"$home\"/nnal/atb/latest/atb/cxx_abi_*/lib/libatb.so "
         "\"$home\"/nnal/atb/*/atb/cxx_abi_*/lib/libatb.so; do [ -f \"$f\" ] && echo atb=$f; done; "
         "[ -f \"$home\"/driver/version.info ] && sed -n 's/^Version=/driver=/p' "
         "\"$home\"/driver/version.info | head -n 1; true";
}

const char* const kSmokeTest = R"(import sys
try:
    import torch, torch_npu
except Exception as e:
    print("KCAT_SMOKE import_error=%s: %s" % (type(e).__name__, e)); sys.exit(3)
ok = torch.npu.is_available()
print("KCAT_SMOKE npu_available=%s" % ok)
if not ok:
    sys.exit(4)
x = torch.ones(64, 64).npu()
print("KCAT_SMOKE matmul=%s" % float((x @ x).sum().cpu()))
if len(sys.argv) > 1 and sys.argv[1] == "vllm":
    try:
        import vllm, vllm_ascend
        print("KCAT_SMOKE vllm=%s" % vllm.__version__)
    except Exception as e:
        print("KCAT_SMOKE vllm_error=%s: %s" % (type(e).__name__, e)); sys.exit(5)
)";

namespace {

// The interpreter's version and its installed distributions in one start of it: through a pyenv
// shim each start costs seconds, and `pip list` (pip imports itself, then asks PyPI whether it is
// out of date) took 10-13 s on a loaded machine where importlib.metadata takes 1-2 s. It lists the
// same distributions (sys.path's, the first of a name winning, as pip does). A Python without
// importlib.metadata (before 3.8) prints no KCAT_PACKAGES line: then pip list.
const char* const kPythonProbe = R"(import sys
print(sys.version.split()[0])
print("KCAT_EXECUTABLE=" + sys.executable)
try:
    import json, importlib.metadata as m
    seen = {}
    for d in m.distributions():
        n = d.metadata["Name"]
        if n and n not in seen:
            seen[n] = d.version
    print("KCAT_PACKAGES=" + json.dumps([{"name": k, "version": v} for k, v in seen.items()]))
except Exception:
    pass
)";

void probe_python(exec::Runner& r, const std::string& python, Probe& p) {
  auto py = exec::shell_quote(python);
  std::istringstream out(run_text(r, py + " -c " + exec::shell_quote(kPythonProbe) + " 2>/dev/null"));
  std::string line, executable, packages;
  bool first = true;
  while (std::getline(out, line)) {
    if (first) p.python = trim(line);
    first = false;
    if (line.rfind("KCAT_EXECUTABLE=", 0) == 0) executable = trim(line.substr(16));
    if (line.rfind("KCAT_PACKAGES=", 0) == 0) packages = line.substr(14);
  }
  if (packages.empty()) {
    // The interpreter itself, not its shim, when it said where it is; no network check.
    auto pip = executable.empty() ? py : exec::shell_quote(executable);
    packages = run_text(r, pip + " -m pip list --format=json --disable-pip-version-check 2>/dev/null");
  }
  p.packages = parse_pip_list(packages);  // no pip, or not JSON: unknown, and the checks say "missing"
}

}  // namespace

Probe probe(exec::Runner& r, const std::string& ascend_home, const std::string& python) {
  Probe p;
  p.where = r.describe();
  if (p.where.rfind("ssh ", 0) == 0) {
    // One cheap command first: a host that cannot be reached says so now, not after every probe.
    exec::Command hello;
    hello.shell = "true";
    hello.timeout = std::chrono::seconds(30);
    auto o = r.run(hello);
    if (!o.ok()) {
      p.reachable = false;
      p.connect_error = trim(o.timed_out ? o.describe() : o.err);
      return p;
    }
  }
  parse_layout(run_text(r, layout_probe_command(ascend_home)), p);
  parse_npu_smi(run_text(r, "npu-smi info 2>/dev/null"), p);
  if (!p.npu_smi.empty()) parse_npu_board(run_text(r, "npu-smi info -t board -i 0 2>/dev/null"), p);
  auto py = exec::shell_quote(python);
  probe_python(r, python, p);
  std::istringstream env(run_text(r, "env"));
  std::string line;
  while (std::getline(env, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto k = line.substr(0, eq);
    if (k.rfind("ASCEND_", 0) == 0 || k.rfind("HCCL_", 0) == 0 || k == "CUDA_VISIBLE_DEVICES" ||
        k == "TASK_QUEUE_ENABLE" || k == "PYTORCH_NPU_ALLOC_CONF" || k == "LD_LIBRARY_PATH" ||
        k == "VLLM_TARGET_DEVICE") {
      p.env[k] = line.substr(eq + 1);
    }
  }
  // The smoke test, in the environment as it is (a shell that did not source set_env.sh fails
  // here as the model would).
  if (p.packages.count("torch-npu")) {
    exec::Command smoke;
    smoke.shell = py + " -c " + exec::shell_quote(kSmokeTest) +
                  (p.packages.count("vllm-ascend") ? " vllm" : "") + " 2>&1";
    smoke.timeout = std::chrono::seconds(180);
    auto o = r.run(smoke);
    p.smoke_ran = true;
    p.smoke = trim(o.out);
    p.smoke_ok = o.ok() && smoke_passed(p.smoke, p.packages.count("vllm-ascend") > 0);
    if (o.timed_out) p.smoke += "\n" + o.describe();
  }
  return p;
}

bool smoke_passed(const std::string& out, bool vllm) {
  return out.find("KCAT_SMOKE matmul=262144.0") != std::string::npos &&
         (!vllm || out.find("KCAT_SMOKE vllm=") != std::string::npos);
}

std::pair<std::string, std::string> smoke_diagnosis(const std::string& s, const std::string& source_env) {
  if (s.find("libatb.so") != std::string::npos)
    return {
        "NNAL/ATB not found (libatb.so)",
        "install the CANN NNAL package (Ascend-cann-nnal) and `source /usr/local/Ascend/nnal/atb/set_env.sh` "
        "(vllm-ascend FAQ 6)"};
  if (s.find("import_error=") != std::string::npos &&
      (s.find(".so") != std::string::npos || s.find("libascend") != std::string::npos ||
       s.find("libhccl") != std::string::npos))
    return {"a CANN library was not found", source_env};
  if (s.find("import_error=") != std::string::npos)
    return {"import torch / torch_npu failed",
            "reinstall the torch / torch_npu pair doctor names above, in a clean environment"};
  if (s.find("npu_available=False") != std::string::npos)
    return {
        "torch.npu.is_available() is False",
        "check `npu-smi info` (driver loaded, chips visible), ASCEND_RT_VISIBLE_DEVICES, and " + source_env};
  if (s.find("vllm_error=") != std::string::npos)
    return {"import vllm / vllm_ascend failed",
            "reinstall vllm and vllm-ascend from the same release row (vllm-ascend's versioning policy)"};
  return {"the smoke test failed",
          "run it by hand to see the error: python -c 'import torch, torch_npu; "
          "print(torch.npu.is_available())'"};
}

namespace {

// The checks, by area, over one probe.
class Checker {
 public:
  Checker(const Probe& pr, const kb::VersionMatrix& mx) : p(pr), m(mx) {
    // The vllm-ascend row, when vllm-ascend is installed: where it pins a CANN, its row wins.
    va = pkg("vllm-ascend");
    va_row = va.empty() ? nullptr : m.for_vllm_ascend(va);
    // The newest torch_npu row for the detected CANN: what to install when nothing fits.
    if (!p.cann.empty()) {
      auto rows = m.for_cann(p.cann);
      if (!rows.empty()) for_cann = rows.front();
    }
    source_env =
        p.set_env.empty()
            ? std::string(
                  "source the toolkit's set_env.sh (e.g. /usr/local/Ascend/ascend-toolkit/set_env.sh)")
            : "source " + p.set_env + " (add it to the shell or job that runs the model)";
  }

  std::vector<Check> run() {
    hardware();
    toolkit();
    torch_stack();
    vllm_stack();
    runtime();
    environment();
    return out;
  }

 private:
  std::string pkg(const std::string& n) const {
    auto it = p.packages.find(n);
    return it == p.packages.end() ? std::string() : it->second;
  }
  void cann_check(const std::string& what, const std::string& row_cann, const std::string& why,
                  const std::string& otherwise) {
    auto fit = kb::cann_fit(p.cann, row_cann);
    if (fit == kb::CannFit::same || fit == kb::CannFit::patch) {
      out.push_back(
          {what, p.cann, row_cann + (fit == kb::CannFit::patch ? " (a patch release of it)" : ""), "ok", ""});
    } else if (fit == kb::CannFit::older_patch) {
      out.push_back({what, p.cann, row_cann, "warning",
                     "CANN " + p.cann + " is an older patch of " + row_cann + " (" + why +
                         "); upgrade to CANN " + row_cann + " if a kernel error appears"});
    } else {
      out.push_back(
          {what, p.cann, row_cann, "mismatch", "install CANN " + row_cann + " (" + why + ")" + otherwise});
    }
  }
  std::string vllm_install(const std::string& version, bool source_build) const {
    return source_build ? fmt::format(
                              "git clone --depth 1 --branch v{} https://github.com/vllm-project/vllm && cd "
                              "vllm && VLLM_TARGET_DEVICE=empty pip install -e .  (a source build, as "
                              "vllm-ascend's install guide says)",
                              version)
                        : fmt::format(
                              "pip install vllm=={} --extra-index-url https://download.pytorch.org/whl/cpu/  "
                              "(vllm-ascend's install guide)",
                              version);
  }
  void hardware() {
    out.push_back(
        p.npu_smi.empty()
            ? Check{"driver (npu-smi)", "not found", "npu-smi info works", "missing",
                    "install the Ascend driver and firmware for the card, then check `npu-smi info`"}
            : Check{"driver (npu-smi)",
                    p.npu_smi +
                        (p.npu_chips.empty() ? "" : ", " + std::to_string(p.npu_chips.size()) + " chip(s)"),
                    "", "ok", ""});
    if (!p.firmware.empty()) out.push_back({"firmware", p.firmware, "", "ok", ""});
    for (size_t i = 0; i < p.npu_chips.size(); ++i) {
      auto& c = p.npu_chips[i];
      bool ok = c.health == "OK";
      auto label = p.chips.size() == p.npu_chips.size() ? p.chips[i].substr(0, p.chips[i].find(':'))
                                                        : std::to_string(c.npu);
      std::string found = c.name + " " + c.health;
      if (c.hbm_total_mb > 0) found += fmt::format(", HBM {}/{} MB", c.hbm_used_mb, c.hbm_total_mb);
      out.push_back({"chip " + label, found, "Health OK", ok ? "ok" : "warning",
                     ok ? "" : fmt::format("see `npu-smi info -t health -i {}`", c.npu)});
    }
    for (auto& pr : p.npu_processes) {
      out.push_back({fmt::format("process on NPU {} chip {}", pr.npu, pr.chip),
                     fmt::format("{} (pid {}), {} MB", pr.name, pr.pid, pr.memory_mb), "", "ok", ""});
    }
  }
  void toolkit() {
    out.push_back(
        p.cann.empty()
            ? Check{"CANN toolkit", "not found", "a CANN toolkit", "missing",
                    "install the CANN toolkit (ascend-toolkit/latest or cann-<version> under the Ascend "
                    "home), then " +
                        source_env}
            : Check{"CANN toolkit", p.cann + (p.toolkit.empty() ? "" : " (" + p.toolkit + ")"), "", "ok",
                    ""});
    out.push_back(p.python.empty() ? Check{"python", "not found", "python3", "missing",
                                           "install python3 (3.9-3.11 for torch 2.5)"}
                                   : Check{"python", p.python, "", "ok", ""});
  }
  void torch_stack() {
    auto tn = pkg("torch-npu");
    auto torch = pkg("torch");
    if (tn.empty()) {
      out.push_back({"torch_npu", "not installed", for_cann ? for_cann->torch_npu : "a torch_npu release",
                     "missing",
                     for_cann ? install_torch_npu(*for_cann)
                              : "install a CANN toolkit first (kcat doctor finds none in the matrix)"});
    } else if (auto* row = m.for_torch_npu(tn)) {
      out.push_back({"torch_npu", tn, "", "ok", ""});
      bool torch_ok = kb::release_of(torch) == row->torch;
      out.push_back(
          {"torch", torch.empty() ? "not installed" : torch, row->torch,
           torch_ok        ? "ok"
           : torch.empty() ? "missing"
                           : "mismatch",
           torch_ok ? ""
                    : fmt::format("pip install torch=={} --index-url https://download.pytorch.org/whl/cpu",
                                  row->torch)});
      if (torch.find("+cu") != std::string::npos) {
        out.push_back(
            {"torch build", torch, row->torch + " (CPU wheel)", "mismatch",
             fmt::format("pip install --force-reinstall torch=={} --index-url "
                         "https://download.pytorch.org/whl/cpu (torch_npu runs on the CPU build of torch)",
                         row->torch)});
      }
      if (!p.cann.empty()) {
        bool va_pins =
            va_row && kb::release_of(va_row->torch_npu) == kb::release_of(tn) && !va_row->cann.empty();
        cann_check("CANN for torch_npu " + tn, va_pins ? va_row->cann : row->cann,
                   va_pins ? "vllm-ascend " + va + " pins it" : "Ascend/pytorch's compatibility table",
                   for_cann ? ", or match the installed CANN: " + install_torch_npu(*for_cann) : "");
      }
      if (auto* py = m.python_for_torch(row->torch); py && !p.python.empty()) {
        auto mm = p.python.substr(0, p.python.rfind('.'));
        bool py_ok = std::find(py->python.begin(), py->python.end(), mm) != py->python.end();
        std::string list;
        for (auto& v : py->python) list += (list.empty() ? "" : ", ") + v;
        out.push_back({"python for torch " + row->torch, p.python, list, py_ok ? "ok" : "mismatch",
                       py_ok ? ""
                             : "use a Python " + list + " environment (e.g. conda create -n npu python=" +
                                   py->python.back() + ")"});
      }
    } else {
      out.push_back({"torch_npu", tn, "a release in the matrix", "warning",
                     "kcat's matrix does not list this torch_npu; check Ascend/pytorch COMPATIBILITY.en.md"});
    }
  }
  void vllm_stack() {
    // vLLM: a CUDA build (vllm's setup.py adds +cuNNN or +precompiled to a CUDA build's version and
    // +empty to the VLLM_TARGET_DEVICE=empty source build vllm-ascend asks for), or the NVIDIA
    // runtime wheels a CUDA torch / vllm pulls in.
    auto vllm = pkg("vllm");
    std::vector<std::string> nvidia;
    for (auto& [name, version] : p.packages) {
      if (name.rfind("nvidia-", 0) == 0) nvidia.push_back(name);
    }
    bool vllm_cuda = vllm.find("+cu") != std::string::npos || vllm.find("+precompiled") != std::string::npos;
    bool source_build = vllm.find("+empty") != std::string::npos;
    if (!vllm.empty() && (vllm_cuda || !nvidia.empty())) {
      std::string found = "vllm " + vllm;
      if (!nvidia.empty())
        found += fmt::format(", {} nvidia-* packages ({}...)", nvidia.size(), nvidia.front());
      out.push_back(
          {"vLLM build", found, "vllm without CUDA", "mismatch",
           "a CUDA vLLM wheel is installed: pip uninstall -y vllm " +
               (nvidia.empty() ? std::string() : "$(pip list --format=freeze | grep -o '^nvidia-[^=]*') ") +
               "&& " + vllm_install(va_row ? va_row->vllm : kb::release_of(vllm), source_build)});
    } else if (!nvidia.empty()) {
      out.push_back(
          {"NVIDIA packages", fmt::format("{} nvidia-* packages ({}...)", nvidia.size(), nvidia.front()),
           "none", "warning",
           "a CUDA wheel pulled them in: pip uninstall them, and install torch from the CPU index"});
    }
    if (!va.empty()) {
      if (va_row) {
        bool vllm_ok = kb::release_of(vllm) == va_row->vllm || vllm.rfind(va_row->vllm, 0) == 0;
        out.push_back({"vllm for vllm-ascend " + va, vllm.empty() ? "not installed" : vllm, va_row->vllm,
                       vllm_ok        ? "ok"
                       : vllm.empty() ? "missing"
                                      : "mismatch",
                       vllm_ok ? "" : vllm_install(va_row->vllm, source_build)});
        if (!p.cann.empty())
          cann_check("CANN for vllm-ascend " + va, va_row->cann, "vllm-ascend's versioning policy", "");
      }
      // vLLM on the NPU loads NNAL's ATB (libatb.so): vllm-ascend FAQ 6.
      out.push_back(
          p.atb.empty()
              ? Check{"NNAL/ATB (libatb.so)", "not found", "nnal/atb/latest/atb/cxx_abi_*/lib/libatb.so",
                      "missing",
                      "install the CANN NNAL package of the same version (Ascend-cann-nnal_<version>_linux-"
                      "<arch>.run), then `source /usr/local/Ascend/nnal/atb/set_env.sh`"}
              : Check{"NNAL/ATB (libatb.so)", p.atb, "", "ok", ""});
    }
  }
  void runtime() {
    if (!p.cann.empty()) {
      out.push_back(
          p.kernels.empty()
              ? Check{"ops/kernels package", "not found", "opp/built-in/op_impl/ai_core/tbe/kernel/<soc>",
                      "warning",
                      "install the ops package for the chip with the same CANN version "
                      "(Ascend-cann-kernels-<chip>_<version> before CANN 8.5, the <chip>-ops package from "
                      "8.5): operators without it fail at their first call"}
              : Check{"ops/kernels package", fmt::format("{}", fmt::join(p.kernels, ", ")), "", "ok", ""});
    }
    // Driver (HDK) against CANN: the release's stated minimum, where kcat has it cited.
    auto driver = !p.driver_info.empty() ? p.driver_info : !p.driver.empty() ? p.driver : p.npu_smi;
    if (!p.cann.empty() && !driver.empty()) {
      for (auto& h : m.hdk) {
        auto fit = kb::cann_fit(p.cann, h.cann);
        if (fit != kb::CannFit::same && fit != kb::CannFit::patch) continue;
        bool ok = kb::compare_versions(driver, h.min_driver) >= 0;
        out.push_back({"driver (HDK) for CANN " + p.cann, driver, ">= " + h.min_driver,
                       ok ? "ok" : "mismatch",
                       ok ? ""
                          : "upgrade the Ascend driver and firmware to HDK " + h.min_driver + " or newer (" +
                                h.source + ")"});
      }
    }
  }
  void environment() {
    // set_env.sh: whether the environment as probed has it; what breaks shows in the smoke test.
    auto ld = p.env.count("LD_LIBRARY_PATH") ? p.env.at("LD_LIBRARY_PATH") : std::string();
    bool sourced = p.env.count("ASCEND_HOME_PATH") && ld.find("driver/lib64") != std::string::npos;
    if (p.smoke_ran) {
      if (p.smoke_ok) {
        out.push_back({"smoke test",
                       "torch.npu available, 64x64 matmul on the NPU right" +
                           std::string(p.packages.count("vllm-ascend") ? ", vllm imports" : ""),
                       "", "ok", ""});
      } else {
        auto [what, fix] = smoke_diagnosis(p.smoke, source_env);
        out.push_back({"smoke test", what + ": " + last_line(p.smoke),
                       "import torch_npu; a matmul on the NPU", "missing", fix});
        if (!sourced) {
          out.push_back({"CANN environment (set_env.sh)",
                         p.env.count("ASCEND_HOME_PATH") ? "driver lib64 not on LD_LIBRARY_PATH"
                                                         : "ASCEND_HOME_PATH unset",
                         "set_env.sh sourced", "missing", source_env});
        }
      }
    } else if (!sourced && !p.cann.empty()) {
      out.push_back(
          {"CANN environment (set_env.sh)",
           p.env.count("ASCEND_HOME_PATH") ? "driver lib64 not on LD_LIBRARY_PATH" : "ASCEND_HOME_PATH unset",
           "set_env.sh sourced", "warning", source_env});
    }
    if (p.env.count("CUDA_VISIBLE_DEVICES")) {
      out.push_back({"CUDA_VISIBLE_DEVICES", p.env.at("CUDA_VISIBLE_DEVICES"), "ASCEND_RT_VISIBLE_DEVICES",
                     "warning",
                     "export ASCEND_RT_VISIBLE_DEVICES=" + p.env.at("CUDA_VISIBLE_DEVICES") +
                         " (the NPU ignores CUDA_VISIBLE_DEVICES)"});
    }
  }

  const Probe& p;
  const kb::VersionMatrix& m;
  std::vector<Check> out;
  std::string va;
  const kb::VllmAscendRow* va_row = nullptr;
  const kb::TorchNpuRow* for_cann = nullptr;
  std::string source_env;
};

}  // namespace

std::vector<Check> check(const Probe& p, const kb::VersionMatrix& m) {
  if (!p.reachable) {
    // ssh's own words come first ("ssh: connect to host h port 22: Connection refused").
    auto why = trim(p.connect_error.substr(0, p.connect_error.find('\n')));
    return {{"connection", "could not connect", p.where, "missing",
             "check that `" + p.where + " true` works without a password (BatchMode) and the host is up" +
                 (why.empty() ? "" : ": " + why)}};
  }
  return Checker(p, m).run();
}

void to_json(nlohmann::json& j, const NpuChip& c) {
  j = {{"npu", c.npu},
       {"chip", c.chip},
       {"phy_id", c.phy_id},
       {"name", c.name},
       {"health", c.health},
       {"bus_id", c.bus_id},
       {"memory_used_mb", c.mem_used_mb},
       {"memory_total_mb", c.mem_total_mb},
       {"hbm_used_mb", c.hbm_used_mb},
       {"hbm_total_mb", c.hbm_total_mb}};
}

void to_json(nlohmann::json& j, const NpuProcess& c) {
  j = {{"npu", c.npu}, {"chip", c.chip}, {"pid", c.pid}, {"name", c.name}, {"memory_mb", c.memory_mb}};
}

void to_json(nlohmann::json& j, const Probe& p) {
  j = {{"where", p.where},
       {"reachable", p.reachable},
       {"cann", p.cann},
       {"toolkit", p.toolkit},
       {"set_env", p.set_env},
       {"kernels", p.kernels},
       {"atb", p.atb},
       {"npu_smi", p.npu_smi},
       {"driver", p.driver},
       {"driver_info", p.driver_info},
       {"firmware", p.firmware},
       {"chips", p.chips},
       {"npu_chips", p.npu_chips},
       {"npu_processes", p.npu_processes},
       {"python", p.python},
       {"packages", p.packages},
       {"env", p.env},
       {"smoke_ran", p.smoke_ran},
       {"smoke_ok", p.smoke_ok},
       {"smoke", p.smoke}};
  if (!p.reachable) j["connect_error"] = p.connect_error;
}

void to_json(nlohmann::json& j, const Check& c) {
  j = {{"what", c.what}, {"found", c.found}, {"expected", c.expected}, {"status", c.status}, {"fix", c.fix}};
}

bool ready(const std::vector<Check>& checks) {
  return std::none_of(checks.begin(), checks.end(),
                      [](const Check& c) { return c.status == "mismatch" || c.status == "missing"; });
}

nlohmann::json report_json(const Probe& p, const std::vector<Check>& checks) {
  return {{"probe", p}, {"checks", checks}, {"ready", p.reachable && ready(checks)}};
}

}  // namespace kcat::env
