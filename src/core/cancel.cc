#include "kcat/core/cancel.h"

#include <atomic>
#include <csignal>

namespace kcat::cancel {

namespace {
std::atomic<int> g_count{0};

extern "C" void on_sigint(int) { g_count.fetch_add(1, std::memory_order_relaxed); }
}  // namespace

void install_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
}

bool requested() noexcept { return g_count.load(std::memory_order_relaxed) > 0; }
void request() noexcept { g_count.fetch_add(1, std::memory_order_relaxed); }
void reset() noexcept { g_count.store(0, std::memory_order_relaxed); }
int count() noexcept { return g_count.load(std::memory_order_relaxed); }

}  // namespace kcat::cancel
