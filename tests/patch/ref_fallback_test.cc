#include "kcat/patch/ref_fallback.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include <algorithm>

#include "kcat/core/fs.h"
#include "testsupport/support.h"

namespace kcat::patch {

namespace {

namespace fs = std::filesystem;

// A kernel package with a pure-Python stand-in for its CUDA extension: conv_fn reaches kpkg_cuda
// through an autograd-style wrapper and an op module; conv_ref is its reference (tests call both),
// without conv_fn's seq_idx. scale_ref needs a parameter scale_fn does not have; kpkg2_cuda is used
// when its module loads.
void write_fixture(const fs::path& root) {
  test::write(root / "setup.py",
              "from setuptools import setup\n"
              "from torch.utils.cpp_extension import CUDAExtension\n"
              "setup(name='kpkg', ext_modules=[CUDAExtension(name='kpkg_cuda', sources=['k.cu']),\n"
              "                                CUDAExtension(name=\"kpkg2_cuda\", sources=['k2.cu'])])\n");
  test::write(root / "kpkg/__init__.py", "from kpkg.interface import conv_fn, scale_fn\n");
  test::write(root / "kpkg/ops.py",
              "import kpkg_cuda\n\n\n"
              "def conv_fwd(x, w):\n"
              "    return kpkg_cuda.conv(x, w)\n\n\n"
              "def scale_fwd(x, factor):\n"
              "    return kpkg_cuda.scale(x, factor)\n");
  test::write(root / "kpkg/interface.py",
              "from kpkg.ops import conv_fwd, scale_fwd\n\n\n"
              "Function = object  # torch.autograd.Function in the real thing\n\n\n"
              "class ConvFn(Function):\n"
              "    @staticmethod\n"
              "    def apply(x, w, seq_idx):\n"
              "        return conv_fwd(x, w)\n\n\n"
              "def conv_fn(x, w, bias=None, seq_idx=None, activation=\"none\"):\n"
              "    \"\"\"The kernel.\"\"\"\n"
              "    return ConvFn.apply(x, w, seq_idx)\n\n\n"
              "def scale_fn(x, factor):\n"
              "    return scale_fwd(x, factor)\n\n\n"
              "def scale_ref(x, factor, mode):\n"
              "    return ('ref', x * factor)\n");
  test::write(root / "kpkg/reference.py",
              "def conv_ref(x, w, bias=None, activation=\"none\"):\n"
              "    return ('ref', x * w + (bias or 0))\n");
  test::write(root / "kpkg/top.py",
              "import kpkg2_cuda\n\nVERSION = kpkg2_cuda.version()\n\n\n"
              "def add_fn(x):\n    return kpkg2_cuda.add(x)\n\n\n"
              "def add_ref(x):\n    return ('ref', x + 1)\n");
  test::write(root / "tests/test_conv.py",
              "from kpkg.interface import conv_fn\nfrom kpkg.reference import conv_ref\n\n\n"
              "def test_conv():\n    assert conv_fn(2, 3)[1] == conv_ref(2, 3)[1]\n");
}

const FallbackPair* entry(const FallbackPlan& p, const std::string& name) {
  for (auto& e : p.entries)
    if (e.entry == name) return &e;
  return nullptr;
}

// By value, "" fields when absent (GCC's -Wnull-dereference misreads a pointer in long tests).
FallbackPair copy_of(const FallbackPlan& p, const std::string& name) {
  for (auto& e : p.entries)
    if (e.entry == name) return e;
  return {};
}

test::Result python(const fs::path& root, const std::string& code, const std::string& extra_path = "") {
  return test::run({"python3", "-c", code}, root,
                   {{"PYTHONPATH", extra_path.empty() ? root.string() : extra_path + ":" + root.string()},
                    {"PYTHONDONTWRITEBYTECODE", "1"}});
}

}  // namespace

TEST(RefFallback, FindsTheExtensionsASetupScriptBuilds) {
  test::TempDir t;
  write_fixture(t.path());
  EXPECT_EQ(built_extensions(t.path(), repository_files(t.path())),
            (std::vector<std::string>{"kpkg2_cuda", "kpkg_cuda"}));
}

TEST(RefFallback, PairsAnEntryPointWithItsReferenceAndSaysWhy) {
  test::TempDir t;
  write_fixture(t.path());
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  const auto* conv = entry(plan, "conv_fn");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->status, "routed") << conv->reason;
  EXPECT_EQ(conv->reference, "conv_ref");
  EXPECT_EQ(conv->reference_file, "kpkg/reference.py");
  EXPECT_EQ(conv->kernels, std::vector<std::string>{"kpkg_cuda"});
  EXPECT_EQ(conv->unsupported, std::vector<std::string>{"seq_idx"});
  std::string why;
  for (auto& w : conv->why) why += w + "\n";
  EXPECT_NE(why.find("test: tests/test_conv.py calls both"), std::string::npos) << why;
  // The references themselves are not entry points.
  EXPECT_EQ(entry(plan, "conv_ref"), nullptr);
}

