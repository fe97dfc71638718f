#pragma once
// Asking before kcat changes code or runs a command. A person answers at a terminal; in CI
// nothing ever prompts and the answer is always no (what may run there is configured instead).
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "kcat/session/line_reader.h"

namespace kcat::session {

enum class Answer { Yes, No, All };

class Approver {
 public:
  virtual ~Approver() = default;
  // `question` is one line ("Apply this edit to model.py?"); `details` is shown on "show more"
  // (the full diff or command).
  virtual Answer ask(const std::string& question, const std::string& details) = 0;
};

// y / n / a (yes to this and every later question) / s (show the details, then ask again).
// `show` writes the details for "s" (a diff coloured and paged: show_diff); by default they are
// written to `out` as visible text.
std::unique_ptr<Approver> prompt_approver(LineReader& reader, std::ostream& out,
                                          std::function<void(const std::string&)> show = {});
// Never prompts; always No.
std::unique_ptr<Approver> ci_approver();

}  // namespace kcat::session
