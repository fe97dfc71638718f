#include "context.h"

#include <fmt/format.h>

#include <map>

#include "kcat/core/text.h"
#include "kcat/core/utf8.h"
#include "kcat/llm/client.h"

namespace kcat::agent {

namespace {

std::string first_line(const std::string& s, size_t n) {
  auto line = s.substr(0, s.find('\n'));
  return line.size() <= n ? line : line.substr(0, utf8_floor(line, n)) + "…";
}

std::string shorten(const std::string& s, size_t n, const char* what) {
  if (s.size() <= n) return s;
  auto keep = utf8_floor(s, n);
  return s.substr(0, keep) + fmt::format("\n… (kcat cut {} {} bytes of this {} to fit the context)",
                                         s.size() - keep, "more", what);
}

// Where the latest turn starts: the last assistant message (and the results and notes after it).
size_t tail_start(const std::vector<llm::Message>& m) {
  for (size_t i = m.size(); i-- > 2;) {
    if (m[i].role == "assistant") return i;
  }
  return m.size();
}

}  // namespace

ContextView fit_context(const std::vector<llm::Message>& history, const std::vector<llm::ToolSpec>& tools,
                        long budget) {
  ContextView v;
  v.messages = history;
  auto est = [&] { return v.estimate = llm::estimate_tokens(v.messages, tools); };
  if (est() <= budget || v.messages.size() < 2) return v;

  // 1. Old tool outputs, oldest first.
  size_t tail = tail_start(v.messages);
  for (size_t i = 2; i < tail && v.estimate > budget; ++i) {
    auto& m = v.messages[i];
    if (m.role != "tool" || m.content.size() <= 240) continue;
    m.content = fmt::format(
        "[kcat elided this {}-byte result to fit the context; call the tool again if you "
        "need it. It began: {}]",
        m.content.size(), first_line(m.content, 120));
    ++v.elided;
    est();
  }
  if (v.estimate <= budget) return v;

  // 2. Old turns, folded into one summary message (whole turns: a tool call keeps its result).
  std::map<std::string, std::string> results;  // tool_call_id -> result
  for (size_t i = 2; i < tail; ++i) {
    if (v.messages[i].role == "tool") results[v.messages[i].tool_call_id] = v.messages[i].content;
  }
  std::vector<std::string> lines;
  size_t drop_end = 2;
  auto rebuild = [&] {
    std::string text = "Earlier turns of this step, summarized by kcat to fit the context:\n";
    // The latest summary lines matter most: keep at most ~3000 bytes of them.
    size_t from = 0, bytes = 0;
    for (size_t k = lines.size(); k-- > 0;) {
      bytes += lines[k].size() + 1;
      if (bytes > 3000) {
        from = k + 1;
        break;
      }
    }
    if (from > 0) text += fmt::format("- ({} earlier lines left out)\n", from);
    for (size_t k = from; k < lines.size(); ++k) text += lines[k] + "\n";
    std::vector<llm::Message> out(v.messages.begin(), v.messages.begin() + 2);
    out.push_back(llm::Message::user(text));
    out.insert(out.end(), history.begin() + static_cast<long>(drop_end), history.end());
    // the elisions of step 1 stay for the turns that are kept
    for (size_t i = 3, h = drop_end; i < out.size() && h < tail; ++i, ++h) out[i] = v.messages[h];
    return out;
  };
  std::vector<llm::Message> candidate;
  while (drop_end < tail) {
    // Fold the next turn: an assistant message and what answers it, or a note.
    size_t next = drop_end + 1;
    const auto& m = history[drop_end];
    if (m.role == "assistant") {
      if (!m.content.empty()) lines.push_back("- you said: " + first_line(m.content, 160));
      for (const auto& c : m.tool_calls) {
        lines.push_back(fmt::format("- {}({}) -> {}", c.name, first_line(c.arguments, 160),
                                    first_line(results.count(c.id) ? results[c.id] : "", 160)));
      }
      while (next < tail && history[next].role == "tool") ++next;
    } else if (m.role == "user") {
      lines.push_back("- kcat: " + first_line(m.content, 200));
    }
    v.summarized += static_cast<int>(next - drop_end);
    drop_end = next;
    candidate = rebuild();
    if (llm::estimate_tokens(candidate, tools) <= budget) break;
  }
  if (!candidate.empty()) {
    v.messages = std::move(candidate);
    est();
  }
  if (v.estimate <= budget) return v;

  // 3. The latest turn's outputs, then the task itself.
  tail = tail_start(v.messages);
  for (size_t i = tail; i < v.messages.size() && v.estimate > budget; ++i) {
    if (v.messages[i].role != "tool" || v.messages[i].content.size() <= 2000) continue;
    v.messages[i].content = shorten(v.messages[i].content, 2000, "result");
    v.cut = true;
    est();
  }
  if (v.estimate > budget) {
    long over = v.estimate - budget;
    auto& task = v.messages[1];
    size_t keep = task.content.size() > static_cast<size_t>(over) * 3 + 400
                      ? task.content.size() - static_cast<size_t>(over) * 3 - 400
                      : 400;
    task.content = shorten(task.content, keep, "task (use scan and read_file for the rest)");
    v.cut = true;
    est();
  }
  return v;
}

}  // namespace kcat::agent
