#pragma once
// Sending a branch to a work tree on another host with git over the system ssh client, so that a
// laptop can drive an Atlas server: the migration branch is pushed there, checked out, and the
// remote work tree then matches the branch exactly before anything is built or benchmarked.
#include <filesystem>
#include <string>
#include <vector>

#include "kcat/exec/process.h"

namespace kcat::exec {

struct RemoteTree {
  std::string destination;            // user@host, or a Host alias of ~/.ssh/config
  std::vector<std::string> ssh_args;  // e.g. {"-p", "2222", "-i", key, "-o", "UserKnownHostsFile=..."}
  std::string dir;                    // the work tree on the host; "~/..." is relative to the remote home
};

struct Synced {
  std::string commit;  // the remote HEAD, equal to the local branch head
  std::string dir;     // the work tree as an absolute path on the host (a cwd for ssh_runner)
};

// Makes remote.dir a git work tree at the head of `branch` of local_repo:
//  1. over ssh: creates the directory, `git init` when it is not a repository yet, sets
//     receive.denyCurrentBranch=updateInstead, and detaches its HEAD so the push never
//     collides with a dirty checkout;
//  2. pushes +refs/heads/<branch> with the local system git (GIT_SSH_COMMAND: BatchMode, the
//     ControlMaster socket that ssh_runner uses), so non-fast-forward updates (a revert) go through;
//  3. over ssh: `checkout -f <branch>`, `reset --hard`, `clean -fd` — tracked files and untracked
//     junk follow the branch; files the branch's .gitignore ignores (build outputs, caches)
//     are kept so the host's incremental build stays incremental;
// and verifies that the remote HEAD is the local branch head.
// Only committed state is sent. `local` runs git and ssh on this machine (a test seam).
// Throws Error(Usage) for a branch that does not exist locally, Error(Environment) naming the
// host, the failing step, the tail of its stderr and what to check (ssh keys, git on the host).
Synced sync_to_host(const std::filesystem::path& local_repo, const std::string& branch,
                    const RemoteTree& remote, Runner& local);

// sync_to_host(...).commit
std::string sync_branch(const std::filesystem::path& local_repo, const std::string& branch,
                        const RemoteTree& remote, Runner& local);

// The ssh command line kcat uses for a host (BatchMode, ConnectTimeout, the shared ControlMaster
// socket), without the destination: the prefix of every remote command and of GIT_SSH_COMMAND.
std::vector<std::string> ssh_base_argv(const std::vector<std::string>& extra_ssh_args);

}  // namespace kcat::exec
