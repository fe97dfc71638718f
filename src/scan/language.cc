#include <algorithm>

#include "kcat/core/glob.h"
#include "kcat/scan/scanner.h"

namespace kcat::scan {

std::string_view language_of(std::string_view rel) {
  // The walk asks for every file of the tree: names are taken apart as views, with
  // std::filesystem's meaning of a file name's extension (none for ".env" or ".bashrc").
  auto slash = rel.rfind('/');
  std::string_view name = slash == std::string_view::npos ? rel : rel.substr(slash + 1);
  std::string_view parent = slash == std::string_view::npos ? std::string_view{} : rel.substr(0, slash);
  if (auto s = parent.rfind('/'); s != std::string_view::npos) parent = parent.substr(s + 1);
  std::string_view ext;
  if (auto dot = name.rfind('.'); dot != std::string_view::npos && dot != 0 && name != "..")
    ext = name.substr(dot);
  char lower[8] = {};
  if (ext.size() < sizeof lower) {
    std::transform(ext.begin(), ext.end(), lower,
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  std::string_view e = ext.size() < sizeof lower ? std::string_view(lower, ext.size()) : std::string_view{};
  if (e == ".py" || e == ".pyi") return "python";
  if (e == ".ipynb") return "notebook";
  if (e == ".cu" || e == ".cuh") return "cuda";
  if (e == ".cpp" || e == ".cc" || e == ".cxx" || e == ".h" || e == ".hpp" || e == ".hh" || e == ".c")
    return "cpp";
  if (name == "pyproject.toml") return "pyproject";
  if (name == "environment.yml" || name == "environment.yaml" || glob_match("conda*.yml", name) ||
      glob_match("conda*.yaml", name)) {
    return "conda";
  }
  if (glob_match("requirements*.txt", name) || glob_match("constraints*.txt", name) ||
      glob_match("*requirements.txt", name) || (parent == "requirements" && e == ".txt")) {
    return "requirements";
  }
  if (name == "CMakeLists.txt" || e == ".cmake") return "cmake";
  if (name == "Dockerfile" || glob_match("Dockerfile.*", name) || glob_match("*.Dockerfile", name) ||
      glob_match("*.dockerfile", name) || name == "Containerfile") {
    return "dockerfile";
  }
  // Container and machine descriptions that ask for a GPU: compose files, dev containers, Cog.
  if (glob_match("docker-compose*.yml", name) || glob_match("docker-compose*.yaml", name) ||
      glob_match("compose*.yml", name) || glob_match("compose*.yaml", name) || name == "cog.yaml" ||
      name == "devcontainer.json" || name == ".devcontainer.json" ||
      (parent == ".devcontainer" && e == ".json")) {
    return "container";
  }
  if (e == ".sh" || e == ".bash" || e == ".zsh" || name == ".env" || glob_match("*.env", name))
    return "shell";
  return "";
}

std::string language_for(const std::filesystem::path& rel) {
  return std::string(language_of(rel.generic_string()));
}

}  // namespace kcat::scan
