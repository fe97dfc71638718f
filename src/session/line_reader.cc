#include "kcat/session/line_reader.h"

#include <editline/readline.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
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

// libedit calls plain functions: the completer of the reader that is reading now.
Completer g_completer;
std::vector<std::string> g_matches;

char* next_match(const char*, int state) {
  static size_t next = 0;
  if (state == 0) next = 0;
  return next < g_matches.size() ? ::strdup(g_matches[next++].c_str()) : nullptr;
}

char** attempt_completion(const char* text, int, int end) {
  // Nothing but what the completer offers: libedit's default (file names from the root for
  // `/<Tab>`) only where the completer asks for paths.
  rl_attempted_completion_over = 1;
  if (!g_completer) return nullptr;
  std::string before(rl_line_buffer ? rl_line_buffer : "");
  if (end >= 0 && static_cast<size_t>(end) < before.size()) before.resize(static_cast<size_t>(end));
  auto c = g_completer(before);
  if (c.paths && c.words.empty()) {
    rl_attempted_completion_over = 0;
    return nullptr;
  }
  g_matches = std::move(c.words);
  if (g_matches.empty()) return nullptr;
  return rl_completion_matches(text, next_match);
}

class TerminalReader : public LineReader {
 public:
  explicit TerminalReader(std::filesystem::path history) : history_(std::move(history)) {
    std::error_code ec;
    std::filesystem::create_directories(history_.parent_path(), ec);
    using_history();
    stifle_history(1000);
    ::read_history(history_.c_str());
    rl_attempted_completion_function = attempt_completion;
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
  void set_completer(Completer completer) override { g_completer = std::move(completer); }

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
