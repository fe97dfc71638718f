#pragma once
// One file handed to an analyzer: its repository-relative path, language, bytes and line index.
#include <string>

#include "kcat/core/text.h"

namespace kcat::scan {

struct SourceFile {
  std::string path;      // repository-relative, '/'-separated
  std::string language;  // python cpp cuda requirements pyproject conda cmake dockerfile shell
  std::string bytes;     // exactly as on disk (for .ipynb: see notebook.h)
  LineIndex index;

  SourceFile(std::string p, std::string lang, std::string b)
      : path(std::move(p)), language(std::move(lang)), bytes(std::move(b)), index(bytes) {}
  SourceFile(const SourceFile&) = delete;
  SourceFile& operator=(const SourceFile&) = delete;
};

}  // namespace kcat::scan
