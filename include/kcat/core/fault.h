#pragma once
// Fault injection for the reliability suite (docs/reliability.md), compiled in always and inert
// unless KCAT_FAULT_INJECT is set:
//   KCAT_FAULT_INJECT=write:N    the N-th write kcat makes fails with ENOSPC (disk full), once
//   KCAT_FAULT_INJECT=write:N-   the N-th and every later write fail (the disk stays full)
//   KCAT_FAULT_INJECT=list       nothing fails; each write is named on stderr
//                                ("kcat: fault point: write N (what)"), so a test can aim at one
// A "write" is one whole-file write (write_file_atomic), one ledger line, or one call of a libgit2
// function that writes (objects, the index, refs, the work tree: src/core/libgit2.cc marks them),
// named by the function. Each injected failure says so on stderr ("kcat: fault injected: ..."), so
// a test knows it fired.
#include <string_view>

namespace kcat::fault {

// Called before each write of `what` (a path, or the libgit2 function): 0, or the errno the write must
// fail with (ENOSPC) when the injection names this write.
int before_write(std::string_view what) noexcept;

}  // namespace kcat::fault
