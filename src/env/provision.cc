#include "kcat/env/provision.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kcat/core/error.h"
#include "kcat/core/text.h"
#include "kcat/env/doctor.h"
#include "kcat/env/pep508.h"
#include "kcat/exec/shell_quote.h"

namespace kcat::env {

namespace {

using Clock = std::chrono::steady_clock;

std::string tail(const std::string& s, size_t n = 4000) { return s.size() > n ? s.substr(s.size() - n) : s; }

// The name at the start of a requirement ("tokenizers==0.20.3 ; python_version>'3'" -> tokenizers).
std::string requirement_name(const std::string& line) {
  std::string name;
  RE2::PartialMatch(line, R"(^\s*([A-Za-z0-9][A-Za-z0-9._-]*))", &name);
  return pep::canonical_name(name);
}

// ">= 3.10, < 3.13" against "3.11.7", by PEP 440 (3.12.9 fits, 3.13.0 does not). A range the
// knowledge base wrote and PEP 440 cannot read is the knowledge base's error, said as such.
bool python_fits(const std::string& range, const std::string& version) {
  return pep::SpecifierSet::parse(range).contains(version, true);
}

// The package pip could not install: "No matching distribution found for torch-npu==2.5.1".
std::string missing_distribution(const std::string& out) {
  std::string spec;
  RE2::PartialMatch(out, R"(No matching distribution found for ([^\s]+))", &spec);
  return spec;
}

class Setup {
 public:
  Setup(exec::Runner& r, const SetupOptions& o) : r_(r), o_(o), start_(Clock::now()) {}

  SetupResult run();

 private:
  // Runs one command on the host (in bash, after CANN's environment when `with_env`); false when
  // it failed, was refused, or the budget ran out (result_ says which).
  bool step(const std::string& what, const std::string& command, bool with_env, std::string* output = nullptr,
            const std::string& input = "");
  bool fail(int code, const std::string& error, const std::string& package, const std::string& fix) {
    if (result_.error.empty()) {
      result_.exit_code = code;
      result_.error = error;
      result_.failing_package = package;
      result_.fix = fix;
    }
    return false;
  }
  void log(const std::string& line) {
    if (o_.log) o_.log(line);
  }
  std::string pip(const std::string& args) const;
  bool find_cann();
  bool check_python();
  bool install(const std::string& what, const std::string& spec, bool torch_index);
  bool install_rest();
  bool smoke();
  void versions();

