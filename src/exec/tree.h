#pragma once
// The processes a run owns, whoever their parent is now (internal to the exec layer). kcat is a
// child subreaper: a process whose parent exits is re-parented to kcat, not to init, so that it
// stays findable and kcat can reap it. A run's processes are then its process group, the
// descendants of its child, and those of kcat's adopted children whose environment carries the
// run's token (kTokenVariable, which every descendant inherits, setsid or not).
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <set>
#include <string>

namespace kcat::exec::tree {

inline constexpr const char* kTokenVariable = "KCAT_PROCESS_TREE";

// Makes kcat a child subreaper (PR_SET_CHILD_SUBREAPER), once per process.
void become_subreaper();
// A token no other run of this kcat process has: "<kcat pid>-<n>".
std::string new_token();

// The live (non-zombie) processes of a run: those in process group `pgid` (0: none), the
// descendants of `root` and of `known`, and kcat's children whose environment holds `token`
// (with their descendants). Never kcat itself.
std::set<pid_t> members(pid_t root, pid_t pgid, const std::string& token, const std::set<pid_t>& known);
// Whether `pid` is running (not gone, not a zombie).
bool alive(pid_t pid);
// Reaps those of `pids` that are kcat's exited children (adopted by the subreaper) and drops the
// ones that are gone; returns the rest.
std::set<pid_t> reap(const std::set<pid_t>& pids);

// Runs in progress: their processes are their own run's to reap. `spawn` starts the direct child
// (0 or an errno) under the lock collect_leftovers takes, so a child that exits at once is never
// taken for a leftover; nothing is registered when it fails.
int begin_run(const std::string& token, const std::function<int(pid_t&)>& spawn, pid_t& pid);
void end_run(const std::string& token, pid_t pid);
// Remembers kcat's adopted children that came from finished runs (a daemon a command left
// behind, such as ssh's ControlMaster) and reaps those that have exited since.
void collect_leftovers();

}  // namespace kcat::exec::tree
