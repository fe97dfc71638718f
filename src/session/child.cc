#include "kcat/session/child.h"

#include <cstdio>
#include <iostream>

#include "kcat/exec/process.h"

namespace kcat::session {

int run_self(const std::vector<std::string>& args) {
  // Whatever the session printed must reach the terminal before the child writes.
  std::cout.flush();
  std::fflush(nullptr);
  exec::Command c;
  c.program = "/proc/self/exe";
  c.argv = {"kcat"};
  c.argv.insert(c.argv.end(), args.begin(), args.end());
  // On the terminal, in its foreground process group: the child prompts, draws and takes the
  // terminal's Ctrl-C itself; the session only notes it and waits.
  c.input = exec::Input::inherit;
  c.inherit_output = true;
  c.cancellable = false;
  auto o = exec::run_local(c);
  if (!o.error.empty()) {
    std::cerr << "kcat: " << o.error << "\n";
    return 127;
  }
  return o.signal != 0 ? 128 + o.signal : o.exit_code;
}

}  // namespace kcat::session