TEST(RefFallback, AReferenceWhoseSignatureDoesNotPairIsReportedNotPatched) {
  test::TempDir t;
  write_fixture(t.path());
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  const auto* scale = entry(plan, "scale_fn");
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->status, "left");
  EXPECT_EQ(scale->reference, "scale_ref");
  EXPECT_NE(scale->reason.find("`mode` has no default"), std::string::npos) << scale->reason;
  for (auto& e : plan.patch.edits)
    EXPECT_EQ(e.replacement.find("scale_ref"), std::string::npos) << e.replacement;
}

TEST(RefFallback, AnExtensionUsedAtImportTimeIsNotGuardedAndItsEntryPointIsLeft) {
  test::TempDir t;
  write_fixture(t.path());
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  const auto* add = entry(plan, "add_fn");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->status, "left");
  EXPECT_NE(add->reason.find("kpkg/top.py:1: `kpkg2_cuda` is used at import time (line 3)"),
            std::string::npos)
      << add->reason;
  for (auto& e : plan.patch.edits) EXPECT_NE(e.file, "kpkg/top.py");
  EXPECT_EQ(plan.guarded, std::vector<std::string>{"kpkg/ops.py: import kpkg_cuda"});
}

TEST(RefFallback, ThePortedEntryPointRunsTheReferenceWithoutTheExtensionAndTheKernelWithIt) {
  test::TempDir t;
  write_fixture(t.path());
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  apply_patch(t.path(), plan.patch);
  // Without the extension (the NPU): the reference's result, through the public entry point.
  auto absent = python(t.path(), "import kpkg; print(kpkg.conv_fn(2, 3, bias=1))");
  EXPECT_EQ(absent.exit_code, 0) << absent.err;
  EXPECT_EQ(absent.out, "('ref', 7)\n");
  // An argument the reference does not take raises, naming it, instead of being dropped.
  auto refused = python(t.path(), "import kpkg; kpkg.conv_fn(2, 3, seq_idx=[0])");
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(
      refused.err.find("NotImplementedError: conv_fn: `seq_idx` is not supported by the reference conv_ref"),
      std::string::npos)
      << refused.err;
  // With the extension (a pure-Python stand-in): the kernel's path, as before the port.
  test::write(t.path() / "fake/kpkg_cuda.py", "def conv(x, w):\n    return ('ext', x * w)\n");
  auto present =
      python(t.path(), "import kpkg; print(kpkg.conv_fn(2, 3, seq_idx=[0]))", (t.path() / "fake").string());
  EXPECT_EQ(present.exit_code, 0) << present.err;
  EXPECT_EQ(present.out, "('ext', 6)\n");
}

