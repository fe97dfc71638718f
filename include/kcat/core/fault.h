#pragma once
// Fault injection for the reliability suite (docs/reliability.md), compiled in always and inert
// unless KCAT_FAULT_INJECT is set:
//   KCAT_FAULT_INJECT=write:N    the N-th write kcat makes fails with ENOSPC (disk full), once
//   KCAT_FAULT_INJECT=write:N-   the N-th and every later write fail (the disk stays full)
// A "write" is one whole-file write (write_file_atomic), one ledger line, or one git commit. Each
// injected failure says so on stderr ("kcat: fault injected: ..."), so a test knows it fired.
#include <string_view>

namespace kcat::fault {

// Called before each write of `what` (a path, or "git commit"): 0, or the errno the write must
// fail with (ENOSPC) when the injection names this write.
int before_write(std::string_view what) noexcept;

}  // namespace kcat::fault
