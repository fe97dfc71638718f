#pragma once
// Keeping a step's conversation within the model's context (issue 18 §4): the history stays whole in
// memory; what is sent is a view of it that fits the budget. In order, until it fits: old tool
// outputs are elided; old turns are summarized in one message (one line per tool call); the latest
// turn's outputs are shortened; the task itself is cut. The system prompt and the pairing of each
// tool call with its result are always kept.
#include <string>
#include <vector>

#include "kcat/llm/message.h"

namespace kcat::agent {

struct ContextView {
  std::vector<llm::Message> messages;
  long estimate = 0;   // tokens (llm::estimate_tokens)
  int elided = 0;      // tool outputs replaced by a note
  int summarized = 0;  // messages folded into the summary
  bool cut = false;    // the latest outputs or the task were shortened
};

ContextView fit_context(const std::vector<llm::Message>& history, const std::vector<llm::ToolSpec>& tools,
                        long budget_tokens);

}  // namespace kcat::agent
