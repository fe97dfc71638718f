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

namespace kcat::patch {

namespace {

const Finding* find(const Ported& p, const std::string& rule, uint32_t line) {
  for (auto& f : p.findings) {
    if (f.rule_id == rule && f.span.start.line == line) return &f;
  }
  return nullptr;
}

}  // namespace

// (c) After the port the code calls torch.npu.is_available; a mock of "torch.cuda.is_available" no
// longer replaces it. kcat cannot tell which code a target stands for: it reports the target.
TEST(BehavesDifferently, AMockTargetNamingTorchCudaIsReportedBesideThePortedCode) {
  auto p = port({"test_mocks.py"});
  auto* mock = find(p, "py.mock-cuda-target", 10);
  ASSERT_NE(mock, nullptr);
  EXPECT_EQ(mock->severity, Severity::Warning);
  EXPECT_EQ(mock->context, Context::Code);
  EXPECT_TRUE(mock->replacement.empty());
  EXPECT_NE(p.after["test_mocks.py"].find("return torch.npu.is_available()"), std::string::npos);
  EXPECT_NE(p.after["test_mocks.py"].find("mock.patch(\"torch.cuda.is_available\""), std::string::npos);
}

// (a) transformers raises ValueError for tf32=True / --tf32 True where CUDA TF32 is not available
// (training_args.py, __post_init__). Reported, blocking, never rewritten (on CUDA it means TF32).
TEST(BehavesDifferently, Tf32TrueForTransformersIsReportedInPythonAndShell) {
  auto py = port({"args.py"});
  EXPECT_EQ(count(py, "py.hf-tf32"), 1u);
  auto* f = find(py, "py.hf-tf32", 3);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::Blocking);
  EXPECT_EQ(f->matched, "tf32=True");
  EXPECT_EQ(py.after["args.py"], test::read(fixture("args.py")));
  auto sh = port({"train.sh"});
  EXPECT_EQ(count(sh, "shell.hf-tf32"), 1u);
  EXPECT_NE(find(sh, "shell.hf-tf32", 4), nullptr);
  EXPECT_EQ(sh.after["train.sh"], test::read(fixture("train.sh")));
}

}  // namespace kcat::patch

namespace kcat::patch {

// (e) `except torch.cuda.CudaError`: nothing on the NPU raises it (torch_npu raises a plain
// RuntimeError), so the clause lets the NPU's error through. Reported with what to catch; the
// synchronize beside it is ported.
TEST(BehavesDifferently, ExceptCudaErrorIsReportedWithWhatTheNpuRaises) {
  auto p = port({"errors.py"});
  auto* f = find(p, "py.torch-cuda-api", 7);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->matched, "torch.cuda.CudaError");
  EXPECT_EQ(f->verdict, Verdict::Unsupported);
  EXPECT_TRUE(f->codemod.empty());
  EXPECT_NE(f->action.find("plain RuntimeError"), std::string::npos) << f->action;
  EXPECT_EQ(
      p.after["errors.py"],
      "import torch\nimport torch_npu\n\n\ndef safe_sync():\n    try:\n        torch.npu.synchronize()\n"
      "    except torch.cuda.CudaError as e:\n        print(\"device error\", e)\n");
}

}  // namespace kcat::patch

namespace kcat::patch {

// (d) torch.compile's default backend (inductor) generates Triton kernels: on the NPU that needs
// triton-ascend. A finding with the choices, never an edit.
TEST(BehavesDifferently, TorchCompileIsReportedWithTheNpuChoicesAndLeftAsIs) {
  auto p = port({"compile.py"});
  auto* f = find(p, "py.torch-compile", 4);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::Warning);
  EXPECT_TRUE(f->codemod.empty());
  EXPECT_NE(f->action.find("triton-ascend"), std::string::npos);
  EXPECT_EQ(p.after["compile.py"], test::read(fixture("compile.py")));
}

// (f) torch.cuda calls inside an f-string's replacement fields are code, not text: ported like any
// other call (python_literals.cc: a span inside an interpolation is not a string literal's).
TEST(BehavesDifferently, GetDeviceNameInsideAnFStringIsPorted) {
  auto p = port({"fstring.py"});
  EXPECT_EQ(p.after["fstring.py"],
            "import torch\nimport torch_npu\n\n"
            "print(f\"running on {torch.npu.get_device_name(0)} ({torch.npu.device_count()} devices)\")\n");
}

}  // namespace kcat::patch
