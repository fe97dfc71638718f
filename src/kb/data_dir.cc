#include "kcat/kb/data_dir.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>

namespace kcat::kb {

std::filesystem::path default_data_dir() {
  if (const char* env = std::getenv("KCAT_DATA_DIR"); env && *env) return env;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "patches";
  auto installed = exe.parent_path().parent_path() / "share" / "kcat" / "patches";
  if (std::filesystem::is_directory(installed, ec)) return installed;
  // A program in its build tree (kcat, a test): the build wrote where the source tree's patches/
  // is in a file beside it (src/CMakeLists.txt). The file is not installed, so an installed kcat
  // holds no path of the tree it was built from.
  if (std::ifstream marker(exe.parent_path() / "kcat-data-dir"); marker) {
    std::string dir;
    if (std::getline(marker, dir) && !dir.empty()) return dir;
  }
  return installed;  // missing: the error that follows names where it was looked for
}

}  // namespace kcat::kb