  exec::Runner& r_;
  const SetupOptions& o_;
  Clock::time_point start_;
  SetupResult result_;
  Probe layout_;
  std::string env_prefix_;
  std::string vpy_;
};

bool Setup::step(const std::string& what, const std::string& command, bool with_env, std::string* output,
                 const std::string& input) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(o_.budget - (Clock::now() - start_));
  if (left.count() <= 0) {
    return fail(5, fmt::format("the time budget ({} s) ran out before: {}", o_.budget.count(), what), "",
                "raise --budget-minutes, or run the remaining steps by hand");
  }
  auto line = (with_env ? env_prefix_ : std::string()) + command;
  log("$ " + command);
  if (o_.approve && !o_.approve(what, command)) {
    log("  refused");
    return fail(1, "stopped before: " + what + " (not approved)", "",
                "run `kcat env setup` again and approve it");
  }
  exec::Command c;
  c.shell = "bash -c " + exec::shell_quote(line);
  c.timeout = left;
  if (!input.empty()) {
    c.input = exec::Input::data;
    c.input_data = input;
  }
  auto t0 = Clock::now();
  auto out = r_.run(c);
  SetupStep s{what, command, out.exit_code, std::chrono::duration<double>(Clock::now() - t0).count(),
              tail(out.out + out.err)};
  result_.steps.push_back(s);
  log(fmt::format("  {} in {:.1f} s", out.ok() ? "ok" : out.describe(), s.seconds));
  if (output) *output = out.out + out.err;
  if (out.timed_out) {
    return fail(5, fmt::format("the time budget ({} s) ran out during: {}", o_.budget.count(), what), "",
                "raise --budget-minutes, or run the remaining steps by hand");
  }
  if (out.exit_code == 255 && r_.describe().rfind("ssh ", 0) == 0 &&
      out.err.find("kcat: ") != std::string::npos) {
    return fail(3, "could not connect: " + trim(out.err), "",
                "check that `" + r_.describe() + " true` works");
  }
  return out.ok();
}

std::string Setup::pip(const std::string& args) const {
  std::string extra;
  for (auto& a : o_.pip_args) extra += " " + exec::shell_quote(a);
  return vpy_ + " -m pip install --disable-pip-version-check --no-input" + extra + " " + args;
}

bool Setup::find_cann() {
  std::string out;
  if (!step("find CANN under " + o_.ascend_home, layout_probe_command(o_.ascend_home), false, &out))
    return fail(3, "could not look for CANN under " + o_.ascend_home + ": " + trim(out), "", "");
  parse_layout(out, layout_);
  if (layout_.toolkit.empty() || layout_.set_env.empty()) {
    return fail(
        3, "no CANN toolkit with a set_env.sh under " + o_.ascend_home, "CANN toolkit",
        "install the CANN toolkit (it creates ascend-toolkit/latest or cann-<version> and its set_env.sh), "
        "or pass --ascend-home");
  }
  env_prefix_ = ". " + exec::shell_quote(layout_.set_env) + " >/dev/null 2>&1; ";
  auto nnal = o_.ascend_home + "/nnal/atb/set_env.sh";
  env_prefix_ += "if [ -f " + exec::shell_quote(nnal) + " ]; then . " + exec::shell_quote(nnal) +
                 " >/dev/null 2>&1; fi; ";
  log("CANN " + layout_.cann + " at " + layout_.toolkit + " (" + layout_.set_env + ")");
  return true;
}

bool Setup::check_python() {
  std::string out;
  auto py = exec::shell_quote(o_.python);
  if (!step("check " + o_.python,
            py + " -c 'import sys; print(\"%d.%d.%d\" % sys.version_info[:3])' && " + py +
                " -m venv --help >/dev/null",
            false, &out)) {
    return fail(
        3, o_.python + " cannot create a venv: " + trim(tail(out, 300)), "python3-venv",
        "install Python with its venv module (Debian: apt-get install python3-venv python3-pip), or pass "
        "--python");
  }
  auto version = trim(out.substr(0, out.find('\n')));
  if (!result_.stack.python.empty() && !python_fits(result_.stack.python, version)) {
    return fail(3,
                fmt::format("{} is Python {}; the stack needs {} ({})", o_.python, version,
                            result_.stack.python, result_.stack.source),
                "python", "pass --python with a Python in " + result_.stack.python);
  }
  return true;
}

bool Setup::install(const std::string& what, const std::string& spec, bool torch_index) {
  std::string out;
  auto idx = torch_index && !o_.torch_index.empty()
                 ? "--extra-index-url " + exec::shell_quote(o_.torch_index) + " "
                 : "";
  if (step("install " + what, pip(idx + exec::shell_quote(spec)), true, &out)) return true;
  auto missing = missing_distribution(out);
  return fail(
      1,
      "pip could not install " + spec + (missing.empty() ? "" : ": no matching distribution for " + missing),
      requirement_name(missing.empty() ? spec : missing),
      missing.empty() ? "see the pip output in the log"
                      : "check that the index has " + missing +
                            " for this Python and platform (--index-url / --find-links)");
}

bool Setup::install_rest() {
  // The stack is a constraint the rest may not move.
  std::string constraints;
  for (auto [n, v] :
       {std::pair{"torch", result_.stack.torch}, std::pair{"torch-npu", result_.stack.torch_npu},
        std::pair{"vllm", result_.stack.vllm}, std::pair{"vllm-ascend", result_.stack.vllm_ascend}}) {
    if (!v.empty()) constraints += fmt::format("{}=={}\n", n, v);
  }
  auto dir = exec::shell_quote(o_.venv);
  if (!step("write the stack's constraints", "cat > " + dir + "/kcat-constraints.txt", false, nullptr,
            constraints))
    return fail(1, "could not write " + o_.venv + "/kcat-constraints.txt", "", "");
  result_.requirements = o_.requirements;
  for (int attempt = 0;; ++attempt) {
    if (!step("write requirements-ascend.txt", "cat > " + dir + "/kcat-requirements.txt", false, nullptr,
              result_.requirements.empty() ? "\n" : result_.requirements))
      return fail(1, "could not write " + o_.venv + "/kcat-requirements.txt", "", "");
    std::string out;
    if (step("install requirements-ascend.txt",
             pip("-c " + dir + "/kcat-constraints.txt -r " + dir + "/kcat-requirements.txt"), true, &out))
      return true;
    if (!result_.error.empty()) return false;  // budget, refusal, connection
    auto conflicts = parse_resolver_error(out);
    if (conflicts.empty()) {
      auto missing = missing_distribution(out);
      return fail(1,
                  "pip could not install requirements-ascend.txt" +
                      (missing.empty() ? "" : ": no matching distribution for " + missing),
                  requirement_name(missing),
                  missing.empty() ? "see the pip output in the log" : "check that the index has " + missing);
    }
    if (attempt >= o_.max_retries) {
      auto& c = conflicts.front();
      return fail(1,
                  fmt::format("pip's resolver still conflicts after {} adjustments: {} against {} ({})",
                              attempt, c.requested, c.needed, c.by),
                  c.package,
                  "relax " + c.package + " in requirements-ascend.txt by hand, or choose another stack");
    }
    bool moved = false;
    for (auto& c : conflicts) {
      bool stack_pkg = c.package == "torch" || c.package == "torch-npu" || c.package == "vllm" ||
                       c.package == "vllm-ascend";
      PinChange change;
      if (!stack_pkg && adjust_requirements(result_.requirements, c, change)) {
        log("  changed " + change.from + " -> " + change.to + ": " + change.reason);
        result_.changes.push_back(change);
        moved = true;
      } else if (stack_pkg) {
        return fail(
            1, fmt::format("the project needs {}, but the stack pins {} ({})", c.needed, c.requested, c.by),
            c.package,
            "choose a stack whose " + c.package +
                " fits (--vllm-ascend / --torch-npu), or relax the project's pin");
      }
    }
    if (!moved) {
      auto& c = conflicts.front();
      return fail(1, fmt::format("pip's resolver: {} against {} ({})", c.requested, c.needed, c.by),
                  c.package, "relax " + c.package + " in requirements-ascend.txt");
    }
  }
}

bool Setup::smoke() {
  std::string out;
  bool vllm = !result_.stack.vllm_ascend.empty();
  bool ran = step("smoke test: import torch, torch_npu; torch.npu.is_available(); a matmul on the NPU" +
                      std::string(vllm ? "; import vllm" : ""),
                  vpy_ + " -c " + exec::shell_quote(kSmokeTest) + (vllm ? " vllm" : ""), true, &out);
  if (!result_.error.empty()) return false;
  if (ran && smoke_passed(out, vllm)) return true;
  auto [what, fix] = smoke_diagnosis(out, "source " + layout_.set_env);
  auto pkg = out.find("vllm_error=") != std::string::npos ? "vllm-ascend" : "torch-npu";
  return fail(1, "smoke test failed: " + what + ": " + trim(tail(out, 400)), pkg, fix);
}

void Setup::versions() {
  std::string out;
  if (!step("list the installed versions", vpy_ + " -m pip list --format=json --disable-pip-version-check",
            false, &out))
    return;
  // Unknown when pip printed no list: the setup itself succeeded.
  result_.versions = parse_pip_list(out);
}

SetupResult Setup::run() {
  result_.stack = o_.stack;
  vpy_ = exec::shell_quote(o_.venv + "/bin/python");
  auto done = [&]() {
    result_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    return result_;
  };
  if (!find_cann()) return done();
  if (result_.stack.torch_npu.empty()) {
    if (!o_.matrix) {
      fail(2, "no stack chosen", "", "pass --vllm-ascend or --torch-npu");
      return done();
    }
    try {
      result_.stack = stack_for(*o_.matrix, "", "", o_.cann.empty() ? layout_.cann : o_.cann);
    } catch (const Error& e) {
      fail(2, e.what(), "", "pass --vllm-ascend or --torch-npu");
      return done();
    }
  }
  auto& s = result_.stack;
  log(fmt::format("stack: torch {}, torch_npu {}{}{} on CANN {} ({})", s.torch, s.torch_npu,
                  s.vllm.empty() ? "" : ", vllm " + s.vllm,
                  s.vllm_ascend.empty() ? "" : ", vllm-ascend " + s.vllm_ascend, s.cann, s.source));
  if (!s.cann.empty() && !layout_.cann.empty()) {
    auto fit = kb::cann_fit(layout_.cann, s.cann);
    if (fit == kb::CannFit::mismatch)
      log(fmt::format("warning: the host has CANN {}, the stack names CANN {}", layout_.cann, s.cann));
  }
  if (!check_python()) return done();
  if (!step(
          "create the venv " + o_.venv,
          "[ -x " + vpy_ + " ] || " + exec::shell_quote(o_.python) + " -m venv " + exec::shell_quote(o_.venv),
          false)) {
    fail(3, "could not create the venv " + o_.venv, "venv", "check the path and the disk");
    return done();
  }
  if (!install("torch " + s.torch + " (CPU wheel)", "torch==" + s.torch, true)) return done();
  if (!install("torch_npu " + s.torch_npu, "torch-npu==" + s.torch_npu, true)) return done();
  if (!s.vllm.empty() && !install("vllm " + s.vllm, "vllm==" + s.vllm, true)) return done();
  if (!s.vllm_ascend.empty() &&
      !install("vllm-ascend " + s.vllm_ascend, "vllm-ascend==" + s.vllm_ascend, true))
    return done();
  if (!install_rest()) return done();
  if (!smoke()) return done();
  versions();
  result_.activate = o_.venv + "/kcat-env.sh";
  step("write " + result_.activate, "cat > " + exec::shell_quote(result_.activate), false, nullptr,
       "# Enter the environment kcat env setup made: CANN, NNAL/ATB when installed, the venv.\n" +
           env_prefix_ + "\n. " + exec::shell_quote(o_.venv + "/bin/activate") + "\n");
  result_.ready = result_.error.empty();
  result_.exit_code = result_.ready ? 0 : result_.exit_code;
  return done();
}

}  // namespace

