#pragma once
// Edit / Patch: byte-range edits to files; a Patch applies atomically (all files or none) and
// renders as a unified diff.
#include <filesystem>
#include <string>
#include <vector>

namespace kcat::patch {

struct Edit {
  std::string file;    // repository-relative
  uint32_t begin = 0;  // byte offset, inclusive
  uint32_t end = 0;    // byte offset, exclusive
  std::string replacement;
  std::string origin;  // rule / codemod / "llm" that produced it (for the report)
  // The edit swaps a compared literal (==, in, match case) and the analyzer proved the swap keeps
  // the meaning (codemod "replace-compared", src/scan/python_literals.h): the gate's meaning
  // check lets it through. Any other swap of a compared literal is refused.
  bool proven_compared = false;
};

struct Patch {
  std::string message;
  std::vector<Edit> edits;
};

// Applies edits to one file's bytes. Throws Error(Verify) when two edits overlap, naming both.
std::string apply_edits(const std::string& bytes, std::vector<Edit> edits);

// True when the edits only insert at offset 0: on a file that does not exist they create it.
bool creates_file(const std::vector<Edit>& edits);

// Writes every edited file (temp + rename); a missing file whose edits only insert at 0 is created. Before
// writing, all files are read and all edits applied in memory, so a bad edit leaves the tree untouched.
// Returns the changed files.
std::vector<std::string> apply_patch(const std::filesystem::path& root, const Patch& patch);

// Unified diff of old -> new for one file (a/ b/ prefixes, 3 lines of context).
std::string unified_diff(const std::string& file, const std::string& before, const std::string& after);

}  // namespace kcat::patch
