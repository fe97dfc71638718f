#pragma once
// Where an edit_file search text sits in a file (issue 18 §6): line endings normalized (a CRLF
// file matches an LF search, and the replacement gets the file's endings), line-number prefixes
// copied from a numbered view removed, then a cascade: exact; lines equal but for trailing
// whitespace; lines equal but for a uniform change of indentation (the replacement re-indented to
// match); lines equal but for whitespace. The first tier that matches decides; several matches in
// it are an ambiguity, reported with every location.
#include <cstddef>
#include <string>
#include <vector>

namespace kcat::agent {

struct EditMatch {
  size_t begin = 0, end = 0;  // byte range in the file as it is on disk
  std::string replacement;    // the bytes that replace it (the file's line endings and indentation)
  size_t line = 0;            // 1-based line where it starts
};

struct EditLocation {
  std::vector<EditMatch> matches;  // none, one, or several (ambiguous) in the tier that matched
  std::string how;                 // "" for an exact match; else how the search text was read
};

EditLocation locate_edit(const std::string& file, const std::string& search, const std::string& replace);

}  // namespace kcat::agent
