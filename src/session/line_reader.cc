#include "kcat/session/line_reader.h"

#include <editline/readline.h>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "kcat/core/cancel.h"

namespace kcat::session {

namespace {

class StreamReader : public LineReader {
 public:
  StreamReader(std::istream& in, std::ostream& out) : in_(in), out_(out) {}
  // The prompt is the question (an approval's "[y]es / [n]o ..."): it is shown even when the
  // answers come from a pipe, so a person (or a log) sees what was asked.
  ReadResult read(const std::string& prompt) override {
    if (!prompt.empty()) out_ << prompt << std::flush;
    std::string line;
    if (!std::getline(in_, line)) return {ReadStatus::EndOfInput, {}};
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return {ReadStatus::Line, line};
  }

 private:
  std::istream& in_;
  std::ostream& out_;
};

class TerminalReader : public LineReader {
 public:
  explicit TerminalReader(std::filesystem::path history) : history_(std::move(history)) {
    std::error_code ec;
    std::filesystem::create_directories(history_.parent_path(), ec);
    using_history();
    stifle_history(1000);
    ::read_history(history_.c_str());
  }
  ~TerminalReader() override { ::write_history(history_.c_str()); }

  ReadResult read(const std::string& prompt) override {
    cancel::reset();
    char* raw = ::readline(prompt.c_str());
    // libedit returns NULL both on end of input and when SIGINT interrupted the read; the cancel
    // flag (set by kcat's SIGINT handler) tells them apart.
    if (!raw) {
      if (cancel::requested()) {
        std::cout << "\n";
        return {ReadStatus::Interrupted, {}};
      }
      return {ReadStatus::EndOfInput, {}};
    }
    std::string line(raw);
    std::free(raw);
    if (cancel::requested()) return {ReadStatus::Interrupted, {}};
    return {ReadStatus::Line, line};
  }

  void add_history(const std::string& line) override { ::add_history(line.c_str()); }

 private:
  std::filesystem::path history_;
};

}  // namespace

std::unique_ptr<LineReader> terminal_reader(std::filesystem::path history_file) {
  return std::make_unique<TerminalReader>(std::move(history_file));
}

std::unique_ptr<LineReader> stream_reader(std::istream& in, std::ostream& prompts) {
  return std::make_unique<StreamReader>(in, prompts);
}

}  // namespace kcat::session
