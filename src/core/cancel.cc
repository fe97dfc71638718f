#include "kcat/core/cancel.h"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace kcat::cancel {

namespace {
std::atomic<int> g_count{0};
std::atomic<int> g_signal{0};

extern "C" void on_sigint(int sig) {
  g_signal.store(sig, std::memory_order_relaxed);
  g_count.fetch_add(1, std::memory_order_relaxed);
}

extern "C" void on_termination(int sig) {
  g_signal.store(sig, std::memory_order_relaxed);
  if (g_count.fetch_add(1, std::memory_order_relaxed) >= 2) _exit(128 + sig);  // asked three times
}

void install(int sig, void (*handler)(int)) {
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(sig, &sa, nullptr);
}

}  // namespace

void install_handler() { install(SIGINT, on_sigint); }

void install_termination_handler() {
  install(SIGINT, on_termination);
  install(SIGTERM, on_termination);
}

bool requested() noexcept { return g_count.load(std::memory_order_relaxed) > 0; }
void request() noexcept { g_count.fetch_add(1, std::memory_order_relaxed); }
void reset() noexcept {
  g_count.store(0, std::memory_order_relaxed);
  g_signal.store(0, std::memory_order_relaxed);
}
int count() noexcept { return g_count.load(std::memory_order_relaxed); }
int last_signal() noexcept { return g_signal.load(std::memory_order_relaxed); }

std::string Interrupted::signal_name() const {
  return signal_ == SIGTERM ? "SIGTERM" : signal_ == SIGHUP ? "SIGHUP" : "SIGINT (Ctrl-C)";
}

void throw_if_requested(const std::string& detail) {
  if (requested()) throw Interrupted(detail);
}

}  // namespace kcat::cancel
