#pragma once
#include <string_view>

namespace kcat {

// Shell-style match where '*' matches any run of characters (dots and slashes included) and '?'
// one character: "torch.cuda.*", "CUDA_*", "requirements*.txt".
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

// A path glob: "**/" matches any number of directories, '*' does not cross '/'.
bool path_glob_match(std::string_view pattern, std::string_view path) noexcept;

}  // namespace kcat
