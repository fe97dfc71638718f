#include "kcat/patch/gate.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/scan/parser.h"

namespace kcat::patch {

std::string parse_language(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  if (ext == ".py" || ext == ".pyi") return "python";
  if (ext == ".cu" || ext == ".cuh") return "cuda";
  if (ext == ".cc" || ext == ".cpp" || ext == ".cxx" || ext == ".h" || ext == ".hpp") return "cpp";
  return {};
}

namespace {

size_t syntax_errors(const std::string& language, const std::string& bytes) {
  auto tree = scan::parse(language, bytes);
  return scan::count_syntax_errors(ts_tree_root_node(tree.get()));
}

bool have_python() { return ::access("/usr/bin/python3", X_OK) == 0 || std::system("command -v python3 >/dev/null 2>&1") == 0; }

// Compiles Python sources with python3's own compile() (nothing written next to them). Returns
// the error message for each source that does not compile.
std::map<std::string, std::string> python_errors(const std::map<std::string, std::string>& sources) {
  std::map<std::string, std::string> errors;
  for (auto& [name, code] : sources) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) continue;
    if (pipe2(out, O_CLOEXEC) != 0) {
      close(in[0]);
      close(in[1]);
      continue;
    }
    pid_t pid = fork();
    if (pid == 0) {
      dup2(in[0], 0);
      dup2(out[1], 2);
      dup2(out[1], 1);
      execlp("python3", "python3", "-c",
             "import sys\nsrc=sys.stdin.buffer.read()\n"
             "try:\n compile(src, sys.argv[1], 'exec')\n"
             "except SyntaxError as e:\n print(f'{e.filename}:{e.lineno}: {e.msg}'); sys.exit(1)\n",
             name.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    const char* p = code.data();
    size_t left = code.size();
    while (left > 0) {
      ssize_t n = write(in[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
    close(in[1]);
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      errors[name] = msg;
    }
  }
  return errors;
}

}  // namespace

GateOutcome verify_files(const std::filesystem::path& root, const std::map<std::string, std::string>& before,
                         bool py_compile) {
  GateOutcome g;
  g.checks.push_back("reparse");
  std::map<std::string, std::string> py_before, py_after;
  for (auto& [file, old] : before) {
    auto now = read_file(root / file);
    g.files.push_back(file);
    auto lang = parse_language(file);
    if (lang.empty()) continue;
    size_t was = syntax_errors(lang, old), is = syntax_errors(lang, now);
    if (is > was) {
      g.failed_checks.push_back("reparse");
      g.reason = fmt::format("{}: the change adds {} syntax error(s)", file, is - was);
      return g;
    }
    if (lang == "python") {
      py_before[file] = old;
      py_after[file] = now;
    }
  }
  if (py_compile && !py_after.empty() && have_python()) {
    g.checks.push_back("py_compile");
    auto after = python_errors(py_after);
    if (!after.empty()) {
      auto was = python_errors(py_before);
      for (auto& [file, msg] : after) {
        if (was.count(file)) continue;  // it did not compile before either
        g.failed_checks.push_back("py_compile");
        g.reason = "python3 cannot compile the result: " + msg;
        return g;
      }
    }
  }
  return g;
}

GateOutcome apply_verify_commit(GitRepo& repo, const Patch& patch, const GateOptions& o) {
  auto root = repo.workdir();
  std::map<std::string, std::string> before;
  for (auto& e : patch.edits) {
    if (before.count(e.file)) continue;
    auto full = resolve_within(root, e.file);
    if (!full) throw Error(ErrorKind::Verify, "refusing to edit a path outside the repository", e.file);
    before[e.file] = read_file(*full);
  }
  auto written = apply_patch(root, patch);
  std::map<std::string, std::string> changed;
  for (auto& f : written) changed[f] = before[f];
  GateOutcome g = verify_files(root, changed, o.py_compile);
  g.files = written;
  for (auto& f : written) g.diff += unified_diff(f, before[f], read_file(root / f));
  if (!g.failed_checks.empty()) {
    // Roll back: every byte as it was.
    for (auto& [f, old] : changed) write_file_atomic(root / f, old);
    return g;
  }
  if (written.empty()) return g;
  if (o.before_commit) o.before_commit();
  g.commit = repo.commit(o.message, o.trailers, written, o.author_name, o.author_email);
  g.committed = true;
  return g;
}

}  // namespace kcat::patch
