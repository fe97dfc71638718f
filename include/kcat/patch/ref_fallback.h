#pragma once
// The reference fallback (issue #17, item 1): a kernel entry point (a public top-level function that
// reaches a CUDA extension the repository builds) is paired with the repository's own pure-PyTorch
// reference (`F_ref`, `ref_F`, `F_reference`, `naive_F`, `F_torch`, also for F without an `_fn`
// suffix), and gets a dispatch as its first statement: when the extension is not importable (the
// NPU), it returns the reference's result; each parameter of F the reference lacks raises
// NotImplementedError when it is not at its default. The extension's top-level import becomes
// `try: import X / except ImportError: X = None` only when every use of X in that module is inside a
// function body. With the extension importable, the original code runs unchanged. A pair kcat is not
// sure of (signature, extension import used at import time, Triton path) is reported, never patched.
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kcat/patch/edit.h"

namespace kcat::patch {

struct FallbackPair {
  std::string entry;                     // F, the public entry point
  std::string file;                      // its file, repository-relative
  int line = 0;                          // its `def` line, 1-based
  std::string reference;                 // R ("" when none was found)
  std::string reference_file;            // R's file
  std::vector<std::string> kernels;      // what F reaches: the extension modules, "triton"
  std::vector<std::string> why;          // how the pair was made: name, test, signature
  std::string paired_by;                 // one line for the commit: "name and signature", "a test (...)"
  std::vector<std::string> unsupported;  // F's parameters R lacks (refused unless at their default)
  std::string status;                    // routed (patched now or before) | left
  std::string reason;                    // why it was left
};

struct FallbackPlan {
  std::vector<FallbackPair> entries;
  std::vector<std::string> guarded;  // "file: import X": made try/except ImportError by this patch
  std::vector<std::string> notes;    // imports left unguarded, and why
  Patch patch;                       // empty when nothing is left to change
};

// One use of CUDAExtension in a setup script, read with tree-sitter (the one reader of setup.py's
// extensions: the fallback's built_extensions and the plan's find_cuda_extensions).
struct ExtensionCall {
  int line = 0;                       // 1-based line of `CUDAExtension` (the call, or the conditional)
  std::string name;                   // the module: `name=` or a first positional literal that is not a
                                      // source file; for the conditional, the later call's first literal
                                      // with `{var}` of a top-level string assignment filled in ("" if none)
  std::vector<std::string> literals;  // the string literals among its arguments (the sources), in order
  // `ext = CUDAExtension if cond else CppExtension`, called later as `ext("name", ...)`: without CUDA
  // the module may still be built (as a C++ extension).
  bool conditional = false;
};
std::vector<ExtensionCall> cuda_extension_calls(const std::string& setup_py_text);

// The CUDA extension modules the repository builds: the name of each unconditional CUDAExtension
// in its Python files (setup.py), as imported ("pkg.ext" stays dotted).
std::vector<std::string> built_extensions(const std::filesystem::path& root,
                                          const std::vector<std::string>& python_files);

// "file:entry": how the fallback phase names an entry point across runs of the analysis.
std::string fallback_key(const FallbackPair& e);

// Pairs, guards and dispatches for the repository at `root` (python_files: repository-relative).
// `within` (repository-relative, "" = all): entry points outside it are left, and no import outside
// it (nor in a test file) is guarded. `rejected` (key -> reason): entry points the gate refused, left
// with the reason (and not counted as routed by the references that call them). `only` (keys, empty =
// all): the patch holds these entry points' edits alone (the phase's per-entry-point retry).
FallbackPlan reference_fallbacks(const std::filesystem::path& root,
                                 const std::vector<std::string>& python_files, const std::string& within = "",
                                 const std::map<std::string, std::string>& rejected = {},
                                 const std::set<std::string>& only = {});

// The marker comment on each dispatch kcat adds (how a later run knows an entry point is routed).
inline constexpr const char* kFallbackMarker = "kcat: reference fallback";

}  // namespace kcat::patch