Stack stack_for(const kb::VersionMatrix& m, const std::string& vllm_ascend, const std::string& torch_npu,
                const std::string& cann) {
  if (!vllm_ascend.empty()) {
    auto* r = m.for_vllm_ascend(vllm_ascend);
    if (!r) throw Error(ErrorKind::Usage, "vllm-ascend " + vllm_ascend + " is not in the version matrix");
    return {r->python, r->cann, r->torch, r->torch_npu, r->vllm, r->vllm_ascend, r->source};
  }
  const kb::TorchNpuRow* row = nullptr;
  if (!torch_npu.empty()) {
    row = m.for_torch_npu(torch_npu);
    if (!row) throw Error(ErrorKind::Usage, "torch_npu " + torch_npu + " is not in the version matrix");
  } else {
    auto rows = m.for_cann(cann);
    if (rows.empty())
      throw Error(ErrorKind::Usage, "no torch_npu row in the version matrix for CANN " + cann);
    row = rows.front();
  }
  Stack s{"", row->cann, row->torch, row->torch_npu, "", "", row->source};
  if (auto* py = m.python_for_torch(row->torch); py && !py->python.empty()) {
    auto last = py->python.back();
    auto minor = std::stoi(last.substr(last.find('.') + 1));
    s.python =
        ">= " + py->python.front() + ", < " + last.substr(0, last.find('.') + 1) + std::to_string(minor + 1);
  }
  return s;
}

