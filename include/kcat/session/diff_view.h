#pragma once
// Showing a diff before a person approves it, as `git add -p` does: coloured on a terminal (plain
// with NO_COLOR, --color never, or when not a terminal), control characters always written
// visibly (issue 14 §5), and through a pager ($PAGER, default `less -R`) when it is longer than
// the screen, never in CI or when standard input or output is not a terminal.
#include <iosfwd>
#include <string>
#include <string_view>

namespace kcat::session {

struct DiffStyle {
  bool colour = false;
  bool pager = false;
};

// Colour as asked; the pager only outside CI with both standard input and output terminals.
DiffStyle diff_style(bool colour, bool ci);
// `diff` made visible (visible_text), each line coloured by its kind when `colour`.
std::string render_diff(std::string_view diff, bool colour);
// Writes the rendered diff to `out`, or hands it to the pager when it does not fit the screen.
void show_diff(std::ostream& out, std::string_view diff, const DiffStyle& style);

}  // namespace kcat::session
