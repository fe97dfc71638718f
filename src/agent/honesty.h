#pragma once
// When a step is done (issue 18 §1): each finding fixed, guarded, disputed with a reason, or left to
// the environment; no name the step's edits left unbound; and no finding hidden by deleting or
// commenting out its line.
#include <set>
#include <string>
#include <vector>

#include "kcat/agent/agent.h"
#include "kcat/core/finding.h"

namespace kcat::agent {

// The finding sits where the code has a path without the package: inside try/except ImportError
// (ModuleNotFoundError, Exception, bare) or under `if <...available...>:` / a find_spec check.
// Python files only; false for anything else.
bool guarded_finding(const std::string& file, const std::string& bytes, const Finding& f);

// The environment phase owns it (requirements files: kcat requirements rewrites them).
bool environment_finding(const Finding& f);

// When replacing `search` (found in the file) by `replace` only deletes or comments out lines, and
// one of the removed lines holds a flagged finding (the `flagged` texts, trimmed lines): the
// removed flagged line; else "". `pass`, `...` and blank or comment lines added count as nothing.
std::string hides_flagged_line(const std::string& search, const std::string& replace,
                               const std::vector<std::string>& flagged);

// The repository's check at the step's base and now (issue 18 §1: a check that already fails before
// any change must not fail every step). The step is judged by the failures that are new.
struct CheckVerdict {
  bool counts = true;  // the run fails the step (a failure that is new, or a check that passed at the base)
  std::string text;    // for the model: what is new, or why the failure does not count
  std::string note;  // for the step's reason when it does not count: "the check already fails at the base: …"
};
// `now` judged against `base` (the run at the step's base; nullptr when there is none). A failed run
// counts unless the base failed too and: the two end the same way (kind) and the lines naming a
// failure (FAIL, error, exception, assert; counts and timings folded) add nothing at `now`; or `now`
// names no failure, so kcat cannot tell new from old (then it says so).
CheckVerdict judge_check(const CheckRun& now, const CheckRun* base);

// The lines of a check's output that name a failure, trimmed, each count or timing (a number standing
// alone: "3 failed in 0.52s") folded to '#'; a number inside a name (test_fwd[1-128]) is kept.
std::set<std::string> failure_lines(const std::string& output);

}  // namespace kcat::agent
