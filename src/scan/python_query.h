#pragma once
// Raw tree-sitter query rules for Python: the C library returns matches without checking text
// predicates, so #eq?, #not-eq?, #match? and #not-match? are checked here.
#include <tree_sitter/api.h>

#include <string_view>

namespace kcat::scan::py {

// True when every text predicate of the match's pattern holds (unknown predicates are ignored).
bool predicates_hold(const TSQuery* query, const TSQueryMatch& match, std::string_view source);

}  // namespace kcat::scan::py
