#pragma once
// A Markdown report as a person reads it at a terminal: tables as aligned columns (no pipes or
// separator rows), headings and emphasis without their markers, and each line cut with … at the
// terminal's width (0: whole lines). A table wider than the terminal keeps its columns when only its
// last column's text is cut; when that would cut a number or leave too little of the text, it is
// stacked: one "header  value" line per cell, a blank line between rows.
#include <cstddef>
#include <string>
#include <string_view>

namespace kcat::report {

std::string markdown_for_terminal(std::string_view markdown, size_t width);

}  // namespace kcat::report
