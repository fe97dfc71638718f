#include "kcat/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace kcat {

void setup_logging(int verbosity, bool json) {
  spdlog::drop("kcat");
  auto logger = spdlog::stderr_color_mt("kcat");
  if (json) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","msg":"%v"})");
  } else {
    logger->set_pattern("kcat: %^%l%$: %v");
  }
  spdlog::level::level_enum lvl = spdlog::level::warn;
  if (verbosity < 0) lvl = spdlog::level::err;
  if (verbosity == 1) lvl = spdlog::level::info;
  if (verbosity == 2) lvl = spdlog::level::debug;
  if (verbosity >= 3) lvl = spdlog::level::trace;
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
}

}  // namespace kcat
