#include "kcat/report/ledger.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>

#include "kcat/core/error.h"
#include "kcat/core/secrets.h"

namespace kcat::report {

namespace {

std::string now_iso() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "." + (ms < 10 ? "00" : ms < 100 ? "0" : "") + std::to_string(ms) + "Z";
}

}  // namespace

Ledger::Ledger(std::filesystem::path file) : file_(std::move(file)) {
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  if (ec) {
    throw Error(ErrorKind::Io, "cannot create the run directory: " + ec.message(),
                file_.parent_path().string(), "check that the repository is writable");
  }
}

void Ledger::add_secret(std::string secret) {
  if (secret.size() >= 4) {
    std::lock_guard lock(mu_);
    secrets_.push_back(std::move(secret));
  }
}

std::string Ledger::redact(std::string s) const {
  // The process-wide secrets first (the LLM key, whether or not this run asks the LLM: a hook or a
  // build may print it), then those registered with this ledger.
  s = secrets::redact(std::move(s));
  for (auto& secret : secrets_) {
    for (size_t p = s.find(secret); p != std::string::npos; p = s.find(secret, p)) {
      s.replace(p, secret.size(), "[REDACTED]");
      p += 10;
    }
  }
  return s;
}

nlohmann::json Ledger::redact_json(nlohmann::json j) const {
  if (j.is_string()) return redact(j.get<std::string>());
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) v = redact_json(v);
  }
  return j;
}

void Ledger::append(const std::string& type, nlohmann::json fields) {
  nlohmann::json line = {{"ts", now_iso()}, {"type", type}};
  std::lock_guard lock(mu_);
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = redact_json(v);
  }
  // One write() of a whole line with O_APPEND: a kill leaves complete lines, or a torn last one
  // that read() skips.
  auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  int fd = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(ErrorKind::Io, std::string("cannot write the ledger: ") + std::strerror(errno),
                file_.string());
  }
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
}

std::vector<nlohmann::json> Ledger::read(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      out.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      // a line torn by a kill
    }
  }
  return out;
}

std::string make_run_id() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string suffix;
  for (int i = 0; i < 6; ++i) suffix += hex[rd() % 16];
  return std::string(buf) + "-" + suffix;
}

}  // namespace kcat::report