std::vector<ResolverConflict> parse_resolver_error(const std::string& out) {
  std::vector<ResolverConflict> found;
  std::map<std::string, std::string> requested;  // package -> the user's requirement
  std::istringstream in(out);
  std::string line;
  static const RE2 user(R"(^\s*The user requested (?:\(constraint\) )?(\S.*?)\s*$)");
  static const RE2 depends(R"(^\s*(\S+ \S+) depends on (\S.*?)\s*$)");
  std::vector<std::pair<std::string, std::string>> needs;  // (by, requirement)
  while (std::getline(in, line)) {
    std::string req, by;
    if (RE2::FullMatch(line, user, &req)) {
      requested[requirement_name(req)] = req;
    } else if (RE2::FullMatch(line, depends, &by, &req)) {
      // pip prints "tokenizers<0.23 and >=0.22" for "tokenizers<0.23,>=0.22".
      std::string spec = req;
      RE2::GlobalReplace(&spec, R"(\s+and\s+)", ",");
      needs.push_back({by, spec});
    }
  }
  for (auto& [by, spec] : needs) {
    auto name = requirement_name(spec);
    auto it = requested.find(name);
    if (it == requested.end() || it->second == spec) continue;
    found.push_back({name, it->second, spec, by});
  }
  return found;
}

