#pragma once
// A one-line progress bar on a terminal; silent when stderr is not a terminal or in CI, so logs
// and pipes never fill with carriage returns.
#include <cstddef>
#include <cstdio>
#include <string>

namespace kcat::session {

class Progress {
 public:
  Progress(std::string label, size_t total, bool enabled, std::FILE* out = stderr);
  ~Progress();
  void update(size_t done);
  void finish();
  // The line that update() draws, for tests.
  std::string render(size_t done) const;

 private:
  std::string label_;
  size_t total_;
  bool enabled_;
  std::FILE* out_;
  int last_percent_ = -1;
  bool finished_ = false;
};

// True when progress bars should be drawn on fd: a terminal, and not CI.
bool progress_enabled(int fd, bool ci);

}  // namespace kcat::session
