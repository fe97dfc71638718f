#pragma once
#include <string>
#include <string_view>

namespace kcat::exec {

// One POSIX shell word that stands for `s` exactly: single-quoted, with each ' as '\''.
std::string shell_quote(std::string_view s);

}  // namespace kcat::exec