TEST(RefFallback, WithTheExtensionTheOriginalCodeIsKeptAndASecondRunChangesNothing) {
  test::TempDir t;
  write_fixture(t.path());
  auto before = test::read(t.path() / "kpkg/interface.py");
  apply_patch(t.path(), reference_fallbacks(t.path(), repository_files(t.path())).patch);
  auto after = test::read(t.path() / "kpkg/interface.py");
  // Every original line is still there, in order: the dispatch is only added.
  size_t at = 0;
  for (size_t s = 0, e; s < before.size(); s = e + 1) {
    e = before.find('\n', s);
    auto line = before.substr(s, e - s);
    at = after.find(line, at);
    ASSERT_NE(at, std::string::npos) << "lost: " << line;
  }
  auto ops = test::read(t.path() / "kpkg/ops.py");
  // Only a missing extension falls back: a CUDA build that is there but broken (an undefined symbol,
  // an ImportError) still fails where it did.
  EXPECT_EQ(ops.rfind("try:\n    import kpkg_cuda\nexcept ModuleNotFoundError:", 0), 0u) << ops;
  auto again = reference_fallbacks(t.path(), repository_files(t.path()));
  EXPECT_TRUE(again.patch.edits.empty());
  const auto* conv = entry(again, "conv_fn");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->status, "routed");
}

TEST(RefFallback, AHelperNamedAfterAnEntryPointDoesNotTakeItsReference) {
  // update_function is update's helper (its `activation` is a bool where update_ref takes a string):
  // update_ref is update's. mix_fn and mix_function both pair with mix_ref by name: neither is sure.
  test::TempDir t;
  test::write(t / "setup.py",
              "from torch.utils.cpp_extension import CUDAExtension\nCUDAExtension(name='k_cuda')\n");
  test::write(t / "k/__init__.py", "");
  test::write(t / "k/ops.py",
              "import k_cuda\n\n\n"
              "def update_function(x, activation):\n    return k_cuda.update(x, activation)\n\n\n"
              "def update(x, activation=None):\n    return update_function(x, activation is not None)\n\n\n"
              "def update_ref(x, activation=None):\n    return x\n\n\n"
              "def mix_fn(x):\n    return k_cuda.mix(x)\n\n\n"
              "def mix_function(x):\n    return k_cuda.mix(x)\n\n\n"
              "def mix_ref(x):\n    return x\n");
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  EXPECT_EQ(copy_of(plan, "update").status, "routed");
  EXPECT_EQ(copy_of(plan, "update_function").status, "left");
  EXPECT_EQ(copy_of(plan, "update_function").reference, "");
  for (auto name : {"mix_fn", "mix_function"}) {
    auto e = copy_of(plan, name);
    EXPECT_EQ(e.status, "left") << name;
    EXPECT_NE(e.reason.find("several entry points"), std::string::npos) << e.reason;
  }
  size_t dispatches = 0;
  for (auto& e : plan.patch.edits)
    dispatches += e.replacement.find("return update_ref(") != std::string::npos;
  EXPECT_EQ(dispatches, 1u);
  EXPECT_EQ(plan.patch.edits.size(), 2u);  // update's dispatch and the guard of `import k_cuda`
}

