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

struct Probe {
  std::string where;                            // "local" or "ssh user@host"
  std::string cann;                             // toolkit version from ascend_toolkit_install.info
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
std::vector<Check> check(const Probe& p, const kb::VersionMatrix& m);

// Parsers, exposed for tests.
std::string parse_toolkit_info(const std::string& text);
void parse_npu_smi(const std::string& text, Probe& p);
void parse_npu_board(const std::string& text, Probe& p);

void to_json(nlohmann::json& j, const Probe& p);
void to_json(nlohmann::json& j, const Check& c);

}  // namespace kcat::env
