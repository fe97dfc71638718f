#pragma once
#include <functional>
#include <string>

namespace kcat::cli {

struct ChatOptions {
  std::string repo = ".";
  std::string target = "ascend-a2";
  // Plain-language requests; set when an LLM is configured.
  std::function<int(const std::string&)> request_handler;
  // Diffs shown before an edit is approved: coloured (Globals::use_color) and paged on a terminal.
  bool colour = false;
};

int run_chat(const ChatOptions& options);

}  // namespace kcat::cli
