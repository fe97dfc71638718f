#pragma once
// The gate's meaning check (issue 12, "a port you can trust"): a step that re-parses and compiles
// may still change what the program does. Refused, on the before / after trees of each Python file:
// (a) a string literal that a test compares (==, !=, in, not in, startswith, a match case, a dict
//     key) swapped for another (removed and replaced), unless the edit is proven_compared (the
//     analyzer showed the other operand takes the new value, see src/scan/python_literals.h);
//     environment variable names are exempt (their renames follow env_map.toml);
// (b) an if/elif chain left with two branches on the same condition (the second never runs);
// (c) an added `from X import a, b` where X is a module of the repository (resolved by path)
//     that does not define a or b; packages outside the repository are not checked;
// (d) an added use of torch_npu outside its API surface (patches/torch_npu_surface.toml, from
//     op-plugin's op list, torch_npu's own ops and torch_npu/npu/__init__.py): `torch.npu.X` that
//     torch_npu.npu lacks, a `torch_npu.npu_*` / `torch.ops.npu.*` op that does not exist for the stack's
//     torch, or a call of one with a keyword or more positional arguments than any overload accepts.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kcat/patch/edit.h"

namespace kcat::patch {

// `before`: path -> bytes before the patch (the files are already written). The reason names
// file and line, or nothing when the step keeps its meaning as far as these checks see.
std::optional<std::string> meaning_check(const std::filesystem::path& root, const Patch& patch,
                                         const std::map<std::string, std::string>& before);

// Names a Python module uses but never binds (pyflakes' "undefined name", by tree-sitter): a name
// counts as bound when any assignment, import, definition, parameter, loop or `with` target, except
// alias, walrus, global statement or match capture in an enclosing scope binds it, anywhere in that
// scope, or when it is a builtin. Nothing when the module star-imports or writes globals()/locals().
struct UnboundName {
  std::string name;
  uint32_t line = 0;  // 1-based, the first use
};
std::vector<UnboundName> unbound_names(const std::string& python_source);
// The names unbound in `now` that were not unbound in `old` (first use of each).
std::vector<UnboundName> new_unbound_names(const std::string& old, const std::string& now);
// An import `now` adds (not in `old`) of a module of the repository that does not exist: a relative
// import, or an absolute one whose top-level package or module is the repository's (at the root or
// beside `file`). Packages installed elsewhere are not checked, with one exception: `placed`, the
// repository-relative files the same change creates (kcat's own modules): an absolute import of one
// of them that `file` cannot reach (it is neither at the root nor beside `file`, e.g. in a folder
// without __init__.py elsewhere) is unresolved too, and the reason says where the module is.
std::optional<std::string> unresolved_import(const std::filesystem::path& root, const std::string& file,
                                             const std::string& old, const std::string& now,
                                             const std::vector<std::string>& placed = {});
// Both checks on one .py file (`file` repository-relative): the reason names the file, the names and
// their lines, or nothing.
std::optional<std::string> names_check(const std::filesystem::path& root, const std::string& file,
                                       const std::string& old, const std::string& now,
                                       const std::vector<std::string>& placed = {});

}  // namespace kcat::patch
