#pragma once
// Ctrl-C and SIGTERM: one process-wide flag, set by kcat's signal handler and polled by long work
// (the process runner, the LLM client's transfer callback, bench loops, the interactive prompt,
// migrate's steps) so that the current action stops cleanly instead of the process dying mid-write.
#include <stdexcept>
#include <string>

namespace kcat::cancel {

// Installs the SIGINT handler (idempotent). Without SA_RESTART, so blocking reads return EINTR.
void install_handler();
// For commands that change the repository: SIGINT and SIGTERM both set the flag (the step in
// progress finishes or is rolled back, then the command stops); a third signal ends the process at
// once (the next kcat command then restores a whole-step state).
void install_termination_handler();
bool requested() noexcept;
void request() noexcept;
void reset() noexcept;
// How many SIGINTs arrived since the last reset (the prompt quits on the second).
int count() noexcept;
// The last signal that arrived (SIGINT, SIGTERM), or 0 (also after request()).
int last_signal() noexcept;

// Thrown by work that stopped because of the flag, after putting back what it had half done.
// `detail` says what was put back and how to continue; exit code 128 + signal (130 for Ctrl-C).
class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(std::string detail = {})
      : std::runtime_error(detail.empty() ? "interrupted" : detail),
        detail_(std::move(detail)),
        signal_(last_signal()) {}
  int signal() const noexcept { return signal_; }
  // What was put back and how to continue; empty when the work stopped between actions.
  const std::string& detail() const noexcept { return detail_; }
  int exit_code() const noexcept { return 128 + (signal_ ? signal_ : 2); }
  // "SIGINT (Ctrl-C)" / "SIGTERM"
  std::string signal_name() const;

 private:
  std::string detail_;
  int signal_;
};

// Throws Interrupted when the flag is set.
void throw_if_requested(const std::string& detail = {});

}  // namespace kcat::cancel
