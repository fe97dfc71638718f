#include "kcat/session/repl.h"

#include <fmt/format.h>

#include <ostream>

namespace kcat::session {

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < line.size())
        cur += line[++i];
      else
        cur += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      cur += line[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(cur));
  return words;
}

namespace {

void print_help(std::ostream& out, const ReplOptions& o) {
  out << "Slash commands:\n";
  for (auto& c : o.commands) {
    out << fmt::format("  /{:<28} {}\n", c.name + (c.usage.empty() ? "" : " " + c.usage), c.help);
  }
  out << fmt::format("  /{:<28} {}\n", "help", "this list");
  out << fmt::format("  /{:<28} {}\n", "quit", "leave (also Ctrl-D, or Ctrl-C twice)");
  out << "Anything else is a request in plain language for the agent"
      << (o.on_request ? ".\n" : " (" + o.no_llm_hint + ").\n");
}

}  // namespace

Completion complete(const ReplOptions& o, const std::string& before_cursor) {
  Completion c;
  auto first = before_cursor.find_first_not_of(" \t");
  if (first == std::string::npos || before_cursor[first] != '/') return c;
  auto line = before_cursor.substr(first);
  auto space = line.find_first_of(" \t");
  if (space == std::string::npos) {
    std::vector<std::string> names;
    for (auto& cmd : o.commands) names.push_back(cmd.name);
    names.insert(names.end(), {"help", "quit"});
    for (auto& n : names) {
      if (("/" + n).rfind(line, 0) == 0) c.words.push_back("/" + n);
    }
    return c;
  }
  auto name = line.substr(1, space - 1);
  auto word_start = before_cursor.find_last_of(" \t") + 1;
  auto word = before_cursor.substr(word_start);
  for (auto& cmd : o.commands) {
    if (cmd.name != name) continue;
    c.paths = cmd.takes_path;
    for (auto& v : cmd.values) {
      if (v.rfind(word, 0) == 0) c.words.push_back(v);
    }
  }
  return c;
}

int run_repl(LineReader& reader, std::ostream& out, const ReplOptions& o) {
  int interrupts = 0;
  reader.set_completer([&o](const std::string& before_cursor) { return complete(o, before_cursor); });
  struct Unset {  // the completer refers to `o`: not past this call
    LineReader& r;
    ~Unset() { r.set_completer({}); }
  } unset{reader};
  while (true) {
    auto r = reader.read(o.prompt);
    if (r.status == ReadStatus::EndOfInput) {
      out << "\n";
      return 0;
    }
    if (r.status == ReadStatus::Interrupted) {
      if (++interrupts >= 2) return 130;
      out << "(press Ctrl-C again to leave, or type /quit)\n";
      continue;
    }
    interrupts = 0;
    auto line = r.line;
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    line = line.substr(first);
    reader.add_history(line);
    if (line[0] != '/') {
      if (!o.on_request) {
        out << "kcat: " << o.no_llm_hint << "\n  the slash commands work without one: /help lists them\n";
        continue;
      }
      int rc = o.on_request(line);
      if (rc != 0) out << fmt::format("(exit {})\n", rc);
      continue;
    }
    auto words = split_words(line.substr(1));
    if (words.empty()) continue;
    auto name = words[0];
    words.erase(words.begin());
    if (name == "quit" || name == "exit" || name == "q") return 0;
    if (name == "help" || name == "?") {
      print_help(out, o);
      continue;
    }
    const SlashCommand* cmd = nullptr;
    for (auto& c : o.commands) {
      if (c.name == name) cmd = &c;
    }
    if (!cmd) {
      out << fmt::format("kcat: unknown command /{}; /help lists them\n", name);
      continue;
    }
    int rc = cmd->run(words);
    if (rc != 0) out << fmt::format("(exit {})\n", rc);
  }
}

}  // namespace kcat::session
