#include "kcat/report/ledger.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <random>
#include <set>

#include "kcat/core/error.h"
#include "kcat/core/fault.h"
#include "kcat/core/json.h"
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
  auto text = json_text(line) + "\n";
  int fd = ::open(file_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(ErrorKind::Io, std::string("cannot write the ledger: ") + std::strerror(errno),
                file_.string());
  }
  struct stat st {};
  off_t size_before = ::fstat(fd, &st) == 0 ? st.st_size : -1;
  // A line cut by a kill has no newline: end it, so this event stays a line of its own.
  char last = '\n';
  if (size_before > 0 && ::pread(fd, &last, 1, size_before - 1) == 1 && last != '\n') text.insert(0, "\n");
  const char* p = text.data();
  size_t left = text.size();
  int err = fault::before_write(file_.string());
  while (left > 0 && err == 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (err != 0) {
    // Disk full: no half line stays behind to swallow the next event; and the caller stops, since
    // a step must not change files its journal line did not reach the disk for.
    if (size_before >= 0 && ::ftruncate(fd, size_before) != 0) {
      // the torn line stays; read() skips it
    }
    ::close(fd);
    throw Error(ErrorKind::Io, std::string("cannot write the ledger: ") + std::strerror(err), file_.string(),
                "free some disk space, then `kcat migrate --resume` continues the run");
  }
  ::close(fd);
}

namespace {

// The fields readers take as strings (e.value("type", "")): a line where one is something else is
// as unusable as one that does not parse.
bool well_formed(const nlohmann::json& e) {
  if (!e.is_object() || !e.contains("type") || !e["type"].is_string()) return false;
  for (const char* k :
       {"ts", "step", "key", "title", "commit", "reason", "base", "branch", "from_branch", "outcome"}) {
    auto it = e.find(k);
    if (it != e.end() && !it->is_string()) return false;
  }
  return true;
}

void warn_once(const std::filesystem::path& file, size_t line_no, bool last) {
  static std::mutex mu;
  static std::set<std::string> warned;
  auto where = file.string() + ":" + std::to_string(line_no);
  std::lock_guard lock(mu);
  if (!warned.insert(where).second) return;
  spdlog::warn("{}: {}; skipped", where,
               last ? "the last ledger line is cut off or not a kcat event (a run killed mid-write?)"
                    : "not a kcat ledger event (malformed JSON, or a field of the wrong type)");
}

}  // namespace

std::vector<nlohmann::json> Ledger::read(const std::filesystem::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto e = nlohmann::json::parse(line, nullptr, false);
    if (!e.is_discarded() && well_formed(e)) {
      out.push_back(std::move(e));
      continue;
    }
    // A line torn by a kill, or damaged by hand: skipped, and said where, so one bad line costs
    // one event, not the run.
    warn_once(file, line_no, in.peek() == std::char_traits<char>::eof());
  }
  return out;
}

std::string make_run_id() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  // The suffix starts with the millisecond, so runs of one second still sort in the order they
  // started (list_runs, "latest"); three random hex digits after it keep two at once apart.
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string suffix = fmt::format("{:03d}", ms);
  for (int i = 0; i < 3; ++i) suffix += hex[rd() % 16];
  return std::string(buf) + "-" + suffix;
}

}  // namespace kcat::report
