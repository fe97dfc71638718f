// Sending a branch to a work tree on another host: prepare the remote repository over ssh, push
// with the local git through the same ssh connection, check the branch out there, verify the head.
// Every remote argument is shell-quoted, and the remote lines are run with /bin/sh so that a
// login shell other than a POSIX one (fish, csh) does not change their meaning.
#include "kcat/exec/sync.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "kcat/core/error.h"
#include "kcat/core/text.h"
#include "kcat/exec/shell_quote.h"

namespace kcat::exec {

namespace {

using namespace std::chrono_literals;

// The end of stderr, a few lines, indented under the message.
std::string tail(const std::string& err) {
  std::vector<std::string> lines;
  size_t start = 0;
  auto t = trim(err);
  while (start < t.size()) {
    auto end = t.find('\n', start);
    if (end == std::string::npos) end = t.size();
    auto line = trim(t.substr(start, end - start));
    if (line.size() > 300) line = line.substr(0, 300) + "...";
    if (!line.empty()) lines.push_back(line);
    start = end + 1;
  }
  std::string out;
  for (size_t i = lines.size() > 8 ? lines.size() - 8 : 0; i < lines.size(); ++i) out += "\n    " + lines[i];
  return out;
}

// A remote path as one shell word; "~" and "~/x" stay relative to the remote home.
std::string dir_word(const std::string& d) {
  if (d == "~") return "\"$HOME\"";
  if (d.rfind("~/", 0) == 0) return "\"$HOME\"/" + shell_quote(d.substr(2));
  return shell_quote(d);
}

// git's scp-like address; an IPv6 host needs brackets there.
std::string scp_url(const std::string& destination, const std::string& abs_dir) {
  auto at = destination.rfind('@');
  auto user = at == std::string::npos ? std::string() : destination.substr(0, at + 1);
  auto host = at == std::string::npos ? destination : destination.substr(at + 1);
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return user + host + ":" + abs_dir;
}

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

class Sync {
 public:
  Sync(const std::filesystem::path& repo, const std::string& branch, const RemoteTree& remote, Runner& local)
      : repo_(repo), branch_(branch), remote_(remote), local_(local), base_(ssh_base_argv(remote.ssh_args)) {}

  Synced run() {
    if (remote_.destination.empty())
      throw Error(ErrorKind::Usage, "no host to sync to", {}, "give user@host");
    if (remote_.dir.empty())
      throw Error(ErrorKind::Usage, "no remote directory to sync to", remote_.destination);
    if (branch_.empty() || branch_.front() == '-') {
      throw Error(ErrorKind::Usage, fmt::format("'{}' is not a branch name", branch_), repo_.string());
    }
    auto head = local_head();
    Synced s;
    s.dir = prepare();
    push(s.dir);
    s.commit = check_out(s.dir);
    if (s.commit != head) {
      throw Error(ErrorKind::Environment,
                  fmt::format("after the sync the work tree on {} is at {}, not at {} ({} here)",
                              remote_.destination, s.commit, head, branch_),
                  where(s.dir),
                  "look at `git -C DIR status` on the host; a hook or another process may have moved it");
    }
    return s;
  }

 private:
  std::string local_head() {
    Command c;
    c.argv = {
        "git", "-C", repo_.string(), "rev-parse", "--verify", "-q", "refs/heads/" + branch_ + "^{commit}"};
    c.timeout = 60s;
    auto o = local_.run(c);
    if (!o.ok()) {
      throw Error(ErrorKind::Usage,
                  fmt::format("no branch '{}' in {}", branch_, repo_.string()) + tail(o.err), repo_.string(),
                  "commit on the branch first (`git branch --list` shows the branches)");
    }
    return last_line(o.out);
  }

  // Creates the directory and repository when missing and returns its absolute path. HEAD is
  // detached so the push below never updates the checked-out branch (updateInstead refuses that
  // with a dirty tree); the checkout afterwards makes the tree match whatever was there.
  std::string prepare() {
    auto d = dir_word(remote_.dir);
    auto script = fmt::format(
        "set -e; mkdir -p {0}; cd {0}; "
        "command -v git >/dev/null 2>&1 || {{ echo 'git: command not found on this host' >&2; exit 127; }}; "
        "[ -e .git ] || git init -q .; "
        "git config receive.denyCurrentBranch updateInstead; git config receive.denyNonFastForwards false; "
        "if git rev-parse -q --verify HEAD >/dev/null; then git checkout -q --detach; fi; pwd -P",
        d);
    auto o = remote("/bin/sh -c " + shell_quote(script), 120s);
    if (!o.ok()) fail("preparing the work tree (mkdir, git init)", o, remote_.dir);
    auto abs = last_line(o.out);
    if (abs.empty() || abs.front() != '/') {
      throw Error(
          ErrorKind::Environment,
          fmt::format("{} did not report the path of {} (got '{}')", remote_.destination, remote_.dir, abs),
          where(remote_.dir), "check that the login shell on the host prints nothing of its own");
    }
    return abs;
  }

