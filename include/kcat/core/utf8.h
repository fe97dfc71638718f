#pragma once
// Cutting and cleaning text that goes into JSON (LLM requests, the ledger): never through a UTF-8
// character, never with bytes that do not serialize.
#include <cstddef>
#include <string>
#include <string_view>

namespace kcat {

// The largest n <= max (and <= s.size()) such that s[0, n) does not end inside a UTF-8 sequence:
// where a cap may cut without splitting a character.
size_t utf8_floor(std::string_view s, size_t max);
// `s` with each byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlong forms,
// surrogates or code points above U+10FFFF) replaced by U+FFFD: text that always serializes as JSON.
std::string to_valid_utf8(std::string_view s);

}  // namespace kcat
