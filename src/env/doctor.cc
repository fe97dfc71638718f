#include "kcat/env/doctor.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kcat/exec/shell_quote.h"

namespace kcat::env {

namespace {

std::string normalise(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return c == '_' ? '-' : std::tolower(c); });
  return name;
}

std::string run_text(exec::Runner& r, const std::string& shell) {
  exec::Command c;
  c.shell = shell;
  c.timeout = std::chrono::seconds(60);
  auto o = r.run(c);
  return o.ok() ? o.out : std::string();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// The CANN release a torch_npu row names ("CANN 8.1.RC1" in the table; "8.1.RC1" here).
bool same_cann(const std::string& detected, const std::string& row) {
  return kb::release_of(detected) == row;
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

void parse_npu_smi(const std::string& text, Probe& p) {
  RE2::PartialMatch(text, R"(npu-smi\s+(\S+))", &p.npu_smi);
  std::istringstream in(text);
  std::string line;
  static const RE2 row(R"(^\|\s*(\d+)\s+(\S+)\s*\|\s*(OK|Warning|Alarm|Critical|\S+)\s*\|)");
  while (std::getline(in, line)) {
    std::string id, name, health;
    if (RE2::PartialMatch(line, row, &id, &name, &health) && name != "Name") {
      p.chips.push_back(fmt::format("{}: {} ({})", id, name, health));
    }
  }
}

void parse_npu_board(const std::string& text, Probe& p) {
  RE2::PartialMatch(text, R"(Software Version\s*:\s*(\S+))", &p.driver);
  RE2::PartialMatch(text, R"(Firmware Version\s*:\s*(\S+))", &p.firmware);
}

Probe probe(exec::Runner& r, const std::string& ascend_home, const std::string& python) {
  Probe p;
  p.where = r.describe();
  auto home = exec::shell_quote(ascend_home);
  p.cann = parse_toolkit_info(
      run_text(r, "for f in " + home + "/ascend-toolkit/latest/*-linux/ascend_toolkit_install.info " + home +
                      "/ascend-toolkit/latest/ascend_toolkit_install.info; do [ -f \"$f\" ] && cat \"$f\" && "
                      "break; done"));
  parse_npu_smi(run_text(r, "npu-smi info 2>/dev/null"), p);
  if (!p.npu_smi.empty()) parse_npu_board(run_text(r, "npu-smi info -t board -i 0 2>/dev/null"), p);
  auto py = exec::shell_quote(python);
  p.python = trim(run_text(r, py + " -c 'import sys; print(sys.version.split()[0])'"));
  auto pip = run_text(r, py + " -m pip list --format=json 2>/dev/null");
  try {
    auto j = nlohmann::json::parse(pip);
    for (auto& e : j) p.packages[normalise(e.value("name", ""))] = e.value("version", "");
  } catch (const nlohmann::json::exception&) {
    // no pip, or not JSON: packages stay unknown, and the checks say "missing"
  }
  std::istringstream env(run_text(r, "env"));
  std::string line;
  while (std::getline(env, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto k = line.substr(0, eq);
    if (k.rfind("ASCEND_", 0) == 0 || k.rfind("HCCL_", 0) == 0 || k == "CUDA_VISIBLE_DEVICES" ||
        k == "TASK_QUEUE_ENABLE" || k == "PYTORCH_NPU_ALLOC_CONF" || k == "LD_LIBRARY_PATH") {
      p.env[k] = line.substr(eq + 1);
    }
  }
  return p;
}

std::vector<Check> check(const Probe& p, const kb::VersionMatrix& m) {
  std::vector<Check> out;
  out.push_back(
      p.npu_smi.empty()
          ? Check{"driver (npu-smi)", "not found", "npu-smi info works", "missing",
                  "install the Ascend driver and firmware for the card, then check `npu-smi info`"}
          : Check{"driver (npu-smi)",
                  p.npu_smi + (p.chips.empty() ? "" : ", " + std::to_string(p.chips.size()) + " chip(s)"), "",
                  "ok", ""});
  if (!p.firmware.empty()) out.push_back({"firmware", p.firmware, "", "ok", ""});
  for (auto& chip : p.chips) {
    bool ok = chip.find("(OK)") != std::string::npos;
    out.push_back({"chip " + chip.substr(0, chip.find(':')), chip.substr(chip.find(':') + 2), "Health OK",
                   ok ? "ok" : "warning", ok ? "" : "see `npu-smi info -t health -i <id>`"});
  }
  out.push_back(
      p.cann.empty()
          ? Check{"CANN toolkit", "not found", "a CANN toolkit", "missing",
                  "install the CANN toolkit, then `source /usr/local/Ascend/ascend-toolkit/set_env.sh`"}
          : Check{"CANN toolkit", p.cann, "", "ok", ""});
  out.push_back(p.python.empty() ? Check{"python", "not found", "python3", "missing",
                                         "install python3 (3.9-3.11 for torch 2.5)"}
                                 : Check{"python", p.python, "", "ok", ""});

  auto pkg = [&](const std::string& n) {
    auto it = p.packages.find(n);
    return it == p.packages.end() ? std::string() : it->second;
  };
  // The newest torch_npu row for the detected CANN: what to install when nothing fits.
  const kb::TorchNpuRow* for_cann = nullptr;
  if (!p.cann.empty()) {
    auto rows = m.for_cann(p.cann);
    if (!rows.empty()) for_cann = rows.front();
  }
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
    out.push_back({"torch", torch.empty() ? "not installed" : torch, row->torch,
                   torch_ok        ? "ok"
                   : torch.empty() ? "missing"
                                   : "mismatch",
                   torch_ok
                       ? ""
                       : fmt::format("pip install torch=={} --index-url https://download.pytorch.org/whl/cpu",
                                     row->torch)});
    if (!p.cann.empty()) {
      bool cann_ok = same_cann(p.cann, row->cann);
      out.push_back({"CANN for torch_npu " + tn, p.cann, row->cann, cann_ok ? "ok" : "mismatch",
                     cann_ok    ? ""
                     : for_cann ? "install CANN " + row->cann +
                                      ", or match the installed CANN: " + install_torch_npu(*for_cann)
                                : "install CANN " + row->cann});
    }
    if (auto* py = m.python_for_torch(row->torch); py && !p.python.empty()) {
      auto mm = p.python.substr(0, p.python.rfind('.'));
      bool py_ok = std::find(py->python.begin(), py->python.end(), mm) != py->python.end();
      std::string list;
      for (auto& v : py->python) list += (list.empty() ? "" : ", ") + v;
      out.push_back({"python for torch " + row->torch, p.python, list, py_ok ? "ok" : "mismatch",
                     py_ok ? ""
                           : "use a Python " + list +
                                 " environment (e.g. conda create -n npu python=" + py->python.back() + ")"});
    }
  } else {
    out.push_back({"torch_npu", tn, "a release in the matrix", "warning",
                   "kcat's matrix does not list this torch_npu; check Ascend/pytorch COMPATIBILITY.en.md"});
  }
  if (auto va = pkg("vllm-ascend"); !va.empty()) {
    if (auto* row = m.for_vllm_ascend(va)) {
      auto vllm = pkg("vllm");
      bool vllm_ok = kb::release_of(vllm) == row->vllm || vllm.rfind(row->vllm, 0) == 0;
      out.push_back({"vllm for vllm-ascend " + va, vllm.empty() ? "not installed" : vllm, row->vllm,
                     vllm_ok        ? "ok"
                     : vllm.empty() ? "missing"
                                    : "mismatch",
                     vllm_ok ? ""
                             : fmt::format("VLLM_TARGET_DEVICE=empty pip install vllm=={}  (from source, as "
                                           "vllm-ascend's install guide says)",
                                           row->vllm)});
      if (!p.cann.empty()) {
        bool cann_ok = same_cann(p.cann, row->cann);
        out.push_back({"CANN for vllm-ascend " + va, p.cann, row->cann, cann_ok ? "ok" : "mismatch",
                       cann_ok ? "" : "install CANN " + row->cann + " (vllm-ascend's versioning policy)"});
      }
    }
  }
  if (p.env.count("CUDA_VISIBLE_DEVICES")) {
    out.push_back({"CUDA_VISIBLE_DEVICES", p.env.at("CUDA_VISIBLE_DEVICES"), "ASCEND_RT_VISIBLE_DEVICES",
                   "warning",
                   "export ASCEND_RT_VISIBLE_DEVICES=" + p.env.at("CUDA_VISIBLE_DEVICES") +
                       " (the NPU ignores CUDA_VISIBLE_DEVICES)"});
  }
  return out;
}

void to_json(nlohmann::json& j, const Probe& p) {
  j = {{"where", p.where},   {"cann", p.cann},         {"npu_smi", p.npu_smi},
       {"driver", p.driver}, {"firmware", p.firmware}, {"chips", p.chips},
       {"python", p.python}, {"packages", p.packages}, {"env", p.env}};
}

void to_json(nlohmann::json& j, const Check& c) {
  j = {{"what", c.what}, {"found", c.found}, {"expected", c.expected}, {"status", c.status}, {"fix", c.fix}};
}

}  // namespace kcat::env
