#include "kcat/session/progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace kcat::session {

Progress::Progress(std::string label, size_t total, bool enabled, std::FILE* out)
    : label_(std::move(label)), total_(total), enabled_(enabled), out_(out) {}

Progress::~Progress() { finish(); }

std::string Progress::render(size_t done) const {
  constexpr int kWidth = 30;
  size_t total = total_ == 0 ? 1 : total_;
  if (done > total) done = total;
  int filled = static_cast<int>(kWidth * done / total);
  return fmt::format("\r{} [{}{}] {}/{}", label_, std::string(static_cast<size_t>(filled), '#'),
                     std::string(static_cast<size_t>(kWidth - filled), '.'), done, total_);
}

void Progress::update(size_t done) {
  if (!enabled_ || finished_) return;
  int percent = static_cast<int>(100 * done / (total_ == 0 ? 1 : total_));
  if (percent == last_percent_) return;  // redraw only when the bar moves
  last_percent_ = percent;
  std::fputs(render(done).c_str(), out_);
  std::fflush(out_);
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fputs(render(total_).c_str(), out_);
  std::fputs("\n", out_);
  std::fflush(out_);
}

bool progress_enabled(int fd, bool ci) { return !ci && ::isatty(fd) != 0; }

}  // namespace kcat::session
