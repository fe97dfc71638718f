// The processes a run owns (see tree.h): /proc read by hand, kcat as the child subreaper.
#include "tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

namespace kcat::exec::tree {

namespace {

struct Proc {
  pid_t pid = 0, ppid = 0, pgid = 0;
  char state = '?';
};

// Reads a small /proc file whole ("" when it cannot).
std::string slurp(const std::string& path, size_t limit = 1 << 20) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string s;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<size_t>(n));
    if (s.size() >= limit) break;
  }
  ::close(fd);
  return s;
}

// "pid (comm) S ppid pgrp ...": comm may hold spaces and parentheses, so read after the last ')'.
std::optional<Proc> stat_of(pid_t pid) {
  auto s = slurp("/proc/" + std::to_string(pid) + "/stat", 4096);
  auto close = s.rfind(')');
  if (close == std::string::npos || close + 2 >= s.size()) return std::nullopt;
  Proc p;
  p.pid = pid;
  p.state = s[close + 2];
  char* end = nullptr;
  const char* q = s.c_str() + close + 3;
  p.ppid = static_cast<pid_t>(std::strtol(q, &end, 10));
  p.pgid = static_cast<pid_t>(std::strtol(end, &end, 10));
  return p;
}

std::vector<Proc> all_processes() {
  std::vector<Proc> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    if (auto p = stat_of(static_cast<pid_t>(pid))) out.push_back(*p);
  }
  ::closedir(d);
  return out;
}

// kcat's own children, from each of its threads' children file.
std::vector<pid_t> own_children() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    auto s = slurp(std::string("/proc/self/task/") + e->d_name + "/children", 1 << 16);
    const char* p = s.c_str();
    char* end = nullptr;
    for (long v = std::strtol(p, &end, 10); end != p; v = std::strtol(p, &end, 10)) {
      out.push_back(static_cast<pid_t>(v));
      p = end;
    }
  }
  ::closedir(d);
  return out;
}

// The value of kTokenVariable in a process's environment ("" when absent or unreadable).
std::string token_of(pid_t pid) {
  auto env = slurp("/proc/" + std::to_string(pid) + "/environ");
  const std::string key = std::string(kTokenVariable) + "=";
  for (size_t pos = 0; pos < env.size();) {
    size_t nul = env.find('\0', pos);
    if (nul == std::string::npos) nul = env.size();
    if (env.compare(pos, key.size(), key) == 0) return env.substr(pos + key.size(), nul - pos - key.size());
    pos = nul + 1;
  }
  return {};
}

std::string own_prefix() { return std::to_string(::getpid()) + "-"; }

std::mutex g_mu;
std::set<std::string> g_active;  // tokens of runs in progress
std::set<pid_t> g_direct;        // the direct children of runs in progress: only their run reaps them
std::set<pid_t> g_leftovers;     // adopted children of finished runs, not yet reaped

}  // namespace

void become_subreaper() {
  static std::once_flag once;
  std::call_once(once, [] { ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); });
}

std::string new_token() {
  static std::atomic<unsigned long> n{0};
  return own_prefix() + std::to_string(++n);
}

bool alive(pid_t pid) {
  auto p = stat_of(pid);
  return p && p->state != 'Z' && p->state != 'X';
}

std::set<pid_t> members(pid_t root, pid_t pgid, const std::string& token, const std::set<pid_t>& known) {
  const pid_t self = ::getpid();
  auto procs = all_processes();
  std::map<pid_t, std::vector<pid_t>> children;
  std::set<pid_t> found;
  std::vector<pid_t> todo;
  auto add = [&](pid_t p) {
    if (p > 1 && p != self && found.insert(p).second) todo.push_back(p);
  };
  for (const auto& p : procs) {
    children[p.ppid].push_back(p.pid);
    if (p.state == 'Z' || p.state == 'X') continue;
    if (p.pid == root || known.count(p.pid) || (pgid > 0 && p.pgid == pgid))
      add(p.pid);
    else if (p.ppid == self && !token.empty() && token_of(p.pid) == token)
      add(p.pid);
  }
  while (!todo.empty()) {
    pid_t p = todo.back();
    todo.pop_back();
    for (pid_t c : children[p]) add(c);
  }
  // Zombies among the descendants need no signal; they are reaped below or by their parent.
  std::set<pid_t> live;
  for (pid_t p : found) {
    if (alive(p)) live.insert(p);
  }
  return live;
}

std::set<pid_t> reap(const std::set<pid_t>& pids) {
  std::set<pid_t> rest;
  for (pid_t p : pids) {
    int status = 0;
    pid_t r = ::waitpid(p, &status, WNOHANG);
    if (r == p) continue;                                 // an adopted one, reaped
    if (r < 0 && errno == ECHILD && !alive(p)) continue;  // gone, or someone else's zombie
    if (r == 0 || alive(p) || ::kill(p, 0) == 0) rest.insert(p);
  }
  return rest;
}

int begin_run(const std::string& token, const std::function<int(pid_t&)>& spawn, pid_t& pid) {
  std::lock_guard lock(g_mu);
  pid = 0;
  int rc = spawn(pid);
  if (rc != 0) return rc;
  g_active.insert(token);
  g_direct.insert(pid);
  return 0;
}

void end_run(const std::string& token, pid_t pid) {
  std::lock_guard lock(g_mu);
  g_active.erase(token);
  g_direct.erase(pid);
}

void collect_leftovers() {
  std::lock_guard lock(g_mu);
  const auto prefix = own_prefix();
  for (pid_t c : own_children()) {
    if (g_leftovers.count(c) || g_direct.count(c)) continue;
    auto t = token_of(c);
    if (t.compare(0, prefix.size(), prefix) == 0 && !g_active.count(t)) {
      g_leftovers.insert(c);
    } else if (t.empty() && !alive(c)) {
      // A zombie's environment cannot be read: an adopted process that died before a collection
      // saw it alive (it was mid-exec, or killed at once) would stay a zombie for good. Every
      // child kcat starts is a run's direct child (excluded above) or an adopted one, so it is
      // reaped here; a run's own stopped members it reaps itself, and tolerate this (ECHILD).
      int status = 0;
      ::waitpid(c, &status, WNOHANG);
    }
  }
  for (auto it = g_leftovers.begin(); it != g_leftovers.end();) {
    int status = 0;
    pid_t r = ::waitpid(*it, &status, WNOHANG);
    it = r == 0 ? std::next(it) : g_leftovers.erase(it);
  }
}

}  // namespace kcat::exec::tree
