#pragma once
// Where the interactive session reads lines from: libedit on a terminal (line editing, history),
// or plain standard input otherwise (pipes, tests).
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kcat::session {

enum class ReadStatus { Line, Interrupted, EndOfInput };

struct ReadResult {
  ReadStatus status = ReadStatus::EndOfInput;
  std::string line;
};

// What Tab offers for the text before the cursor: these words (each replaces the word being
// typed), or, when `paths`, the file names that start with it.
struct Completion {
  std::vector<std::string> words;
  bool paths = false;
};
using Completer = std::function<Completion(const std::string& before_cursor)>;

class LineReader {
 public:
  virtual ~LineReader() = default;
  virtual ReadResult read(const std::string& prompt) = 0;
  virtual void add_history(const std::string& line) { (void)line; }
  // Tab completion on a terminal; other readers have none.
  virtual void set_completer(Completer completer) { (void)completer; }
};

// libedit with a history file (created on first use; never fatal when it cannot be written).
std::unique_ptr<LineReader> terminal_reader(std::filesystem::path history_file);
// Lines from an istream (stdin that is not a terminal, tests); each prompt is written to
// `prompts` first, so the question is on screen or in the log even when answers are piped.
std::unique_ptr<LineReader> stream_reader(std::istream& in, std::ostream& prompts);

}  // namespace kcat::session