TEST(RefFallback, AReferenceCallingARoutedEntryPointIsAFallbackAndModelsAreNotEntryPoints) {
  // inner_ref calls scan_fn, itself routed to scan_ref: inner_fn can run inner_ref. build_model
  // makes a model class that uses the kernel: not a kernel entry point; nor is the Triton kernel.
  test::TempDir t;
  test::write(t / "setup.py",
              "from torch.utils.cpp_extension import CUDAExtension\nCUDAExtension(name='s_cuda')\n");
  test::write(t / "s/__init__.py", "");
  test::write(t / "s/ops.py",
              "import s_cuda\nimport triton\n\n\n"
              "class ScanFn(Function):\n    def forward(ctx, x):\n        return s_cuda.scan(x)\n\n\n"
              "def scan_fn(x):\n    return ScanFn.apply(x)\n\n\n"
              "def scan_ref(x):\n    return ('ref', x)\n\n\n"
              "def inner_fn(x, lvl=1):\n    return s_cuda.inner(x)\n\n\n"
              "def inner_ref(x):\n    return ('inner', scan_fn(x))\n\n\n"
              "@triton.jit\ndef scan_kernel(x):\n    pass\n\n\n"
              "class Model(Module):\n    def forward(self, x):\n        return scan_fn(x)\n\n\n"
              "def build_model():\n    return Model()\n\n\n"
              "def tri_fn(x):\n    return scan_kernel(x)\n");
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  EXPECT_EQ(copy_of(plan, "scan_fn").status, "routed");
  auto inner = copy_of(plan, "inner_fn");
  EXPECT_EQ(inner.status, "routed") << inner.reason;
  EXPECT_EQ(inner.unsupported, std::vector<std::string>{"lvl"});
  EXPECT_EQ(copy_of(plan, "build_model").entry, "");
  EXPECT_EQ(copy_of(plan, "scan_kernel").entry, "");
  // A Triton entry point without a reference is on the Triton path, not a kernel to port.
  auto tri = copy_of(plan, "tri_fn");
  EXPECT_EQ(tri.status, "left");
  EXPECT_EQ(tri.reason.rfind("Triton path (it runs on triton-ascend", 0), 0u) << tri.reason;
  EXPECT_EQ(tri.reason.find("needs a port"), std::string::npos) << tri.reason;
  apply_patch(t.path(), plan.patch);
  auto r = python(t.path(),
                  "import sys, types; sys.modules['triton'] = types.SimpleNamespace(jit=lambda f: f)\n"
                  "Function = object\nimport builtins; builtins.Function = object; builtins.Module = object\n"
                  "from s import ops; print(ops.inner_fn(4)); ops.inner_fn(4, lvl=2)");
  EXPECT_EQ(r.out, "('inner', ('ref', 4))\n") << r.err;
  EXPECT_NE(r.err.find("NotImplementedError: inner_fn: `lvl`"), std::string::npos) << r.err;
}

TEST(RefFallback, AFileThatCannotBeReadIsNotedAndTheRestIsAnalysed) {
  test::TempDir t;
  write_fixture(t.path());
  std::vector<std::string> files{"kpkg/gone.py"};  // listed, then removed before it was read
  for (auto& f : repository_files(t.path())) files.push_back(f);
  auto plan = reference_fallbacks(t.path(), files);
  EXPECT_EQ(copy_of(plan, "conv_fn").status, "routed");
  ASSERT_FALSE(plan.notes.empty());
  EXPECT_EQ(plan.notes[0].rfind("not read: kpkg/gone.py: ", 0), 0u) << plan.notes[0];
}

namespace {

// The reason `entry_name` is left after the fixture's interface and reference are replaced ("" when
// it is routed).
std::string left_why(const std::string& interface, const std::string& reference,
                     const std::string& entry_name) {
  test::TempDir t;
  write_fixture(t.path());
  test::write(t.path() / "kpkg/interface.py", interface);
  test::write(t.path() / "kpkg/reference.py", reference);
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  FallbackPair e = copy_of(plan, entry_name);
  std::string why = e.status == "left" ? e.reason : std::string();
  return why;
}

}  // namespace

// Review of session 7: a dispatch or guard that would change the code's meaning on CUDA, or not run
// the reference as written, is not made; the entry point is left with the reason.
TEST(RefFallback, EntryPointsADispatchWouldBreakAreLeftWithTheReason) {
  const std::string head = "from kpkg.ops import conv_fwd\nimport kpkg_cuda\n\n\n";
  const std::string ref = "def conv_ref(x, w):\n    return ('ref', x * w)\n";
  // Binds the extension's name itself: `if kpkg_cuda is None` would read an unbound local on CUDA.
  EXPECT_NE(left_why(head + "def conv_fn(x, w):\n    import kpkg_cuda\n    return kpkg_cuda.conv(x, w)\n",
                     ref, "conv_fn")
                .find("binds `kpkg_cuda` itself"),
            std::string::npos);
  // `global` must come first in the body.
  EXPECT_NE(left_why(head + "_calls = 0\n\n\ndef conv_fn(x, w):\n    global _calls\n    _calls += 1\n    "
                            "return conv_fwd(x, w)\n",
                     ref, "conv_fn")
                .find("global"),
            std::string::npos);
  // A generator: `return conv_ref(...)` would yield nothing.
  EXPECT_NE(
      left_why(head + "def conv_fn(x, w):\n    yield conv_fwd(x, w)\n", ref, "conv_fn").find("generator"),
      std::string::npos);
  // A parameter named like the reference: the call would take the argument.
  EXPECT_NE(left_why(head + "def conv_fn(x, w, conv_ref=None):\n    return conv_fwd(x, w)\n", ref, "conv_fn")
                .find("named like the reference"),
            std::string::npos);
  // The reference needs a module its own file imports only when available (mamba_inner_ref asserts
  // causal_conv1d_fn is not None).
  EXPECT_NE(
      left_why(head + "def conv_fn(x, w):\n    return conv_fwd(x, w)\n",
               "try:\n    from other_kernels import fast_op\nexcept ImportError:\n    fast_op = None\n\n\n"
               "def conv_ref(x, w):\n    assert fast_op is not None\n    return fast_op(x, w)\n",
               "conv_fn")
          .find("imports only when available"),
      std::string::npos);
}

