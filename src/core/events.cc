#include "kcat/core/events.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "kcat/core/json.h"
#include "kcat/core/text.h"

namespace kcat::events {

namespace {
std::atomic<bool> g_json{false};
std::atomic<bool> g_text{false};
std::atomic<bool> g_mid_line{false};  // the last streamed text did not end its line
std::mutex g_mu;

std::string str(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  const auto& v = j[key];
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
}

// The first line of `s`, without control characters that would move the cursor.
std::string first_line(std::string_view s) {
  auto nl = s.find('\n');
  return visible_text(trim(s.substr(0, nl)));
}

std::string seconds(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? fmt::format("{:.1f} s", j[key].get<double>() / 1000.0) : "";
}

std::string bench_line(const nlohmann::json& f) {
  auto label = f.value("warmup", false) ? std::string("warm-up") : "run " + str(f, "run");
  auto took = seconds(f, "ms");
  if (!str(f, "failure").empty())
    return fmt::format("bench {}: failed: {} ({})", label, first_line(str(f, "failure")), took);
  auto value = f.contains("value") && f["value"].is_number() ? fmt::format("{:.6g}", f["value"].get<double>())
                                                             : str(f, "value");
  auto unit = str(f, "unit");
  return fmt::format("bench {}: {}{} ({})", label, value, unit.empty() ? "" : " " + unit, took);
}

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
void enable_text(bool on) { g_text = on; }
bool text_enabled() { return g_text; }

std::string text_line(const std::string& event, const nlohmann::json& f) {
  if (event == "migrate-started")
    return fmt::format("migrate: run {} on {} (target {})", str(f, "run"), str(f, "branch"),
                       str(f, "target"));
  if (event == "step-started")
    return fmt::format("step {}: applying {} edit(s) in {} file(s)", str(f, "step"), str(f, "edits"),
                       str(f, "files"));
  if (event == "step-committed")
    return fmt::format("step {}: committed {}", str(f, "step"), str(f, "commit").substr(0, 10));
  if (event == "step-failed")
    return fmt::format("step {}: failed: {}", str(f, "step"), first_line(str(f, "reason")));
  if (event == "step-declined") return fmt::format("step {}: declined", str(f, "step"));
  if (event == "agent-started")
    return fmt::format("agent: {} step(s) with {}", str(f, "steps"), str(f, "model"));
  if (event == "agent-step-started") return fmt::format("agent step {}: started", str(f, "step"));
  if (event == "agent-step")
    return fmt::format("agent step {}: {}: {}", str(f, "step"), str(f, "status"),
                       first_line(str(f, "reason")));
  if (event == "agent-tool") {
    auto what = str(f, "target");
    return fmt::format("tool {}{} -> {}", str(f, "tool"), what.empty() ? "" : " " + first_line(what),
                       first_line(str(f, "result")));
  }
  if (event == "llm-retry")
    return fmt::format("LLM: try {} failed ({}); waiting {} before the next", str(f, "attempt"),
                       first_line(str(f, "reason")), seconds(f, "delay_ms"));
  if (event == "bench-run") return bench_line(f);
  return "";
}

void write_stream(std::string_view text) {
  if (text.empty()) return;
  std::lock_guard lock(g_mu);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  g_mid_line = text.back() != '\n';
}

void end_stream_line() {
  std::lock_guard lock(g_mu);
  if (!g_mid_line.exchange(false)) return;
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void emit(const std::string& event, nlohmann::json fields) {
  if (g_json) {
    nlohmann::json line = {{"ts", now_iso()}, {"event", event}};
    if (fields.is_object()) {
      for (auto& [k, v] : fields.items()) line[k] = v;
    }
    // replace invalid UTF-8 so one odd file name never breaks the stream
    auto text = json_text(line);
    std::lock_guard lock(g_mu);
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
    return;
  }
  if (!g_text) return;
  auto line = text_line(event, fields);
  if (line.empty()) return;
  // One line each, cut to the terminal's width: progress never wraps into a wall of text.
  auto width = terminal_width(2);
  line = fit_width("  " + line, width > 1 ? width - 1 : 0);
  std::lock_guard lock(g_mu);
  std::fflush(stdout);
  std::fprintf(stderr, "%s%s\n", g_mid_line.exchange(false) ? "\n" : "", line.c_str());
  std::fflush(stderr);
}

}  // namespace kcat::events
