#pragma once
// Logging setup (spdlog to stderr). Layers log with spdlog::info/debug directly.
namespace kcat {

// verbosity: -1 quiet (errors only), 0 default (warnings), 1 info, 2 debug, 3 trace.
void setup_logging(int verbosity, bool json = false);

}  // namespace kcat
