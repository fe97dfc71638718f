#pragma once
// kcat doctor: what the machine that will run the model has (CANN, driver and chips, Python and
// its packages, environment), checked against the version matrix. It reads through an
// exec::Runner, so the same probe runs locally or on an Atlas host over ssh.
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "kcat/exec/process.h"
#include "kcat/kb/versions.h"

namespace kcat::env {

// One row pair of the `npu-smi info` chip table: an NPU on Atlas A2 (chip 0), or one of the two
// chips of an NPU on Atlas A3 (chip 0 and 1, each with its own Phy-ID).
struct NpuChip {
  int npu = -1;
  int chip = 0;
  std::string phy_id;                        // "" where the table has no Phy-ID column (A2)
  std::string name;                          // "910B3", "Ascend910", "910B4-1"
  std::string health;                        // "OK", "Warning", "Alarm", "Critical"
  std::string bus_id;                        // "0000:C1:00.0"
  long mem_used_mb = -1, mem_total_mb = -1;  // Memory-Usage(MB)
  long hbm_used_mb = -1, hbm_total_mb = -1;  // HBM-Usage(MB)
};

// A row of the process table under the chips (never a chip).
struct NpuProcess {
  int npu = -1;
  int chip = 0;
  std::string pid, name;
  long memory_mb = -1;
};

struct Probe {
  std::string where;                            // "local" or "ssh user@host"
  bool reachable = true;                        // false: ssh could not connect; nothing else was probed
  std::string connect_error;                    // ssh's own message when it could not connect
  std::string cann;                             // toolkit version from ascend_toolkit_install.info
  std::string toolkit;                          // the toolkit directory (ascend-toolkit/latest or cann-<v>)
  std::string set_env;                          // its set_env.sh, when there is one
  std::vector<std::string> kernels;             // ops/kernels installed: opp/.../kernel/<soc> dirs
  std::string atb;                              // NNAL's libatb.so, when installed
  std::string driver_info;                      // Version= of <home>/driver/version.info
  std::vector<NpuChip> npu_chips;               // every chip of `npu-smi info`
  std::vector<NpuProcess> npu_processes;        // its process table
  bool smoke_ran = false;                       // the smoke test ran (torch_npu is installed)
  bool smoke_ok = false;                        // import, npu available, the matmul's sum is right
  std::string smoke;                            // what it printed (the error when it failed)
  std::string npu_smi;                          // npu-smi version, empty when npu-smi did not run
  std::string driver;                           // Software Version of `npu-smi info -t board -i 0`
  std::string firmware;                         // Firmware Version of the same
  std::vector<std::string> chips;               // "0: 910B3 (OK)"
  std::string python;                           // "3.10.14"
  std::map<std::string, std::string> packages;  // normalised name -> version (torch, torch-npu, ...)
  std::map<std::string, std::string> env;       // ASCEND_*, CUDA_VISIBLE_DEVICES, ...
};

struct Check {
  std::string what;
  std::string found;
  std::string expected;
  std::string status;  // ok | mismatch | missing | warning
  std::string fix;     // the exact command (or step) that fixes it
};

Probe probe(exec::Runner& runner, const std::string& ascend_home, const std::string& python);
// The smoke test's Python: import torch and torch_npu, torch.npu.is_available(), a 64x64 matmul on
// the NPU whose sum must be 262144; with "vllm" as argv[1] also import vllm and vllm_ascend.
extern const char* const kSmokeTest;
// Whether the smoke test's output shows it passed: the matmul's sum, and vLLM's import when asked.
bool smoke_passed(const std::string& smoke_output, bool vllm);
std::vector<Check> check(const Probe& p, const kb::VersionMatrix& m);
// Ready: no check is a mismatch or missing.
bool ready(const std::vector<Check>& checks);
// `kcat doctor --format json`: {"probe", "checks", "ready"}; kcat bench attaches the same object.
nlohmann::json report_json(const Probe& p, const std::vector<Check>& checks);

// Parsers, exposed for tests.
std::string parse_toolkit_info(const std::string& text);
void parse_npu_smi(const std::string& text, Probe& p);
// `pip list --format=json` (anything before the list, such as a warning, is skipped): canonical
// name (PEP 503) -> version; empty when the text holds no list.
std::map<std::string, std::string> parse_pip_list(const std::string& text);
void parse_npu_board(const std::string& text, Probe& p);
// The shell line that looks for both toolkit layouts, set_env.sh, the ops/kernels, NNAL's
// libatb.so and the driver's version.info under an Ascend home; parse_layout reads its output.
std::string layout_probe_command(const std::string& ascend_home);
// What a failed smoke test's output means, and the fix ({what, fix}).
std::pair<std::string, std::string> smoke_diagnosis(const std::string& smoke_output,
                                                    const std::string& source_env);
// KEY=VALUE lines of the file-system probe (toolkit=, toolkit_version=, set_env=, kernel=, atb=, driver=).
void parse_layout(const std::string& text, Probe& p);

void to_json(nlohmann::json& j, const NpuChip& c);
void to_json(nlohmann::json& j, const NpuProcess& c);
void to_json(nlohmann::json& j, const Probe& p);
void to_json(nlohmann::json& j, const Check& c);

}  // namespace kcat::env
