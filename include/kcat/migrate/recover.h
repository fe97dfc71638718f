#pragma once
// Faults end in a known state (issue 14 §3). Every command that changes a repository first takes
// its lock (one kcat at a time), then puts back a whole-step state if an earlier kcat was cut off
// (kill -9, disk full, a kill during --update), and says what it did.
#include <filesystem>
#include <string>
#include <vector>

#include "kcat/core/lock.h"
#include "kcat/patch/git.h"

namespace kcat::migrate {

// The exclusive lock of the repository containing `path` (its git directory's kcat.lock; the
// folder's .kcat/lock when it is not a repository yet). Throws Error(Environment) naming the
// holder when another kcat has it. An unheld lock when `path` is not a directory (the command
// reports that itself).
RepoLock lock_repository(const std::filesystem::path& path);

// What an interrupted kcat left, put back; one line per thing done (empty when there was nothing):
//  - a rebase of a kcat branch left in progress (killed during --update) is aborted: the branch is
//    back where it was before the update;
//  - on the branch of the latest unfinished run, the files its journal says a step had or wrote
//    (tracked and dirty, or staged) go back to HEAD, and a new file a step created and did not
//    commit is removed when its content is what the step wrote. Anything else is the user's and
//    stays (migrate then refuses it, naming it).
std::vector<std::string> recover(patch::GitRepo& repo);

// lock_repository + recover for a command given `path`; prints what recover did on stderr.
// Returns the lock, held for as long as the caller keeps it.
RepoLock lock_and_recover(const std::filesystem::path& path);

}  // namespace kcat::migrate
