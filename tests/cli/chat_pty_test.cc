// The interactive session through a real pseudo-terminal: tmux runs kcat, send-keys types, and
// capture-pane reads the screen.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "testsupport/support.h"

namespace kcat {

namespace {

namespace fs = std::filesystem;

class Tmux {
 public:
  explicit Tmux(const std::string& command) : name_("kcat-test-" + std::to_string(::getpid())) {
    quiet({"kill-session", "-t", name_});
    // The tmux server outlives its client; with our pipes as its stdio we would wait forever.
    started_ = quiet({"new-session", "-d", "-s", name_, "-x", "160", "-y", "50", command}) == 0;
  }
  ~Tmux() { quiet({"kill-session", "-t", name_}); }
  static int quiet(const std::vector<std::string>& args) {
    std::string cmd = "exec tmux";
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
    auto file = fs::temp_directory_path() / (name_ + ".screen");
    test::sh("exec tmux capture-pane -p -t '" + name_ + "' </dev/null >'" + file.string() + "' 2>/dev/null");
    std::error_code ec;
    auto text = fs::exists(file, ec) ? test::read(file) : std::string();
    fs::remove(file, ec);
    return text;
  }
  bool alive() { return quiet({"has-session", "-t", name_}) == 0; }
  // Polls the screen until `text` shows (up to ~10 s: a slow machine, not a timing assertion).
  bool wait_for(const std::string& text) {
    for (int i = 0; i < 200; ++i) {
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
  std::string name_;
  bool started_ = false;
};

std::string session_command(const test::TempDir& dir) {
  return "env NO_COLOR=1 KCAT_HISTORY=" + (dir / "history").string() +
         " KCAT_DATA_DIR=" + (test::source_dir() / "patches").string() + " " + test::kcat_binary().string() +
         " chat " + dir.path().string();
}

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

}  // namespace kcat
