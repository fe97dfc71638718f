#include "kcat/cli/command.h"

#include <unistd.h>

#include <cstdlib>

namespace kcat::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

bool Globals::use_color(int fd) const {
  if (color == "always") return true;
  if (color == "never") return false;
  if (const char* nc = std::getenv("NO_COLOR"); nc && *nc) return false;
  return ::isatty(fd) != 0;
}

}  // namespace kcat::cli
