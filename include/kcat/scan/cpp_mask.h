#pragma once
// C++ / CUDA text rules run on a masked copy of the file: comments and string / char literals
// become spaces (newlines kept, same length), so a pattern matches code only and byte offsets
// stay exact. Two ways to make the mask:
//   mask_cpp             a hand lexer (the scan uses it: on DeepSpeed's C++ it takes ~1/100 of the
//                        time of the parse below)
//   mask_cpp_tree_sitter the reference: blank every comment / string / char node of a full
//                        tree-sitter parse (kept for the differential tests in cpp_mask_test.cc)
// The lexer reproduces what tree-sitter's grammar does, including where it does not blank: the
// path and comments of an #include line, and the body of #define / #pragma / #error lines
// (tree-sitter-cpp reads that as one opaque preproc_arg token up to a /* comment, so its strings
// and // comments stay). Both give the same bytes on every C++/CUDA file of DeepSpeed; of apex's
// 151 files one byte differs (a quote inside inline asm that tree-sitter's error recovery left
// unblanked). Where tree-sitter has to recover from code it cannot parse they can differ.
#include <string>
#include <string_view>
#include <vector>

#include "kcat/scan/analyzer.h"
#include "kcat/scan/source.h"

namespace kcat::scan {

std::string mask_cpp(std::string_view bytes);
std::string mask_cpp_tree_sitter(const SourceFile& file, AnalyzeStats* stats);

// The C++ / CUDA text rules run on `masked` (a mask of file.bytes): what analyze_cpp returns for
// mask_cpp's mask, unsorted.
std::vector<Finding> analyze_cpp_masked(const SourceFile& file, std::string_view masked,
                                        const kb::RuleSet& rules);

}  // namespace kcat::scan
