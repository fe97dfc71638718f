#pragma once
// The run ledger: one JSON object per line in .kcat/runs/<run-id>/ledger.jsonl, appended and
// flushed per event so a killed run leaves every event before the kill. Secrets are redacted.
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kcat::report {

class Ledger {
 public:
  explicit Ledger(std::filesystem::path file);
  // Appends {"ts": ISO-8601, "type": type, ...fields}; string values are passed through redact().
  void append(const std::string& type, nlohmann::json fields = nlohmann::json::object());
  // Replaces every registered secret (API keys) with "[REDACTED]" wherever it appears; the
  // process-wide ones (kcat/core/secrets.h) always are.
  void add_secret(std::string secret);
  const std::filesystem::path& path() const { return file_; }
  // All events of a ledger file; a torn last line (killed mid-write) is skipped.
  static std::vector<nlohmann::json> read(const std::filesystem::path& file);

 private:
  std::string redact(std::string s) const;
  nlohmann::json redact_json(nlohmann::json j) const;
  std::filesystem::path file_;
  std::vector<std::string> secrets_;
  std::mutex mu_;
};

// "20261124T213600Z-1a2b3c": sortable by time, unique per invocation.
std::string make_run_id();

}  // namespace kcat::report
