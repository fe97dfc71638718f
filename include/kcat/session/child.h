#pragma once
// Runs a kcat subcommand as a child process on the same terminal, so that it can prompt, draw
// progress, and be stopped by Ctrl-C (the terminal sends SIGINT to the child; the session only
// notes it and returns to its prompt).
#include <string>
#include <vector>

namespace kcat::session {

// argv[0] is replaced by this executable (/proc/self/exe). Returns the exit code, or 128+signal.
int run_self(const std::vector<std::string>& args);

}  // namespace kcat::session