TEST(RefFallback, AnImportWithCodeAfterItOrARepositoryGuardWithoutNoneIsNotUsed) {
  test::TempDir t;
  write_fixture(t.path());
  // Code after the import on its line would move into the except block: not guarded.
  test::write(
      t.path() / "kpkg/ops.py",
      "import kpkg_cuda; SCALE = 2\n\n\ndef conv_fwd(x, w):\n    return kpkg_cuda.conv(x, w) * SCALE\n");
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  for (auto& e : plan.patch.edits) EXPECT_NE(e.file, "kpkg/ops.py") << e.replacement;
  FallbackPair after_code = copy_of(plan, "conv_fn");
  EXPECT_EQ(after_code.status, "left");
  // The repository's own guard that sets a flag, not the name: the dispatch's `is None` would raise.
  test::write(t.path() / "kpkg/ops.py",
              "try:\n    import kpkg_cuda\nexcept ImportError:\n    HAS_CUDA = False\n\n\n"
              "def conv_fwd(x, w):\n    return kpkg_cuda.conv(x, w)\n");
  auto flagged = reference_fallbacks(t.path(), repository_files(t.path()));
  auto conv = copy_of(flagged, "conv_fn");
  EXPECT_EQ(conv.status, "left");
  EXPECT_NE(conv.reason.find("does not set `kpkg_cuda = None`"), std::string::npos) << conv.reason;
  // ... and one that sets it to None is used as it is.
  test::write(t.path() / "kpkg/ops.py",
              "try:\n    import kpkg_cuda\nexcept ImportError:\n    kpkg_cuda = None\n\n\n"
              "def conv_fwd(x, w):\n    return kpkg_cuda.conv(x, w)\n");
  FallbackPair with_none = copy_of(reference_fallbacks(t.path(), repository_files(t.path())), "conv_fn");
  EXPECT_EQ(with_none.status, "routed") << with_none.reason;
}

TEST(RefFallback, ADocstringOfAdjacentStringsStaysTheDocstring) {
  test::TempDir t;
  write_fixture(t.path());
  test::write(t.path() / "kpkg/interface.py",
              "from kpkg.ops import conv_fwd\n\n\n"
              "def conv_fn(x, w, bias=None, activation=\"none\"):\n"
              "    \"Convolve x with w. \" \\\n    \"Fast.\"\n"
              "    return conv_fwd(x, w)\n");
  test::write(t.path() / "kpkg/__init__.py", "");
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  FallbackPair routed = copy_of(plan, "conv_fn");
  ASSERT_EQ(routed.status, "routed") << routed.reason;
  apply_patch(t.path(), plan.patch);
  auto doc = python(t.path(), "import kpkg.interface as i; print(i.conv_fn.__doc__)");
  EXPECT_EQ(doc.out, "Convolve x with w. Fast.\n") << doc.err;
}

