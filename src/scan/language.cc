#include <algorithm>

#include "kcat/core/glob.h"
#include "kcat/scan/scanner.h"

namespace kcat::scan {

std::string language_for(const std::filesystem::path& rel) {
  auto name = rel.filename().string();
  auto ext = rel.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".py" || ext == ".pyi") return "python";
  if (ext == ".ipynb") return "notebook";
  if (ext == ".cu" || ext == ".cuh") return "cuda";
  if (ext == ".cpp" || ext == ".cc" || ext == ".cxx" || ext == ".h" || ext == ".hpp" || ext == ".hh" || ext == ".c") {
    return "cpp";
  }
  if (name == "pyproject.toml") return "pyproject";
  if (name == "environment.yml" || name == "environment.yaml" || glob_match("conda*.yml", name) ||
      glob_match("conda*.yaml", name)) {
    return "conda";
  }
  if (glob_match("requirements*.txt", name) || glob_match("constraints*.txt", name) ||
      glob_match("*requirements.txt", name) || (rel.parent_path().filename() == "requirements" && ext == ".txt")) {
    return "requirements";
  }
  if (name == "CMakeLists.txt" || ext == ".cmake") return "cmake";
  if (name == "Dockerfile" || glob_match("Dockerfile.*", name) || glob_match("*.Dockerfile", name) ||
      glob_match("*.dockerfile", name) || name == "Containerfile") {
    return "dockerfile";
  }
  if (ext == ".sh" || ext == ".bash" || ext == ".zsh" || name == ".env" || glob_match("*.env", name)) return "shell";
  return "";
}

}  // namespace kcat::scan
