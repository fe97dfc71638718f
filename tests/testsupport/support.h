#pragma once
// Test helpers: a temp directory that cleans up, files, and running programs (kcat itself above all).
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kcat::test {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

// Creates parent directories as needed.
void write(const fs::path& path, const std::string& bytes);
std::string read(const fs::path& path);

struct Result {
  int exit_code = -1;  // exit status, or 128+signal
  std::string out;
  std::string err;
};

// Runs argv (no shell) in cwd with extra environment variables; stdin is /dev/null.
Result run(const std::vector<std::string>& argv, const fs::path& cwd = {},
           const std::map<std::string, std::string>& env = {});
// Runs a shell command line with /bin/sh -c.
Result sh(const std::string& command, const fs::path& cwd = {});
// The environment of a user whose home is `home` (its own config and trust store) and who has set
// no LLM endpoint and is not in CI; `extra` is added over it.
std::map<std::string, std::string> home_env(const fs::path& home,
                                            const std::map<std::string, std::string>& extra = {});
// Runs the kcat binary under test with args.
Result kcat(const std::vector<std::string>& args, const fs::path& cwd = {},
            const std::map<std::string, std::string>& env = {});

// kcat started in the background (stdin /dev/null, output to files), for tests that signal it or
// run a second kcat beside it. The destructor SIGKILLs it if still running.
class Background {
 public:
  Background(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});
  ~Background();
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  int pid() const { return pid_; }
  // Waits for it to exit (SIGKILL after `timeout_s`) and returns its exit code and output.
  Result wait(int timeout_s = 60);

 private:
  int pid_ = -1;
  TempDir out_;
  bool waited_ = false;
};

// Polls until `path` exists (true) or `timeout_s` passed (false).
bool wait_for_file(const fs::path& path, int timeout_s = 30);
// True while process `pid` exists and is not a zombie.
bool process_alive(int pid);

fs::path source_dir();    // the kcat source tree
fs::path fixtures_dir();  // tests/fixtures
fs::path kcat_binary();

// True when the tests run in CI (CI is set), where `tools/install.sh --test` has installed every
// program the tests drive (tmux, chromium, ...).
bool in_ci();

// Copies a fixture tree into dir (symlinks copied as symlinks).
void copy_tree(const fs::path& from, const fs::path& to);
// `git init` + one commit of everything in dir, with a fixed author; for tests of the git layer.
void git_init_commit(const fs::path& dir, const std::string& message = "initial");

}  // namespace kcat::test

// For a test that drives a program the machine may lack: outside CI the test is skipped with the
// reason; in CI the program's absence fails it (CI installs it, so a skip there would hide a test).
#define KCAT_NEED_PROGRAM(present, reason)                                  \
  do {                                                                      \
    if (!(present)) {                                                       \
      if (::kcat::test::in_ci()) FAIL() << (reason) << " (required in CI)"; \
      GTEST_SKIP() << (reason);                                             \
    }                                                                       \
  } while (0)