  void push(const std::string& abs) {
    std::string ssh_command;
    for (auto& a : base_) ssh_command += (ssh_command.empty() ? "" : " ") + shell_quote(a);
    Command c;
    // HEAD was detached above unless it is unborn, and an unborn current branch with files in the
    // directory makes updateInstead refuse the push: this push only moves the ref; the checkout
    // below updates the tree. (--no-verify: the user's pre-push hooks guard shared remotes, not
    // kcat's scratch tree.)
    c.argv = {"git",
              "-C",
              repo_.string(),
              "push",
              "--quiet",
              "--no-verify",
              "--receive-pack=git -c receive.denyCurrentBranch=ignore receive-pack",
              scp_url(remote_.destination, abs),
              "+refs/heads/" + branch_ + ":refs/heads/" + branch_};
    c.env = {{"GIT_SSH_COMMAND", ssh_command}, {"GIT_SSH_VARIANT", "ssh"}, {"GIT_TERMINAL_PROMPT", "0"}};
    c.timeout = 1800s;
    auto o = local_.run(c);
    if (!o.ok()) fail(fmt::format("git push of {}", branch_), o, abs);
  }

  std::string check_out(const std::string& abs) {
    auto b = shell_quote(branch_);
    auto script = fmt::format(
        "cd {} && git checkout -q -f {} -- && git reset -q --hard && git clean -fdq && git rev-parse HEAD",
        shell_quote(abs), b);
    auto o = remote("/bin/sh -c " + shell_quote(script), 600s);
    if (!o.ok()) fail(fmt::format("checking out {} (checkout -f, reset --hard, clean -fd)", branch_), o, abs);
    return last_line(o.out);
  }

  Outcome remote(const std::string& line, std::chrono::milliseconds timeout) {
    Command c;
    c.argv = base_;
    c.argv.push_back(remote_.destination);
    c.argv.push_back("--");
    c.argv.push_back(line);
    c.timeout = timeout;
    return local_.run(c);
  }

  std::string where(const std::string& dir) const { return remote_.destination + ":" + dir; }

  // ssh's own failures (exit 255 from ssh; git reports them as "Could not read from remote
  // repository") are about keys and host keys; 127 is a missing program on the host.
  [[noreturn]] void fail(const std::string& step, const Outcome& o, const std::string& dir) {
    auto& err = o.err;
    std::string hint;
    if (o.timed_out) {
      hint = fmt::format("{} did not finish in time; check the network path to the host (`ssh {} true`)",
                         step, remote_.destination);
    } else if (o.exit_code == 127 || contains(err, "command not found") ||
               contains(err, "git-receive-pack: not found") || contains(err, "git: not found")) {
      hint =
          "install git on the host (apt-get install git, yum install git) and make sure it is on the PATH of "
          "a "
          "non-interactive ssh session (`ssh " +
          remote_.destination + " git --version`)";
    } else if (o.exit_code == 255 || contains(err, "Could not read from remote repository") ||
               contains(err, "Permission denied") || contains(err, "Host key verification failed")) {
      hint = fmt::format(
          "check that `ssh {} true` works without a password: kcat runs ssh with BatchMode=yes, so the key "
          "must be "
          "in ssh-agent or given with -i (ssh args), and the host key must already be in known_hosts",
          remote_.destination);
    } else {
      hint = fmt::format("run the step by hand on the host (`ssh {} git -C {} status`)", remote_.destination,
                         shell_quote(dir));
    }
    throw Error(ErrorKind::Environment,
                fmt::format("could not sync branch {} to {}: {} failed ({}){}", branch_, remote_.destination,
                            step, o.describe(), tail(err)),
                where(dir), hint);
  }

  const std::filesystem::path& repo_;
  const std::string& branch_;
  const RemoteTree& remote_;
  Runner& local_;
  std::vector<std::string> base_;
};

}  // namespace

std::vector<std::string> ssh_base_argv(const std::vector<std::string>& extra_ssh_args) {
  // The same socket directory as ssh_runner, so a sync and the commands after it share one connection.
  auto dir = std::filesystem::temp_directory_path() / fmt::format("kcat-ssh-{}", ::getuid());
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  std::vector<std::string> argv = {"ssh",
                                   "-o",
                                   "BatchMode=yes",
                                   "-o",
                                   "ControlMaster=auto",
                                   "-o",
                                   "ControlPath=" + (dir / "%C").string(),
                                   "-o",
                                   "ControlPersist=60",
                                   "-o",
                                   "ConnectTimeout=15",
                                   "-o",
                                   "ServerAliveInterval=15",
                                   "-o",
                                   "ServerAliveCountMax=4"};
  argv.insert(argv.end(), extra_ssh_args.begin(), extra_ssh_args.end());
  return argv;
}

Synced sync_to_host(const std::filesystem::path& local_repo, const std::string& branch,
                    const RemoteTree& remote, Runner& local) {
  return Sync(local_repo, branch, remote, local).run();
}

std::string sync_branch(const std::filesystem::path& local_repo, const std::string& branch,
                        const RemoteTree& remote, Runner& local) {
  return sync_to_host(local_repo, branch, remote, local).commit;
}

}  // namespace kcat::exec
