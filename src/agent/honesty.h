#pragma once
// When a step is done (issue 18 §1): each finding fixed, guarded, disputed with a reason, or left to
// the environment; no name the step's edits left unbound; and no finding hidden by deleting or
// commenting out its line.
#include <string>
#include <vector>

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

}  // namespace kcat::agent
