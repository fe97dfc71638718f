#pragma once
// Turning findings into edits. A finding with codemod "replace", "replace-compared" (a compared
// literal the analyzer proved safe to swap) or "env-rename" and a replacement swaps exactly its span; a
// Python file whose code now names the NPU gets `import torch_npu` once, right after its first `import
// torch`.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kcat/core/finding.h"
#include "kcat/patch/edit.h"

namespace kcat::patch {

// The edits for `findings` (those that carry a usable codemod), plus import insertions.
// `applied` receives the findings the edits cover. `unported` receives one finding
// (patch.torch-npu-import) per Python file whose code now names the NPU but that has no `import
// torch` to put `import torch_npu` after (nor an `import torch_npu`): it is not inserted there.
Patch codemod_patch(const std::filesystem::path& root, const std::vector<Finding>& findings,
                    std::vector<Finding>* applied = nullptr, std::vector<Finding>* unported = nullptr);

// A build script (setup.py, build.py, or a file importing setuptools / distutils / scikit-build /
// torch.utils.cpp_extension): it runs where torch_npu may be missing, so its `import torch_npu`
// is guarded by try/except ImportError.
bool is_build_file(const std::string& file, std::string_view bytes);

// The edit that inserts `lines` (each without line ending) after the first module-level
// `import torch...` / `from torch... import` statement of a Python file, or after the module
// docstring and __future__ imports when there is none. Empty when every line is already there.
std::vector<Edit> insert_after_torch_import(const std::string& file, const std::string& bytes,
                                            const std::vector<std::string>& lines, bool require_torch_import);

// --mode shim: `import torch_npu` + `from torch_npu.contrib import transfer_to_npu` at each entry
// point (a module-level `if __name__ == "__main__":`), nothing else.
Patch shim_patch(const std::filesystem::path& root, const std::vector<std::string>& python_files);

}  // namespace kcat::patch
