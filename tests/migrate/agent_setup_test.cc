// The agent's setup from the configuration: which repository files it may not write.
#include <gtest/gtest.h>

#include "kcat/config/config.h"
#include "testsupport/support.h"

namespace kcat {
namespace {

// The files the agent may not write are what the configured commands run: the paths they name, also
// after a `cd DIR`, the module of `python -m`, and the makefile of `make`; never outside the repository.
TEST(Trust, TheScriptsConfiguredCommandsRunAreProtected) {
  test::TempDir dir;
  for (const char* f :
       {"bench/run.sh", "tools/bench.py", "tools/serve/__main__.py", "Makefile", "ci/check.sh", "model.py"})
    test::write(dir / f, "x\n");
  cli::Config c;
  c.bench.command = "cd bench && ./run.sh --fast";
  c.build_command = "make -j2 all";
  c.agent_check = "python3 -m tools.bench && python -m tools.serve; bash ./ci/../ci/check.sh";
  c.hooks["after_edit"] = "cat ../outside.sh /etc/passwd";
  auto files = cli::command_files(c, dir.path());
  EXPECT_EQ(files, (std::vector<std::string>{"Makefile", "bench/run.sh", "ci/check.sh", "tools/bench.py",
                                             "tools/serve/__main__.py"}));
}

}  // namespace
}  // namespace kcat
