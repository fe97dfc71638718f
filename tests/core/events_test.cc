#include "kcat/core/events.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <functional>

namespace kcat {

namespace {
// Captures what emit() writes to stderr.
std::string capture(const std::function<void()>& f) {
  std::fflush(stderr);
  int saved = dup(2);
  FILE* tmp = std::tmpfile();
  dup2(fileno(tmp), 2);
  f();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::rewind(tmp);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, tmp)) > 0) out.append(buf, n);
  std::fclose(tmp);
  return out;
}
}  // namespace

TEST(Events, SilentInTextMode) {
  events::enable_json(false);
  EXPECT_EQ(capture([] { events::emit("step", {{"id", "x"}}); }), "");
}

TEST(Events, OneJsonObjectPerLine) {
  events::enable_json(true);
  auto out = capture([] {
    events::emit("step-started", {{"id", "device-api-1"}});
    events::emit("bad-bytes", {{"file", std::string("a\xff.py")}});
  });
  events::enable_json(false);
  auto nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  auto first = nlohmann::json::parse(out.substr(0, nl));
  EXPECT_EQ(first["event"], "step-started");
  EXPECT_EQ(first["id"], "device-api-1");
  EXPECT_TRUE(first.contains("ts"));
  auto second = nlohmann::json::parse(out.substr(nl + 1));
  EXPECT_EQ(second["event"], "bad-bytes");
}

// Progress for a person: one labelled line per event a person waits on, on standard error.
TEST(Events, TextModeShowsOneLabelledLinePerEvent) {
  events::enable_text(true);
  auto out = capture([] {
    events::emit("step-started", {{"step", "device-api-1"}, {"edits", 3}, {"files", 2}});
    events::emit("step-committed", {{"step", "device-api-1"}, {"commit", "0123456789abcdef"}});
    events::emit("scan-started", {{"root", "/r"}});  // not one a person waits on: no line
    events::emit("agent-tool", {{"tool", "run_command"},
                                {"target", "pytest -x"},
                                {"result", "refused: pytest -x: the person declined it\nmore"}});
    events::emit("llm-retry", {{"attempt", 1}, {"reason", "HTTP 503"}, {"delay_ms", 1500}});
    events::emit(
        "bench-run",
        {{"run", 2}, {"warmup", false}, {"value", 41.5}, {"unit", "tok/s"}, {"ms", 2000}, {"failure", ""}});
  });
  events::enable_text(false);
  EXPECT_EQ(out,
            "  step device-api-1: applying 3 edit(s) in 2 file(s)\n"
            "  step device-api-1: committed 0123456789\n"
            "  tool run_command pytest -x -> refused: pytest -x: the person declined it\n"
            "  LLM: try 1 failed (HTTP 503); waiting 1.5 s before the next\n"
            "  bench run 2: 41.5 tok/s (2.0 s)\n");
  // Text mode off: silent again.
  EXPECT_EQ(capture([] { events::emit("step-started", {{"step", "x"}}); }), "");
}

TEST(Events, TextLineShowsControlCharactersVisibly) {
  auto line = events::text_line("step-failed", {{"step", "s"}, {"reason", "bad \x1b[2J file"}});
  EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
  EXPECT_NE(line.find("\\x1b"), std::string::npos) << line;
  EXPECT_EQ(events::text_line("scan-started", {}), "");
  // A bench without a unit: no stray space.
  EXPECT_EQ(events::text_line("bench-run", {{"warmup", true}, {"value", 12.5}, {"unit", ""}, {"ms", 300}}),
            "bench warm-up: 12.5 (0.3 s)");
}

TEST(Events, ProgressAfterStreamedProseStartsOnItsOwnLine) {
  events::enable_text(true);
  std::fflush(stdout);
  int saved = dup(1);
  FILE* tmp = std::tmpfile();
  dup2(fileno(tmp), 1);
  auto err = capture([] {
    events::write_stream("I will read the file");
    events::emit("agent-tool", {{"tool", "read_file"}, {"target", "a.py"}, {"result", "1: import torch"}});
    events::write_stream("done.\n");
    events::emit("agent-tool", {{"tool", "list_files"}, {"result", "a.py"}});
  });
  std::fflush(stdout);
  dup2(saved, 1);
  close(saved);
  std::fclose(tmp);
  events::enable_text(false);
  EXPECT_EQ(err, "\n  tool read_file a.py -> 1: import torch\n  tool list_files -> a.py\n");
}

}  // namespace kcat
