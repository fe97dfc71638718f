#pragma once
// Ctrl-C: one process-wide flag, set by kcat's SIGINT handler and polled by long work (the LLM
// client's transfer callback, bench loops, the interactive prompt) so that the current action
// stops cleanly instead of the process dying mid-write.
namespace kcat::cancel {

// Installs the SIGINT handler (idempotent). Without SA_RESTART, so blocking reads return EINTR.
void install_handler();
bool requested() noexcept;
void request() noexcept;
void reset() noexcept;
// How many SIGINTs arrived since the last reset (the prompt quits on the second).
int count() noexcept;

}  // namespace kcat::cancel
