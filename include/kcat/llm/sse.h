#pragma once
// Server-sent events of a streamed chat completion: bytes -> events -> one assembled message.
#include <functional>
#include <string>
#include <string_view>

#include "kcat/llm/message.h"

namespace kcat::llm {

using DeltaFn = std::function<void(std::string_view text)>;

// Splits a byte stream into events; calls on_data with the event's data (several data: lines joined
// by '\n'). Comments and other fields (event:, id:, retry:) are ignored. Bytes may arrive in any pieces.
class SseParser {
 public:
  void feed(std::string_view bytes, const std::function<void(std::string_view)>& on_data);
  // End of stream: dispatches a last event that lacked its blank line.
  void finish(const std::function<void(std::string_view)>& on_data);

 private:
  void line(std::string_view l, const std::function<void(std::string_view)>& on_data);
  std::string buf_;
  std::string data_;
  bool has_data_ = false;
};

// Folds chat.completion.chunk events into a message: content deltas are concatenated (and passed to
// on_delta as they come), tool-call deltas are merged by index (arguments arrive in pieces).
class StreamAssembler {
 public:
  void add(std::string_view data, const DeltaFn& on_delta = {});
  bool done() const { return done_; }  // saw "data: [DONE]"
  bool saw_events() const { return events_ > 0; }
  bool malformed() const { return !malformed_.empty(); }
  const std::string& malformed_reason() const { return malformed_; }
  const std::string& error() const { return error_; }  // an {"error":...} event, if any
  const std::string& finish_reason() const { return finish_reason_; }
  const Usage& usage() const { return usage_; }
  const Message& message() const { return message_; }

 private:
  Message message_{"assistant", {}, {}, {}, {}};
  std::vector<int> tool_index_;  // tool_calls[i] came from delta index tool_index_[i]
  std::string finish_reason_;
  std::string malformed_;
  std::string error_;
  Usage usage_;
  int events_ = 0;
  bool done_ = false;
};

}  // namespace kcat::llm
