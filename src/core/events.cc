#include "kcat/core/events.h"
#include "kcat/core/json.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace kcat::events {

namespace {
std::atomic<bool> g_json{false};
std::mutex g_mu;
}  // namespace

std::string now_iso() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void enable_json(bool on) { g_json = on; }
bool json_enabled() { return g_json; }

void emit(const std::string& event, nlohmann::json fields) {
  if (!g_json) return;
  nlohmann::json line = {{"ts", now_iso()}, {"event", event}};
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = v;
  }
  // replace invalid UTF-8 so one odd file name never breaks the stream
  auto text = json_text(line);
  std::lock_guard lock(g_mu);
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

}  // namespace kcat::events