bool adjust_requirements(std::string& text, const ResolverConflict& c, PinChange& change) {
  std::istringstream in(text);
  std::string line, out;
  bool done = false;
  while (std::getline(in, line)) {
    auto code = line.substr(0, line.find('#'));
    if (!done && !trim(code).empty() && requirement_name(code) == c.package &&
        code.find("://") == std::string::npos) {
      change = {
          trim(code), c.needed,
          fmt::format("pip's resolver: {} depends on {}, the project pinned {}", c.by, c.needed, trim(code))};
      out += c.needed + "  # kcat env setup: was " + trim(code) + " (" + c.by + " depends on " + c.needed +
             ")\n";
      done = true;
    } else {
      out += line + "\n";
    }
  }
  if (done) text = out;
  return done;
}

SetupResult setup(exec::Runner& runner, const SetupOptions& o) { return Setup(runner, o).run(); }

void to_json(nlohmann::json& j, const SetupResult& r) {
  nlohmann::json steps = nlohmann::json::array(), changes = nlohmann::json::array();
  for (auto& s : r.steps)
    steps.push_back(
        {{"what", s.what}, {"command", s.command}, {"exit_code", s.exit_code}, {"seconds", s.seconds}});
  for (auto& c : r.changes) changes.push_back({{"from", c.from}, {"to", c.to}, {"reason", c.reason}});
  j = {{"ready", r.ready},
       {"exit_code", r.exit_code},
       {"error", r.error},
       {"failing_package", r.failing_package},
       {"fix", r.fix},
       {"stack",
        {{"python", r.stack.python},
         {"cann", r.stack.cann},
         {"torch", r.stack.torch},
         {"torch_npu", r.stack.torch_npu},
         {"vllm", r.stack.vllm},
         {"vllm_ascend", r.stack.vllm_ascend},
         {"source", r.stack.source}}},
       {"steps", steps},
       {"changes", changes},
       {"requirements", r.requirements},
       {"versions", r.versions},
       {"activate", r.activate},
       {"seconds", r.seconds}};
}

}  // namespace kcat::env
