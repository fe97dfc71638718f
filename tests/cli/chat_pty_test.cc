// The interactive session through a real pseudo-terminal: tmux runs kcat, send-keys types, and
// capture-pane reads the screen.
#include <gtest/gtest.h>

#include <unistd.h>
#include <regex>

#include <chrono>
#include <thread>

#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

namespace kcat {

namespace {

namespace fs = std::filesystem;

// Each session has a tmux server of its own (-S: a socket in a temp dir of its own), so test
// shards that run side by side (ctest -j, tests/CMakeLists.txt), or a developer's own tmux, never
// share a server: a session does not take its environment from a server another process started,
// and one process ending its last session never stops a server another is about to use.
class Tmux {
 public:
  explicit Tmux(const std::string& command, int width = 160, int height = 50)
      : name_("kcat-test-" + std::to_string(::getpid())) {
    // The tmux server outlives its client; with our pipes as its stdio we would wait forever.
    started_ = quiet({"new-session", "-d", "-s", name_, "-x", std::to_string(width), "-y",
                      std::to_string(height), command}) == 0;
  }
  ~Tmux() { quiet({"kill-server"}); }
  int quiet(const std::vector<std::string>& args) const {
    std::string cmd = "exec env -u TMUX tmux -S '" + (sock_ / "tmux").string() + "'";
    for (auto& a : args) cmd += " '" + a + "'";
    return test::sh(cmd + " </dev/null >/dev/null 2>&1").exit_code;
  }
  bool started() const { return started_; }
  void keys(const std::vector<std::string>& keys) {
    std::vector<std::string> argv{"send-keys", "-t", name_};
    argv.insert(argv.end(), keys.begin(), keys.end());
    quiet(argv);
  }
  // tmux hands the client's stdout to its server, so a pipe would never see end of file: go
  // through a file instead.
  std::string screen() {
    auto file = sock_ / "screen";
    test::sh("exec env -u TMUX tmux -S '" + (sock_ / "tmux").string() + "' capture-pane -p -t '" + name_ +
             "' </dev/null >'" + file.string() + "' 2>/dev/null");
    std::error_code ec;
    auto text = fs::exists(file, ec) ? test::read(file) : std::string();
    fs::remove(file, ec);
    return text;
  }
  bool alive() { return quiet({"has-session", "-t", name_}) == 0; }
  // Polls the screen until `text` shows (up to ~10 s: a slow machine, not a timing assertion).
  bool wait_for(const std::string& text, int tries = 200) {
    for (int i = 0; i < tries; ++i) {
      if (screen().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  bool wait_gone() {
    for (int i = 0; i < 200; ++i) {
      if (!alive()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  test::TempDir sock_;
  std::string name_;
  bool started_ = false;
};

std::string session_command(const test::TempDir& dir) {
  return "env NO_COLOR=1 KCAT_HISTORY=" + (dir / "history").string() +
         " KCAT_DATA_DIR=" + (test::source_dir() / "patches").string() + " " + test::kcat_binary().string() +
         " chat " + dir.path().string();
}

// The basic migrate fixture as a git repository.
void basic_repo(const test::TempDir& dir) {
  test::copy_tree(test::fixtures_dir() / "migrate" / "basic" / "before", dir / "repo");
  test::git_init_commit(dir / "repo");
}

// `kcat ARGS` on the terminal outside CI, then the exit code, and the pane stays for capture.
std::string on_terminal(const test::TempDir& dir, const std::string& env, const std::string& args) {
  return "env -u CI " + env + " KCAT_HISTORY=" + (dir / "history").string() +
         " KCAT_DATA_DIR=" + (test::source_dir() / "patches").string() + " " + test::kcat_binary().string() +
         " " + args + "; echo KCAT-EXIT=$?; sleep 120";
}

const char* kAuthor = " --author \"Tester <t@example.com>\"";

}  // namespace

TEST(ChatPty, PromptHelpHistoryAndTwoCtrlCLeave) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  Tmux t(session_command(dir));
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("kcat>")) << t.screen();
  t.keys({"/help", "Enter"});
  ASSERT_TRUE(t.wait_for("/quit")) << t.screen();
  EXPECT_NE(t.screen().find("/migrate"), std::string::npos);
  // Line editing: type, go to the start of the line, insert the slash, fix a typo at the end.
  t.keys({"target ascend-310x", "C-a", "/", "End", "BSpace", "p", "Enter"});
  ASSERT_TRUE(t.wait_for("target: ascend-310p")) << t.screen();
  t.keys({"C-c"});
  ASSERT_TRUE(t.wait_for("press Ctrl-C again")) << t.screen();
  t.keys({"C-c"});
  EXPECT_TRUE(t.wait_gone()) << t.screen();
  // History survives the session.
  auto history = test::read(dir / "history");
  // libedit stores spaces as \040.
  EXPECT_NE(history.find("/target\\040ascend-310p"), std::string::npos) << history;
}

TEST(ChatPty, QuitLeaves) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  Tmux t(session_command(dir));
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("kcat>")) << t.screen();
  t.keys({"/quit", "Enter"});
  EXPECT_TRUE(t.wait_gone()) << t.screen();
}

// Issue 16: `/<Tab>` offers the slash commands (not the filesystem root); a path is completed
// only after a command that takes one; /target completes the target names.
TEST(ChatPty, TabCompletesSlashCommands) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  test::write(dir / "only-here.txt", "x");
  Tmux t("cd " + dir.path().string() + " && " + session_command(dir));
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("kcat>")) << t.screen();
  t.keys({"/st", "Tab"});
  ASSERT_TRUE(t.wait_for("kcat> /status")) << t.screen();
  t.keys({"C-u", "/", "Tab", "Tab"});
  ASSERT_TRUE(t.wait_for("/migrate")) << t.screen();
  auto screen = t.screen();
  EXPECT_NE(screen.find("/quit"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("bin/"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("proc/"), std::string::npos) << screen;
  t.keys({"C-u", "/target ascend-3", "Tab"});
  EXPECT_TRUE(t.wait_for("/target ascend-310p")) << t.screen();
  // A path after /scan, nothing after /status.
  t.keys({"C-u", "/scan only-h", "Tab"});
  EXPECT_TRUE(t.wait_for("/scan only-here.txt")) << t.screen();
  t.keys({"C-u", "/status only-h", "Tab"});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(t.screen().find("/status only-here.txt"), std::string::npos) << t.screen();
  t.keys({"C-u", "/quit", "Enter"});
  EXPECT_TRUE(t.wait_gone()) << t.screen();
}

// Issue 16: steps show as they start and finish on a terminal; with --ci, or through a pipe,
// only the final output.
TEST(ChatPty, MigrateShowsStepsAsTheyHappenOnlyOnATerminal) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  basic_repo(dir);
  {
    Tmux t(on_terminal(dir, "NO_COLOR=1", "migrate " + (dir / "repo").string() + kAuthor), 160, 120);
    ASSERT_TRUE(t.started());
    ASSERT_TRUE(t.wait_for("KCAT-EXIT=", 1200)) << t.screen();
    auto screen = t.screen();
    EXPECT_NE(screen.find("  migrate: run "), std::string::npos) << screen;
    EXPECT_NE(screen.find(": applying "), std::string::npos) << screen;
    EXPECT_NE(screen.find(": committed "), std::string::npos) << screen;
    // Progress first, then the summary.
    EXPECT_LT(screen.find(": committed "), screen.find("kcat migrate: ascend-a2")) << screen;
  }
  test::TempDir again;
  basic_repo(again);
  {
    Tmux t(on_terminal(again, "NO_COLOR=1", "--ci migrate " + (again / "repo").string() + kAuthor), 160, 120);
    ASSERT_TRUE(t.started());
    ASSERT_TRUE(t.wait_for("KCAT-EXIT=", 1200)) << t.screen();
    auto screen = t.screen();
    EXPECT_EQ(screen.find(": committed "), std::string::npos) << screen;
    EXPECT_NE(screen.find("kcat migrate: ascend-a2"), std::string::npos) << screen;
  }
  test::TempDir piped;
  basic_repo(piped);
  auto r = test::kcat({"migrate", (piped / "repo").string(), "--author", "Tester <t@example.com>"});
  EXPECT_EQ(r.err.find(": committed "), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("kcat migrate: ascend-a2"), std::string::npos) << r.out;
}

// Issue 16: the approval diff is coloured like `git add -p` on a terminal and goes through
// $PAGER when it is longer than the screen; the question follows it.
TEST(ChatPty, ApprovalDiffColouredAndPaged) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  basic_repo(dir);
  auto paged = dir / "paged";
  Tmux t(on_terminal(dir, "-u NO_COLOR PAGER=\"cat >> " + paged.string() + "\"",
                     "migrate -i " + (dir / "repo").string() + kAuthor),
         120, 8);
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("[y]es / [n]o", 1200)) << t.screen();
  auto text = test::read(paged);
  EXPECT_NE(text.find("\x1b[36m@@ "), std::string::npos) << text;
  EXPECT_NE(text.find("\x1b[32m+"), std::string::npos) << text;
  t.keys({"a", "Enter"});
  EXPECT_TRUE(t.wait_for("KCAT-EXIT=", 1200)) << t.screen();
}

