#pragma once
// Running processes: argv or shell, cwd, environment overlay, timeout that kills the whole
// process group (SIGTERM, then SIGKILL), an output cap that keeps the tail, optional live
// streaming. The same Runner interface runs locally or on a host over ssh.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kcat::exec {

struct Command {
  std::vector<std::string> argv;  // run without a shell when set
  std::string shell;              // else: /bin/sh -c <shell>
  std::filesystem::path cwd;
  std::map<std::string, std::string> env;      // overlay on the current environment
  std::chrono::milliseconds timeout{0};        // 0 = none
  std::chrono::milliseconds kill_grace{2000};  // SIGTERM -> SIGKILL
  size_t output_cap = 1 << 20;                 // bytes kept per stream (the tail)
  std::function<void(std::string_view chunk, bool is_stderr)> on_output;  // live streaming
};

struct Outcome {
  int exit_code = -1;  // when exited normally
  int signal = 0;      // when killed by a signal
  bool timed_out = false;
  bool truncated = false;  // the output cap dropped the head of a stream
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  std::string describe() const;  // "exit 1", "killed by SIGKILL", "timed out after 5.0 s"
};

class Runner {
 public:
  virtual ~Runner() = default;
  virtual Outcome run(const Command& cmd) = 0;
  virtual std::string describe() const = 0;  // "local" or "ssh user@host"
};

// The environment a child process gets, as NAME=VALUE strings: the current one without kcat's
// credentials (the variables of secrets::env_names(), and any variable whose value is a secret:
// kcat/core/secrets.h), then `overlay`. Hooks, builds, benchmarks and the agent's commands never
// inherit the LLM key. The local runner uses it for every command.
std::vector<std::string> child_environment(const std::map<std::string, std::string>& overlay);

std::unique_ptr<Runner> local_runner();
// Runs commands on `destination` (user@host) with the system ssh client: BatchMode, connection
// reuse (ControlMaster), cwd and env applied remotely. extra_ssh_args e.g. {"-p","2222","-i",key}.
std::unique_ptr<Runner> ssh_runner(std::string destination, std::vector<std::string> extra_ssh_args = {});

}  // namespace kcat::exec
