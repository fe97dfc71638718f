#pragma once
#include <deque>

#include "kcat/session/line_reader.h"

namespace kcat::session {

// Replays lines and Ctrl-C presses; records the prompts it was shown and the history.
class ScriptedReader : public LineReader {
 public:
  explicit ScriptedReader(std::deque<ReadResult> script) : script_(std::move(script)) {}
  ReadResult read(const std::string& prompt) override {
    prompts.push_back(prompt);
    if (script_.empty()) return {ReadStatus::EndOfInput, {}};
    auto r = script_.front();
    script_.pop_front();
    return r;
  }
  void add_history(const std::string& line) override { history.push_back(line); }
  std::vector<std::string> prompts;
  std::vector<std::string> history;

 private:
  std::deque<ReadResult> script_;
};

inline ReadResult line(std::string s) { return {ReadStatus::Line, std::move(s)}; }
inline ReadResult ctrl_c() { return {ReadStatus::Interrupted, {}}; }

}  // namespace kcat::session