// Issue 16: /report renders the report for the terminal: aligned columns, no Markdown pipes.
TEST(ChatPty, ReportRenderedForTheTerminal) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  basic_repo(dir);
  auto r = test::kcat({"migrate", (dir / "repo").string(), "--author", "Tester <t@example.com>"});
  ASSERT_LE(r.exit_code, 1) << r.err;
  Tmux t(on_terminal(dir, "NO_COLOR=1", "report -C " + (dir / "repo").string()), 100, 120);
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("KCAT-EXIT=0", 600)) << t.screen();
  auto screen = t.screen();
  EXPECT_NE(screen.find("kcat migration report"), std::string::npos) << screen;
  EXPECT_NE(screen.find("───"), std::string::npos) << screen;
  EXPECT_EQ(screen.find("|---"), std::string::npos) << screen;
  EXPECT_EQ(screen.find(" | "), std::string::npos) << screen;
  // Through a pipe: the Markdown itself.
  auto piped = test::kcat({"report", "-C", (dir / "repo").string()});
  EXPECT_NE(piped.out.find("|---"), std::string::npos) << piped.out;
}

// Issue 16: at 60 and 80 columns the totals table was cut at the terminal's edge with its numbers.
// On a narrow terminal it is stacked: each total on the line of its header, whole.
TEST(ChatPty, ReportOnANarrowTerminalCutsNoNumber) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  basic_repo(dir);
  auto r = test::kcat({"migrate", (dir / "repo").string(), "--author", "Tester <t@example.com>"});
  ASSERT_LE(r.exit_code, 1) << r.err;
  for (int width : {60, 80}) {
    // Tall enough that the whole report stays on the screen.
    Tmux t(on_terminal(dir, "NO_COLOR=1", "report -C " + (dir / "repo").string()), width, 400);
    ASSERT_TRUE(t.started());
    ASSERT_TRUE(t.wait_for("KCAT-EXIT=0", 600)) << t.screen();
    auto screen = t.screen();
    // The basic fixture: 17 found, 16 fixed by codemod, 1 left for an LLM, 1 blocking.
    for (auto* total : {"found  +17", "fixed by codemod  +16", "left for an LLM  +1", "blocking left  +1"}) {
      EXPECT_TRUE(std::regex_search(screen, std::regex(std::string("\n") + total + "\n")))
          << total << " at " << width << " columns:\n"
          << screen;
    }
  }
}

