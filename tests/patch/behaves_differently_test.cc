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
  auto p = codemod_patch(dir.path(), out.findings, nullptr, &out.unported);
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

namespace kcat::patch {

// (g) A file that names the NPU after the port but imports no torch gets no `import torch_npu`
// (there is no `import torch` to put it after): it was silent; now the site is reported, with why.
TEST(BehavesDifferently, AFileThatUsesTheNpuWithoutImportingTorchIsReported) {
  auto p = port({"helper.py"});
  EXPECT_EQ(
      p.after["helper.py"],
      "\"\"\"Helpers handed tensors by their callers: this file imports no torch (issue 12).\"\"\"\n\n\n"
      "def to_device(batch):\n    return [t.npu(non_blocking=True) for t in batch]\n");
  ASSERT_EQ(p.unported.size(), 1u);
  EXPECT_EQ(p.unported[0].rule_id, "patch.torch-npu-import");
  EXPECT_EQ(p.unported[0].file, "helper.py");
  EXPECT_EQ(p.unported[0].span.start.line, 5u);
  EXPECT_NE(p.unported[0].message.find("imports no torch"), std::string::npos);
  EXPECT_NE(p.unported[0].action.find("import torch_npu"), std::string::npos);
}

}  // namespace kcat::patch
