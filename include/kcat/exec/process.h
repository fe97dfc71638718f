#pragma once
// Running processes: the one process runner of kcat. argv or a shell line, cwd, an environment
// (inherited, with variables set and removed), stdin (nothing, data, or the terminal), stdout and
// stderr captured up to a cap (the tail is kept) or left on the terminal, Ctrl-C (core/cancel),
// and a wall-time timeout that reaches every descendant, however it detached (SIGTERM, then
// SIGKILL after a grace). The same Runner interface runs locally or on a host over ssh.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kcat::exec {

enum class Input {
  null,     // /dev/null
  data,     // Command::input_data, then end of file
  inherit,  // kcat's own stdin (the terminal): an interactive child
};

struct Command {
  std::vector<std::string> argv;  // run without a shell when set (PATH is searched)
  std::string shell;              // else: /bin/sh -c <shell>
  std::filesystem::path program;  // when set: executed in place of argv[0] (which the child sees)
  std::filesystem::path cwd;
  // The environment is kcat's, minus env_remove, plus env. An env_remove entry is a variable's
  // name, or a prefix when it ends in '*' ("OPENAI_*"). env wins over env_remove.
  std::map<std::string, std::string> env;
  std::vector<std::string> env_remove;
  Input input = Input::null;
  std::string input_data;  // with Input::data
  // stdout and stderr go to kcat's own (the terminal) instead of being captured. With
  // Input::inherit the child also stays in kcat's process group, the terminal's foreground one,
  // so that it may read the terminal and gets the terminal's Ctrl-C itself.
  bool inherit_output = false;
  // Ctrl-C (core/cancel::requested()) stops the child like a timeout does; Outcome::cancelled.
  bool cancellable = true;
  std::chrono::milliseconds timeout{0};        // wall time; 0 = none
  std::chrono::milliseconds kill_grace{2000};  // SIGTERM -> SIGKILL; also how long output is still
                                               // read after the child exited (a grandchild may hold it)
  size_t output_cap = 1 << 20;                 // bytes kept per stream: the tail (where errors are)
  std::function<void(std::string_view chunk, bool is_stderr)> on_output;  // live streaming
};

struct Outcome {
  int exit_code = -1;  // when exited normally; 127 when it could not be started
  int signal = 0;      // when killed by a signal
  bool timed_out = false;
  bool cancelled = false;  // Ctrl-C stopped it
  bool truncated = false;  // the output cap dropped the head of a stream
  std::string error;       // why it could not be started ("cannot run foo: No such file or directory")
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
  bool ok() const { return !timed_out && !cancelled && error.empty() && signal == 0 && exit_code == 0; }
  // "exit 1", "killed by signal 9 (Killed)", "timed out after 5.0 s", "cancelled", the error
  std::string describe() const;
};

class Runner {
 public:
  virtual ~Runner() = default;
  virtual Outcome run(const Command& cmd) = 0;
  virtual std::string describe() const = 0;  // "local" or "ssh user@host"
};

std::unique_ptr<Runner> local_runner();
// Runs commands on `destination` (user@host) with the system ssh client: BatchMode, connection
// reuse (ControlMaster), cwd and env applied remotely. extra_ssh_args e.g. {"-p","2222","-i",key}.
std::unique_ptr<Runner> ssh_runner(std::string destination, std::vector<std::string> extra_ssh_args = {});

// Runs `cmd` with the local runner: a shorthand for local_runner()->run(cmd).
Outcome run_local(const Command& cmd);

// Where `name` is found on PATH (or `name` itself when it holds a '/' and is executable).
std::optional<std::filesystem::path> find_program(const std::string& name, const char* path_env = nullptr);

}  // namespace kcat::exec