// Issue 16: with an LLM, each tool call of the agent is one labelled line as it happens, and a
// retry says why it waits; the scripted server stands in for the endpoint.
TEST(ChatPty, AnLlmRunShowsEachToolCallAndEachRetryAsItHappens) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  test::write(dir / "repo" / "ops.py",
              "import torch\nimport cupy as cp\n\n\ndef double(x):\n    return cp.asarray(x) * 2\n");
  test::git_init_commit(dir / "repo");
  auto busy = test::reply_status(503, "overloaded");
  busy.headers["Retry-After"] = "1";
  test::FakeLlm fake(
      {busy, test::reply_tool_call("kb_lookup", R"({"name": "cupy"})"),
       test::reply_tool_call(
           "edit_file",
           R"({"path": "ops.py", "search": "import cupy as cp\n", "replace": "import numpy as cp\n", "why": "cupy is CUDA-only"})"),
       test::reply_tool_call("finish_step", R"({"status": "done", "summary": "cupy -> numpy"})")});
  auto env = "NO_COLOR=1 KCAT_LLM_BASE_URL=" + fake.base_url() +
             " KCAT_LLM_MODEL=fake KCAT_LLM_API_KEY=sk-pty HOME=" + dir.path().string();
  Tmux t(on_terminal(dir, env, "migrate " + (dir / "repo").string() + kAuthor), 160, 120);
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("KCAT-EXIT=", 1200)) << t.screen();
  auto screen = t.screen();
  EXPECT_NE(screen.find("KCAT-EXIT=0"), std::string::npos) << screen;
  EXPECT_NE(screen.find("  agent: 1 step(s) with fake"), std::string::npos) << screen;
  EXPECT_NE(screen.find("  LLM: try 1 failed ("), std::string::npos) << screen;
  EXPECT_NE(screen.find("waiting 1"), std::string::npos) << screen;
  EXPECT_NE(screen.find("  tool kb_lookup"), std::string::npos) << screen;
  EXPECT_NE(screen.find("  tool edit_file ops.py -> "), std::string::npos) << screen;
  EXPECT_NE(screen.find(": done: cupy -> numpy"), std::string::npos) << screen;
  // In that order, before the summary.
  EXPECT_LT(screen.find("  LLM: try 1 failed"), screen.find("  tool kb_lookup")) << screen;
  EXPECT_LT(screen.find("  tool kb_lookup"), screen.find("  tool edit_file")) << screen;
  EXPECT_LT(screen.find("  tool edit_file"), screen.find("kcat migrate: ascend-a2")) << screen;
  EXPECT_EQ(screen.find("sk-pty"), std::string::npos) << screen;
}

