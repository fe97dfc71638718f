#include "kcat/session/approver.h"

#include <ostream>

#include "kcat/core/text.h"

namespace kcat::session {

namespace {

class PromptApprover : public Approver {
 public:
  PromptApprover(LineReader& reader, std::ostream& out, std::function<void(const std::string&)> show)
      : reader_(reader), out_(out), show_(std::move(show)) {}

  Answer ask(const std::string& question, const std::string& details) override {
    if (all_) return Answer::Yes;
    while (true) {
      auto r = reader_.read(visible_text(question) + " [y]es / [n]o / [a]ll / [s]how more: ");
      // Ctrl-C or end of input is a refusal, never a silent yes.
      if (r.status != ReadStatus::Line) return Answer::No;
      auto a = r.line.empty() ? ' ' : static_cast<char>(std::tolower(static_cast<unsigned char>(r.line[0])));
      if (a == 'y') return Answer::Yes;
      if (a == 'n') return Answer::No;
      if (a == 'a') {
        all_ = true;
        return Answer::Yes;
      }
      if (a == 's') {
        if (show_) {
          show_(details);
          continue;
        }
        out_ << visible_text(details) << (details.empty() || details.back() == '\n' ? "" : "\n");
        continue;
      }
      out_ << "please answer y, n, a or s\n";
    }
  }

 private:
  LineReader& reader_;
  std::ostream& out_;
  std::function<void(const std::string&)> show_;
  bool all_ = false;
};

class CiApprover : public Approver {
 public:
  Answer ask(const std::string&, const std::string&) override { return Answer::No; }
};

}  // namespace

std::unique_ptr<Approver> prompt_approver(LineReader& reader, std::ostream& out,
                                          std::function<void(const std::string&)> show) {
  return std::make_unique<PromptApprover>(reader, out, std::move(show));
}

std::unique_ptr<Approver> ci_approver() { return std::make_unique<CiApprover>(); }

}  // namespace kcat::session
