#include "kcat/core/error.h"

namespace kcat {

ExitCode Error::exit_code() const noexcept {
  switch (kind_) {
    case ErrorKind::Usage:
      return ExitCode::Usage;
    case ErrorKind::Llm:
      return ExitCode::Llm;
    case ErrorKind::Budget:
      return ExitCode::Budget;
    case ErrorKind::Loop:
      return ExitCode::Loop;
    case ErrorKind::Verify:
      return ExitCode::Findings;
    case ErrorKind::Environment:
    case ErrorKind::Io:
    case ErrorKind::Git:
    case ErrorKind::Parse:
    case ErrorKind::Internal:
      return ExitCode::Environment;
  }
  return ExitCode::Environment;
}

std::string Error::render() const {
  std::string out = "error: ";
  out += what();
  if (!where_.empty()) out += "\n  at " + where_;
  if (!hint_.empty()) out += "\n  hint: " + hint_;
  return out;
}

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::Usage:
      return "usage";
    case ErrorKind::Environment:
      return "environment";
    case ErrorKind::Io:
      return "io";
    case ErrorKind::Git:
      return "git";
    case ErrorKind::Parse:
      return "parse";
    case ErrorKind::Verify:
      return "verify";
    case ErrorKind::Llm:
      return "llm";
    case ErrorKind::Budget:
      return "budget";
    case ErrorKind::Loop:
      return "loop";
    case ErrorKind::Internal:
      return "internal";
  }
  return "unknown";
}

}  // namespace kcat
