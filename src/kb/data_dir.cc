#include "kcat/kb/data_dir.h"

#include <unistd.h>

#include <cstdlib>
#include <system_error>

namespace kcat::kb {

std::filesystem::path default_data_dir() {
  if (const char* env = std::getenv("KCAT_DATA_DIR"); env && *env) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto installed = exe.parent_path().parent_path() / "share" / "kcat" / "patches";
    if (std::filesystem::is_directory(installed, ec)) return installed;
  }
  return KCAT_SOURCE_PATCHES_DIR;
}

}  // namespace kcat::kb