// Issue 16: the model's streamed words are one text, and what follows them starts a line of its own:
// the question before a command (it used to run on after the prose: "the tests.Run `touch ran`"),
// the tool line saying the person refused it, and the outcome.
TEST(ChatPty, StreamedProseThenARefusedCommandEachOnALineOfItsOwn) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  test::write(dir / "repo" / "ops.py", "import torch\nimport cupy as cp\n");
  test::git_init_commit(dir / "repo");
  test::FakeLlm fake(
      {test::stream_text({"Let me run ", "the tests."}),
       test::reply_tool_call("run_command", R"({"command": "touch ran"})"),
       test::reply_tool_call("finish_step", R"({"status": "needs-person", "summary": "not run"})")});
  auto env = "NO_COLOR=1 KCAT_LLM_BASE_URL=" + fake.base_url() +
             " KCAT_LLM_MODEL=fake KCAT_LLM_API_KEY=sk-pty HOME=" + dir.path().string();
  Tmux t(on_terminal(dir, env, "chat " + (dir / "repo").string()), 160, 60);
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("kcat>", 400)) << t.screen();
  t.keys({"run the tests", "Enter"});
  ASSERT_TRUE(t.wait_for("Run `touch ran`", 400)) << t.screen();
  t.keys({"n", "Enter"});
  ASSERT_TRUE(t.wait_for("needs-person: not run", 400)) << t.screen();
  auto screen = t.screen();
  EXPECT_NE(screen.find("Let me run the tests.\n"), std::string::npos) << screen;
  EXPECT_NE(screen.find("\nRun `touch ran` in"), std::string::npos) << screen;
  EXPECT_NE(screen.find("\n  tool run_command touch ran -> refused: touch ran: the person declined it\n"),
            std::string::npos)
      << screen;
  EXPECT_LT(screen.find("Run `touch ran`"), screen.find("  tool run_command")) << screen;
  EXPECT_FALSE(fs::exists(dir / "repo" / "ran")) << "the refused command ran";
  t.keys({"/quit", "Enter"});
}

// Issue 16: `kcat bench` was silent while it ran: each run is a line as it ends, the rest still
// running.
TEST(ChatPty, BenchShowsEachRunAsItEnds) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  test::TempDir dir;
  Tmux t(on_terminal(dir, "NO_COLOR=1",
                     "bench --no-doctor --warmup 1 --runs 3 --unit tok/s --metric \"throughput: ([0-9.]+)\" "
                     "--cmd \"sleep 1; echo throughput: 100\""),
         160, 50);
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("bench run 1: 100 tok/s", 600)) << t.screen();
  auto during = t.screen();
  EXPECT_NE(during.find("bench warm-up: 100 tok/s"), std::string::npos) << during;
  EXPECT_EQ(during.find("bench run 3:"), std::string::npos) << during;  // still running
  EXPECT_EQ(during.find("KCAT-EXIT="), std::string::npos) << during;
  ASSERT_TRUE(t.wait_for("KCAT-EXIT=0", 600)) << t.screen();
  EXPECT_NE(t.screen().find("bench run 3: 100 tok/s"), std::string::npos) << t.screen();
}

// Issue 16: the summary cut lines at 90 characters mid-word, also into a file. On a terminal a line
// is cut at its width with …; through a pipe it stays whole.
TEST(ChatPty, TheSummaryIsCutAtTheTerminalsWidthOnlyOnATerminal) {
  KCAT_NEED_PROGRAM(test::run({"tmux", "-V"}).exit_code == 0,
                    "tmux is not installed (tools/install.sh --test installs it)");
  const std::string title = "Port device API (torch.cuda, device strings, environment variables) by codemod";
  test::TempDir dir;
  basic_repo(dir);
  Tmux t(on_terminal(dir, "NO_COLOR=1", "--ci migrate " + (dir / "repo").string() + kAuthor), 80, 60);
  ASSERT_TRUE(t.started());
  ASSERT_TRUE(t.wait_for("KCAT-EXIT=", 1200)) << t.screen();
  auto screen = t.screen();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(screen, m, std::regex("\\n(  device-api-1 +codemod +done [^\\n]*)\\n")))
      << screen;
  EXPECT_TRUE(m[1].str().ends_with("…")) << m[1];
  EXPECT_EQ(screen.find(title), std::string::npos) << screen;
  test::TempDir piped;
  basic_repo(piped);
  auto r = test::kcat({"migrate", (piped / "repo").string(), "--author", "Tester <t@example.com>"});
  EXPECT_NE(r.out.find(title + "\n"), std::string::npos) << r.out;
}

}  // namespace kcat
