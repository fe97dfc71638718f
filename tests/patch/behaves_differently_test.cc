// Issue 12, class 3: APIs that exist on the NPU but behave differently. Each test ports one file of
// tests/fixtures/scan/behaves_differently the way `kcat migrate` does (scan, the knowledge base's
// verdicts, the codemods) and checks what changed and what is reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "kcat/kb/knowledge.h"
#include "kcat/patch/codemod.h"
#include "kcat/scan/scanner.h"
#include "testsupport/support.h"

namespace kcat::patch {

namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) {
  return test::fixtures_dir() / "scan" / "behaves_differently" / name;
}

struct Ported {
  std::vector<Finding> findings;             // after the knowledge base's verdicts
  std::map<std::string, std::string> after;  // file -> its bytes after the codemods
  std::vector<Finding> unported;             // sites codemod_patch reports instead of editing
};

Ported port(const std::vector<std::string>& files) {
  test::TempDir dir;
  for (auto& f : files) test::write(dir / f, test::read(fixture(f)));
  scan::ScanOptions o;
  o.root = dir.path();
  o.use_cache = false;
  o.include_info = true;
  o.only_files = files;
  Ported out;
  out.findings = scan::scan(o, kb::load_rules(test::source_dir() / "patches" / "rules")).findings;
  kb::KnowledgeBase::load(test::source_dir() / "patches").annotate(out.findings);
  auto p = codemod_patch(dir.path(), out.findings);
  for (auto& f : files) {
    std::vector<Edit> mine;
    std::copy_if(p.edits.begin(), p.edits.end(), std::back_inserter(mine),
                 [&](auto& e) { return e.file == f; });
    out.after[f] = apply_edits(test::read(dir / f), mine);
  }
  return out;
}

size_t count(const Ported& p, const std::string& rule) {
  return static_cast<size_t>(
      std::count_if(p.findings.begin(), p.findings.end(), [&](auto& f) { return f.rule_id == rule; }));
}

}  // namespace

// (b) `export CUDA_VISIBLE_DEVICES=...` was renamed and "${CUDA_VISIBLE_DEVICES:-0}" was not: the script
// then read a variable nothing sets. Every read moves with the assignment.
TEST(BehavesDifferently, ShellReadsOfAnEnvironmentVariableAreRenamedWithItsAssignment) {
  auto p = port({"run.sh"});
  EXPECT_EQ(count(p, "shell.env-var-read"), 4u);
  EXPECT_EQ(p.after["run.sh"], test::read(fixture("expected/run.sh")));
}

}  // namespace kcat::patch
