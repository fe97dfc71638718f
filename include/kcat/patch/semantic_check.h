#pragma once
// The gate's meaning check (issue 12, "a port you can trust"): a step that re-parses and compiles
// may still change what the program does. Refused, on the before / after trees of each Python file:
// (a) a string literal that a test compares (==, !=, in, not in, startswith, a match case, a dict
//     key) swapped for another (removed and replaced), unless the edit is proven_compared (the
//     analyzer showed the other operand takes the new value, see src/scan/python_literals.h);
//     environment variable names are exempt (their renames follow env_map.toml);
// (b) an if/elif chain left with two branches on the same condition (the second never runs);
// (c) an added `from X import a, b` where X is a module of the repository (resolved by path)
//     that does not define a or b; packages outside the repository are not checked.
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "kcat/patch/edit.h"

namespace kcat::patch {

// `before`: path -> bytes before the patch (the files are already written). The reason names
// file and line, or nothing when the step keeps its meaning as far as these checks see.
std::optional<std::string> meaning_check(const std::filesystem::path& root, const Patch& patch,
                                         const std::map<std::string, std::string>& before);

}  // namespace kcat::patch
