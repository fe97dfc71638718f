#pragma once
// One error type for every layer: what happened, where (file:line when known), and what to do.
#include <stdexcept>
#include <string>

namespace kcat {

// Process exit codes; documented in docs/cli.md and `kcat help exit-codes`.
enum class ExitCode : int {
  Ok = 0,           // done; nothing blocking; target met
  Findings = 1,     // blocking findings remain, a check failed, or the target was missed
  Usage = 2,        // bad command line or configuration
  Environment = 3,  // the machine, repository or toolchain is not in a usable state
  Llm = 4,          // the LLM endpoint failed for good
  Budget = 5,       // a budget (steps, tokens, cost, minutes) stopped the run
  Loop = 6,         // the agent repeated itself and was stopped
  Interrupted = 130,
};

enum class ErrorKind { Usage, Environment, Io, Git, Parse, Verify, Llm, Budget, Loop, Internal };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string where = {}, std::string hint = {})
      : std::runtime_error(std::move(message)),
        kind_(kind),
        where_(std::move(where)),
        hint_(std::move(hint)) {}

  ErrorKind kind() const noexcept { return kind_; }
  const std::string& where() const noexcept { return where_; }
  const std::string& hint() const noexcept { return hint_; }
  ExitCode exit_code() const noexcept;
  // "error: <message>\n  at <where>\n  hint: <hint>" without empty parts.
  std::string render() const;

 private:
  ErrorKind kind_;
  std::string where_;
  std::string hint_;
};

const char* to_string(ErrorKind kind) noexcept;

}  // namespace kcat