// In the src layout the package imports without `src.`: the dispatch imports the reference from
// `kpkg.reference`, and the ported entry point runs it.
TEST(RefFallback, TheSrcLayoutImportsThePackageWithoutSrc) {
  test::TempDir t;
  write_fixture(t.path());
  fs::create_directories(t.path() / "src");
  fs::rename(t.path() / "kpkg", t.path() / "src/kpkg");
  test::write(t.path() / "src/kpkg/__init__.py", "");
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  FallbackPair conv = copy_of(plan, "conv_fn");
  ASSERT_EQ(conv.status, "routed") << conv.reason;
  apply_patch(t.path(), plan.patch);
  auto r = python(t.path(), "from kpkg.interface import conv_fn; print(conv_fn(2, 3))",
                  (t.path() / "src").string());
  EXPECT_EQ(r.out, "('ref', 6)\n") << r.err;
}

}  // namespace kcat::patch

namespace kcat::patch {

// Review of session 8, finding 2: a guard is planned only inside the path given and never in a test
// file (a test importing the extension tests the kernel: reported, not edited).
TEST(RefFallback, GuardsOnlyInsideThePathGivenAndNeverInTestFiles) {
  test::TempDir t;
  write_fixture(t.path());
  test::write(t.path() / "tests/test_kernel.py",
              "import kpkg_cuda\n\n\ndef test_kernel():\n    assert kpkg_cuda.conv(2, 3) == 6\n");
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  EXPECT_EQ(copy_of(plan, "conv_fn").status, "routed");
  for (auto& e : plan.patch.edits) EXPECT_FALSE(e.file.starts_with("tests/")) << e.file << e.replacement;
  std::string notes;
  for (auto& n : plan.notes) notes += n + "\n";
  EXPECT_NE(notes.find("not guarded: tests/test_kernel.py:1: a test file imports `kpkg_cuda` itself"),
            std::string::npos)
      << notes;
  // An import outside the path given is not guarded: the fallback could not load, so its entry
  // points are left, and nothing outside the path is planned.
  test::write(t.path() / "tools/bench.py", "import kpkg_cuda\n\n\ndef bench():\n    kpkg_cuda.conv(1, 1)\n");
  auto within = reference_fallbacks(t.path(), repository_files(t.path()), "kpkg");
  for (auto& e : within.patch.edits) EXPECT_TRUE(e.file.starts_with("kpkg/")) << e.file;
  FallbackPair conv = copy_of(within, "conv_fn");
  EXPECT_EQ(conv.status, "left");
  EXPECT_NE(conv.reason.find("tools/bench.py:1: `import kpkg_cuda` is outside the path given (kpkg)"),
            std::string::npos)
      << conv.reason;
}

// Finding 3: a test confirms a pair only when one test function calls both and compares them; an
// import of both is not a comparison. The message says how the pair was made.
TEST(RefFallback, ATestConfirmsAPairOnlyWhenItComparesTheTwo) {
  test::TempDir t;
  write_fixture(t.path());
  FallbackPair conv = copy_of(reference_fallbacks(t.path(), repository_files(t.path())), "conv_fn");
  std::string why;
  for (auto& w : conv.why) why += w + "\n";
  EXPECT_NE(why.find("test: tests/test_conv.py calls both and compares them (tests/test_conv.py::test_conv, "
                     "with ==)"),
            std::string::npos)
      << why;
  EXPECT_EQ(conv.paired_by, "paired by name and signature; compared by tests/test_conv.py::test_conv");
  test::write(t.path() / "tests/test_conv.py",
              "from kpkg.interface import conv_fn\nfrom kpkg.reference import conv_ref\n\n\n"
              "def test_conv():\n    conv_fn(2, 3)\n");
  conv = copy_of(reference_fallbacks(t.path(), repository_files(t.path())), "conv_fn");
  EXPECT_EQ(conv.status, "routed");
  for (auto& w : conv.why) EXPECT_FALSE(w.starts_with("test:")) << w;
  EXPECT_EQ(conv.paired_by, "paired by name and signature (no repository test compares the two)");
}

// Finding 3: where the names differ, a test that compares the entry point with one reference pairs
// them (mamba's mamba_chunk_scan_combined and ssd_chunk_scan_combined_ref); two references in the
// test, or tests naming different ones, pair nothing.
TEST(RefFallback, ATestComparingAnEntryPointWithAReferenceOfAnotherNamePairsThem) {
  test::TempDir t;
  write_fixture(t.path());
  test::write(t.path() / "kpkg/combined.py",
              "from kpkg.ops import conv_fwd\n\n\n"
              "def scan_combined(x, w):\n    return conv_fwd(x, w)\n\n\n"
              "def ssd_scan_ref(x, w):\n    return ('ref', x * w)\n\n\n"
              "def other_ref(x, w):\n    return ('other', x)\n");
  const std::string test_head =
      "import torch\nfrom kpkg.combined import scan_combined, ssd_scan_ref, other_ref\n\n\n";
  test::write(t.path() / "tests/test_combined.py",
              test_head +
                  "def test_combined():\n    out = scan_combined(2, 3)\n    out_ref = ssd_scan_ref(2, 3)\n"
                  "    assert torch.allclose(out, out_ref)\n");
  auto plan = reference_fallbacks(t.path(), repository_files(t.path()));
  FallbackPair e = copy_of(plan, "scan_combined");
  ASSERT_EQ(e.status, "routed") << e.reason;
  EXPECT_EQ(e.reference, "ssd_scan_ref");
  EXPECT_EQ(e.paired_by,
            "paired by a test that compares them (tests/test_combined.py::test_combined) and by signature");
  apply_patch(t.path(), plan.patch);
  auto r = python(t.path(), "from kpkg.combined import scan_combined; print(scan_combined(2, 3))");
  EXPECT_EQ(r.out, "('ref', 6)\n") << r.err;
  // Two reference-looking functions in the comparing test: not sure which.
  test::TempDir u;
  write_fixture(u.path());
  test::write(u.path() / "kpkg/combined.py",
              "from kpkg.ops import conv_fwd\n\n\n"
              "def scan_combined(x, w):\n    return conv_fwd(x, w)\n\n\n"
              "def ssd_scan_ref(x, w):\n    return ('ref', x * w)\n\n\n"
              "def other_ref(x, w):\n    return ('other', x)\n");
  test::write(u.path() / "tests/test_combined.py",
              test_head +
                  "def test_combined():\n    out = scan_combined(2, 3)\n"
                  "    assert torch.allclose(out, ssd_scan_ref(2, 3) + other_ref(2, 3))\n");
  FallbackPair two = copy_of(reference_fallbacks(u.path(), repository_files(u.path())), "scan_combined");
  EXPECT_EQ(two.status, "left");
  EXPECT_EQ(two.reference, "");
  // A test that calls both but compares nothing pairs nothing.
  test::write(u.path() / "tests/test_combined.py",
              test_head + "def test_combined():\n    scan_combined(2, 3)\n    ssd_scan_ref(2, 3)\n");
  EXPECT_EQ(copy_of(reference_fallbacks(u.path(), repository_files(u.path())), "scan_combined").reference,
            "");
}

// Finding 4: an entry point with its own path without the kernel (a branch on the device or on the
// kernel's availability, a use_*_kernel switch) is left as it is; a branch that only rejects is not a path.
TEST(RefFallback, AnEntryPointWithItsOwnNonCudaPathIsLeft) {
  const std::string head = "from kpkg.ops import conv_fwd\nimport kpkg_cuda\n\n\n";
  const std::string ref = "def conv_ref(x, w):\n    return ('ref', x * w)\n";
  EXPECT_NE(left_why(head + "def conv_fn(x, w):\n    if x.is_cuda:\n        return conv_fwd(x, w)\n"
                            "    else:\n        return x * w\n",
                     ref, "conv_fn")
                .find("its own branch on the device or the kernel (`x.is_cuda`, line 6)"),
            std::string::npos);
  EXPECT_NE(
      left_why(head + "def conv_fn(x, w):\n    if x.device.type == 'cuda':\n        return conv_fwd(x, w)\n"
                      "    return x * w\n",
               ref, "conv_fn")
          .find("its own branch"),
      std::string::npos);
  EXPECT_NE(
      left_why(head + "def conv_fn(x, w):\n    return conv_fwd(x, w) if kpkg_cuda is not None else x * w\n",
               ref, "conv_fn")
          .find("its own branch"),
      std::string::npos);
  EXPECT_NE(
      left_why(head + "def conv_fn(x, w, use_cuda_kernel=True):\n    return conv_fwd(x, w)\n", ref, "conv_fn")
          .find("its own switch `use_cuda_kernel`"),
      std::string::npos);
  // A parameter that says where a step happens is not a switch of the kernel: routed.
  EXPECT_EQ(left_why(head + "def conv_fn(x, w, use_qk_l2norm_in_kernel=False):\n    return conv_fwd(x, w)\n",
                     ref, "conv_fn"),
            "");
  // A branch that only prepares the input is not a path: routed.
  EXPECT_EQ(
      left_why(head + "def conv_fn(x, w):\n    if x.is_cuda:\n        x = x + 0\n    return conv_fwd(x, w)\n",
               ref, "conv_fn"),
      "");
  // A rejection is not a path: routed.
  EXPECT_EQ(
      left_why(head + "def conv_fn(x, w):\n    if not x.is_cuda:\n        raise ValueError('cuda only')\n"
                      "    return conv_fwd(x, w)\n",
               ref, "conv_fn"),
      "");
}

// Finding 5: one reader of setup.py's CUDAExtensions (the plan's find_cuda_extensions uses it too):
// `name=` or a positional name, the sources, and the conditional form named by its later call.
TEST(RefFallback, OneReaderOfASetupScriptsCudaExtensions) {
  auto calls = cuda_extension_calls(
      "from torch.utils.cpp_extension import CUDAExtension, CppExtension\n"
      "# CUDAExtension(name='commented')\n"
      "a = CUDAExtension('pos_cuda', ['csrc/a.cu', 'csrc/a.cpp'])\n"
      "b = CUDAExtension(\n    name=\"kw.ext_cuda\",\n    sources=[\"csrc/b.cu\"],\n)\n"
      "c = CUDAExtension(['csrc/c.cu'])\n"
      "library_name = \"extension_cpp\"\n"
      "extension = CUDAExtension if use_cuda else CppExtension\n"
      "mods = [extension(f\"{library_name}._C\", sources)]\n");
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].line, 3);
  EXPECT_EQ(calls[0].name, "pos_cuda");
  EXPECT_EQ(calls[0].literals, (std::vector<std::string>{"pos_cuda", "csrc/a.cu", "csrc/a.cpp"}));
  EXPECT_EQ(calls[1].line, 4);
  EXPECT_EQ(calls[1].name, "kw.ext_cuda");
  EXPECT_EQ(calls[2].name, "");
  EXPECT_TRUE(calls[3].conditional);
  EXPECT_EQ(calls[3].line, 10);
  EXPECT_EQ(calls[3].name, "extension_cpp._C");
  // The fallback takes the unconditional ones (a conditional one may be built without CUDA).
  test::TempDir t;
  test::write(t.path() / "setup.py",
              "from torch.utils.cpp_extension import CUDAExtension, CppExtension\n"
              "ext_modules = [CUDAExtension('pos_cuda', ['csrc/a.cu'])]\n"
              "extension = CUDAExtension if use_cuda else CppExtension\n"
              "mods = [extension('cond_ext', sources)]\n");
  EXPECT_EQ(built_extensions(t.path(), {"setup.py"}), std::vector<std::string>{"pos_cuda"});
}

// A hostile setup.py whose name variable holds its own hole: filled once, no endless loop.
TEST(RefFallback, ANameThatHoldsItsOwnHoleIsFilledOnce) {
  auto done = std::async(std::launch::async, [] {
    return cuda_extension_calls(
        "from torch.utils.cpp_extension import CUDAExtension, CppExtension\n"
        "library_name = \"x{library_name}\"\n"
        "extension = CUDAExtension if use_cuda else CppExtension\n"
        "mods = [extension(f\"{library_name}._C\", sources)]\n");
  });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "the name filling loops";
  auto calls = done.get();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "x{library_name}._C");
}

}  // namespace kcat::patch
