// The ssh Runner: the same Command, run on another host through the system ssh client. BatchMode
// (never a password prompt), one multiplexed connection reused across commands, the remote cwd
// and environment applied by a quoted shell line.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "kcat/exec/process.h"
#include "kcat/exec/shell_quote.h"

namespace kcat::exec {

namespace {

class SshRunner : public Runner {
 public:
  SshRunner(std::string destination, std::vector<std::string> extra)
      : destination_(std::move(destination)), extra_(std::move(extra)), local_(local_runner()) {
    auto dir = std::filesystem::temp_directory_path() / fmt::format("kcat-ssh-{}", ::getuid());
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    control_path_ = (dir / "%C").string();
  }

  Outcome run(const Command& cmd) override {
    std::string line;
    if (!cmd.cwd.empty()) line += "cd " + shell_quote(cmd.cwd.string()) + " && ";
    // env_remove names (not prefixes: env -u takes names) are removed on the host too; the ssh
    // client itself runs with kcat's environment minus all of env_remove.
    std::string unset;
    for (auto& name : cmd.env_remove) {
      if (!name.empty() && name.back() != '*') unset += " -u " + shell_quote(name);
    }
    if (!cmd.env.empty() || !unset.empty()) {
      line += "env" + unset;
      for (auto& [k, v] : cmd.env) line += " " + shell_quote(k + "=" + v);
      line += " ";
    }
    if (!cmd.argv.empty()) {
      for (size_t i = 0; i < cmd.argv.size(); ++i) line += (i ? " " : "") + shell_quote(cmd.argv[i]);
    } else {
      line += "/bin/sh -c " + shell_quote(cmd.shell);
    }
    Command ssh;
    ssh.argv = {"ssh",
                "-o",
                "BatchMode=yes",
                "-o",
                "ControlMaster=auto",
                "-o",
                "ControlPath=" + control_path_,
                "-o",
                "ControlPersist=60",
                "-o",
                "ConnectTimeout=10"};
    ssh.argv.insert(ssh.argv.end(), extra_.begin(), extra_.end());
    ssh.argv.push_back(destination_);
    ssh.argv.push_back("--");
    ssh.argv.push_back(line);
    ssh.env_remove = cmd.env_remove;
    ssh.input = cmd.input;
    ssh.input_data = cmd.input_data;
    ssh.inherit_output = cmd.inherit_output;
    ssh.cancellable = cmd.cancellable;
    ssh.timeout = cmd.timeout;
    ssh.kill_grace = cmd.kill_grace;
    ssh.output_cap = cmd.output_cap;
    ssh.on_output = cmd.on_output;
    auto out = local_->run(ssh);
    // ssh exits 255 for its own failures (cannot connect, host key, auth): say so.
    if (out.exit_code == 255 && !out.timed_out) {
      // ssh's own words for a host it never reached (refused, timed out, no route, unknown name).
      bool unreachable = false;
      for (auto* s : {"Connection refused", "Connection timed out", "timed out during banner exchange",
                      "No route to host", "Could not resolve hostname", "Network is unreachable",
                      "Name or service not known", "Connection closed by remote host"}) {
        unreachable |= out.err.find(s) != std::string::npos;
      }
      out.err += unreachable ? fmt::format(
                                   "kcat: could not connect to {} (ssh exit 255): check that the host is up "
                                   "and reachable, and that `ssh {}` works without a password (BatchMode)\n",
                                   destination_, destination_)
                             : fmt::format(
                                   "kcat: ssh to {} failed (exit 255): check that `ssh {}` works without a "
                                   "password (BatchMode) and that the host key is known\n",
                                   destination_, destination_);
    }
    return out;
  }

  std::string describe() const override { return "ssh " + destination_; }

 private:
  std::string destination_;
  std::vector<std::string> extra_;
  std::string control_path_;
  std::unique_ptr<Runner> local_;
};

}  // namespace

std::unique_ptr<Runner> ssh_runner(std::string destination, std::vector<std::string> extra_ssh_args) {
  return std::make_unique<SshRunner>(std::move(destination), std::move(extra_ssh_args));
}

}  // namespace kcat::exec
