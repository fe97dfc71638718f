#include "walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <git2.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>

#include "binary_io.h"
#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/scan/cache.h"

namespace kcat::scan {

namespace {

namespace fs = std::filesystem;

// What stat says of a path, as far as the walk cache compares it.
struct Stamp {
  std::string path;
  bool follow = false;  // stat (the target) rather than lstat (the entry itself)
  bool exists = false;
  uint32_t type = 0;  // st_mode & S_IFMT
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t size = 0;

  bool operator==(const Stamp&) const = default;
};

Stamp stamp_of(const fs::path& path, bool follow) {
  Stamp s;
  s.path = path.string();
  s.follow = follow;
  struct stat st {};
  if ((follow ? ::stat(s.path.c_str(), &st) : ::lstat(s.path.c_str(), &st)) != 0) return s;
  s.exists = true;
  s.type = st.st_mode & S_IFMT;
  s.mtime_ns = nanoseconds(st.st_mtim);
  s.ctime_ns = nanoseconds(st.st_ctim);
  s.size = s.type == S_IFDIR ? 0 : static_cast<uint64_t>(st.st_size);
  return s;
}

// Folders that hold other people's code or build output: never the project's own sources.
bool skipped_dir(const std::string& name) {
  static const std::set<std::string> names = {
      ".git",          ".hg",           ".svn",  "node_modules", "third_party", "third-party",
      "vendor",        "vendored",      "build", "dist",         ".venv",       "venv",
      "site-packages", "__pycache__",   ".kcat", ".tox",         ".nox",        ".mypy_cache",
      ".eggs",         ".pytest_cache", ".idea", ".vscode",      "3rdparty",    "externals"};
  return names.count(name) > 0 || (name.size() > 9 && name.ends_with(".egg-info"));
}

// .gitignore and .git/info/exclude through libgit2, when the root is inside a git repository.
class IgnoreRules {
 public:
  explicit IgnoreRules(const fs::path& root) {
    if (!maybe_in_repository(root)) return;
    git_libgit2_init();
    initialised_ = true;
    if (git_repository_open_ext(&repo_, root.c_str(), 0, nullptr) != 0) {
      repo_ = nullptr;
      return;
    }
    if (const char* wd = git_repository_workdir(repo_)) {
      std::error_code ec;
      auto rel = fs::weakly_canonical(root, ec).lexically_relative(fs::weakly_canonical(wd, ec));
      prefix_ = rel == "." ? "" : rel.generic_string() + "/";
    }
  }
  ~IgnoreRules() {
    if (repo_) git_repository_free(repo_);
    if (initialised_) git_libgit2_shutdown();
  }
  IgnoreRules(const IgnoreRules&) = delete;
  IgnoreRules& operator=(const IgnoreRules&) = delete;

  // Files besides the walked folders' .gitignore whose change can change what is ignored: the
  // .gitignore of the folders between the work tree and the root, info/exclude, the repository's
  // config, core.excludesFile. Asked only by the walk cache.
  std::vector<fs::path> sources(const fs::path& root) const {
    std::vector<fs::path> out;
    if (!repo_) return out;
    if (const char* wd = git_repository_workdir(repo_)) {
      std::error_code ec;
      fs::path top = fs::weakly_canonical(wd, ec);
      if (!top.has_filename()) top = top.parent_path();  // "/repo/" as libgit2 gives it
      for (fs::path p = fs::weakly_canonical(root, ec).parent_path();
           p.string().size() >= top.string().size() && p.has_relative_path(); p = p.parent_path()) {
        out.push_back(p / ".gitignore");
        if (p == top) break;
      }
    }
    for (const char* dir : {git_repository_path(repo_), git_repository_commondir(repo_)}) {
      if (!dir) continue;
      out.push_back(fs::path(dir) / "info" / "exclude");
      out.push_back(fs::path(dir) / "config");
    }
    git_config* config = nullptr;
    if (git_repository_config_snapshot(&config, repo_) == 0) {
      const char* excludes = nullptr;
      if (git_config_get_string(&excludes, config, "core.excludesFile") == 0 && excludes) {
        std::string path = excludes;
        if (path.starts_with("~/") && std::getenv("HOME"))
          path = std::string(std::getenv("HOME")) + path.substr(1);
        out.push_back(path);
      }
      git_config_free(config);
    }
    return out;
  }

  bool ignored(const std::string& rel, bool dir) const {
    if (!repo_) return false;
    int ignored = 0;
    auto path = prefix_ + rel + (dir ? "/" : "");
    if (git_ignore_path_is_ignored(&ignored, repo_, path.c_str()) != 0) return false;
    return ignored != 0;
  }

 private:
  // libgit2's init loads the TLS certificates (~10 ms, a tenth of a warm scan); a folder with
  // no repository around it needs none of that. True when libgit2 might find one: a .git, or a
  // bare repository, in the root or above it (libgit2 itself also stops at a filesystem boundary).
  static bool maybe_in_repository(const fs::path& root) {
    std::error_code ec;
    for (fs::path p = root;; p = p.parent_path()) {
      if (fs::exists(p / ".git", ec)) return true;
      if (fs::exists(p / "HEAD", ec) && fs::is_directory(p / "objects", ec) &&
          fs::is_directory(p / "refs", ec)) {
        return true;
      }
      if (!p.has_parent_path() || p.parent_path() == p) return false;
    }
  }

  git_repository* repo_ = nullptr;
  bool initialised_ = false;
  std::string prefix_;
};

// Extensionless scripts with a shell shebang are shell.
std::string sniff_shebang(const fs::path& p) {
  std::FILE* f = std::fopen(p.c_str(), "rb");
  if (!f) return {};
  char buf[64] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string_view head(buf, n);
  if (!head.starts_with("#!")) return {};
  auto line = head.substr(0, head.find('\n'));
  if (line.find("python") != std::string_view::npos) return "python";
  if (line.find("sh") != std::string_view::npos) return "shell";
  return {};
}

// The walk reads directories with openat/readdir and names files relative to their directory's
// descriptor: std::filesystem's iterator built and compared whole paths per entry, a sixth of a
// warm scan. Same decisions as before: symlinks are never followed (one that leaves the
// repository is listed), skipped and ignored folders are not entered, unreadable folders are
// passed over (permission) or listed (anything else).
class Walker {
 public:
  // `seen`: when not null, the stamps of what the walk read besides the files it keeps.
  Walker(const fs::path& root, const IgnoreRules& ignore, std::vector<Candidate>& out,
         std::vector<SkippedFile>& skipped, std::vector<Stamp>* seen)
      : root_(root), ignore_(ignore), out_(out), skipped_(skipped), seen_(seen) {}

  void run() {
    int fd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      throw Error(ErrorKind::Io, std::string("cannot read the directory: ") + std::strerror(errno),
                  root_.string(), "check the path and its permissions");
    }
    if (seen_) seen_->push_back(stamp_of(root_, false));
    dir(fd, "");
  }

 private:
  // Reads the directory open as `fd` (and closes it); `prefix` is its relative path plus '/'.
  void dir(int fd, const std::string& prefix) {
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return;
    }
    while (dirent* e = ::readdir(d)) {
      const char* name = e->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      std::string rel = prefix + name;
      unsigned char type = e->d_type;
      struct stat lst {};
      if (type == DT_UNKNOWN) {
        if (::fstatat(::dirfd(d), name, &lst, AT_SYMLINK_NOFOLLOW) != 0) continue;
        type = S_ISLNK(lst.st_mode)   ? DT_LNK
               : S_ISDIR(lst.st_mode) ? DT_DIR
               : S_ISREG(lst.st_mode) ? DT_REG
                                      : DT_UNKNOWN;
      }
      if (type == DT_LNK) {
        if (!resolve_within(root_, root_ / rel))
          skipped_.push_back({rel, "symlink points outside the repository"});
        // A link inside the repository points at something the walk reaches anyway.
        continue;
      }
      if (type == DT_DIR) {
        if (skipped_dir(name) || ignore_.ignored(rel, true)) continue;
        if (seen_) seen_->push_back(stamp_of(root_ / rel, false));
        int sub = ::openat(::dirfd(d), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (sub < 0) {
          if (errno != EACCES && errno != EPERM) {
            skipped_.push_back({rel, std::string("cannot read: ") + std::strerror(errno)});
          }
          continue;
        }
        dir(sub, rel + "/");
        continue;
      }
      if (type != DT_REG) continue;
      if (seen_ && std::strcmp(name, ".gitignore") == 0) seen_->push_back(stamp_of(root_ / rel, true));
      std::string lang(language_of(rel));
      if (lang.empty() && std::strchr(name + 1, '.') == nullptr) {
        lang = sniff_shebang(root_ / rel);
        if (seen_) seen_->push_back(stamp_of(root_ / rel, true));
      }
      if (lang.empty() || ignore_.ignored(rel, false)) continue;
      struct stat st {};
      if (::fstatat(::dirfd(d), name, &st, 0) != 0) continue;
      out_.push_back({std::move(rel), lang, static_cast<uint64_t>(st.st_size), nanoseconds(st.st_mtim)});
    }
    ::closedir(d);
  }

  const fs::path& root_;
  const IgnoreRules& ignore_;
  std::vector<Candidate>& out_;
  std::vector<SkippedFile>& skipped_;
  std::vector<Stamp>* seen_;
};

// Where libgit2 looks for a repository and for configuration outside the tree: stamped whether
// they exist or not, so that one appearing is noticed.
void outside_sources(const fs::path& root, std::vector<Stamp>& seen) {
  for (fs::path p = root;; p = p.parent_path()) {
    seen.push_back(stamp_of(p / ".git", false));
    seen.push_back(stamp_of(p / "HEAD", false));
    if (!p.has_relative_path()) break;
  }
  const char* home = std::getenv("HOME");
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  fs::path config_home = xdg && *xdg ? fs::path(xdg) : home ? fs::path(home) / ".config" : fs::path();
  if (home) seen.push_back(stamp_of(fs::path(home) / ".gitconfig", true));
  if (!config_home.empty()) {
    seen.push_back(stamp_of(config_home / "git" / "config", true));
    seen.push_back(stamp_of(config_home / "git" / "ignore", true));
  }
  seen.push_back(stamp_of("/etc/gitconfig", true));
}

// The walk cache's key: what the walk depends on that no stamp shows.
std::string walk_key(const fs::path& root) {
  std::string key = std::string("kcat-walk-2 ") + kScanCacheVersion + "\n" + root.string();
  for (const char* var : {"HOME", "XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM",
                          "GIT_CONFIG_NOSYSTEM", "GIT_CEILING_DIRECTORIES"}) {
    const char* v = std::getenv(var);
    key += std::string("\n") + var + "=" + (v ? v : "");
  }
  key += "\n" + self_stamp();  // a rebuilt kcat may walk differently (skipped folders, file kinds)
  return key;
}

constexpr char kWalkMagic[8] = {'K', 'C', 'A', 'T', 'W', 'L', 'K', '1'};

void write_stamp(Writer& w, const Stamp& s) {
  w.str(s.path);
  w.u8(s.follow);
  w.u8(s.exists);
  w.u32(s.type);
  w.u64(static_cast<uint64_t>(s.mtime_ns));
  w.u64(static_cast<uint64_t>(s.ctime_ns));
  w.u64(s.size);
}

Stamp read_stamp(Reader& r) {
  Stamp s;
  s.path = std::string(r.str());
  s.follow = r.u8() != 0;
  s.exists = r.u8() != 0;
  s.type = r.u32();
  s.mtime_ns = static_cast<int64_t>(r.u64());
  s.ctime_ns = static_cast<int64_t>(r.u64());
  s.size = r.u64();
  return s;
}

// The remembered walk when nothing it depended on changed: true with `files` (sizes and mtimes as
// they are now) and `skipped` filled.
bool replay(const fs::path& root, const fs::path& cache, const std::string& key,
            std::vector<Candidate>& files, std::vector<SkippedFile>& skipped) {
  std::error_code ec;
  if (!fs::is_regular_file(cache, ec)) return false;
  try {
    auto bytes = read_file(cache);
    Reader r(bytes);
    if (std::memcmp(r.take(sizeof kWalkMagic), kWalkMagic, sizeof kWalkMagic) != 0 || r.str() != key)
      return false;
    for (uint32_t n = r.u32(); n > 0; --n) {
      auto was = read_stamp(r);
      if (!(stamp_of(was.path, was.follow) == was)) return false;
    }
    std::vector<Candidate> out;
    uint32_t count = r.u32();
    out.reserve(count);
    for (uint32_t n = count; n > 0; --n) {
      Candidate c;
      c.rel = std::string(r.str());
      c.language = std::string(r.str());
      struct stat st {};
      if (::stat((root / c.rel).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
      c.size = static_cast<uint64_t>(st.st_size);
      c.mtime_ns = nanoseconds(st.st_mtim);
      out.push_back(std::move(c));
    }
    std::vector<SkippedFile> passed;
    for (uint32_t n = r.u32(); n > 0; --n) {
      SkippedFile s;
      s.path = std::string(r.str());
      s.reason = std::string(r.str());
      passed.push_back(std::move(s));
    }
    if (!r.done()) return false;
    files.insert(files.end(), std::make_move_iterator(out.begin()), std::make_move_iterator(out.end()));
    skipped.insert(skipped.end(), std::make_move_iterator(passed.begin()),
                   std::make_move_iterator(passed.end()));
    return true;
  } catch (const std::exception& e) {
    spdlog::debug("walk cache {}: {}; walking", cache.string(), e.what());
    return false;
  }
}

}  // namespace

bool walk_repository(const fs::path& root, const fs::path& cache, std::vector<Candidate>& files,
                     std::vector<SkippedFile>& skipped, std::chrono::nanoseconds settle) {
  std::string key = cache.empty() ? std::string() : walk_key(root);
  if (!cache.empty() && replay(root, cache, key, files, skipped)) return true;
  auto started = std::chrono::system_clock::now();
  std::vector<Stamp> seen;
  size_t first_file = files.size(), first_skipped = skipped.size();
  {
    IgnoreRules ignore(root);
    Walker(root, ignore, files, skipped, cache.empty() ? nullptr : &seen).run();
    if (cache.empty()) return false;
    for (auto& source : ignore.sources(root)) seen.push_back(stamp_of(source, true));
  }
  outside_sources(root, seen);
  // A stamp taken in the same clock tick as a change can miss a second change in that tick: what
  // changed less than `settle` ago is walked again next time rather than trusted.
  auto recent =
      std::chrono::duration_cast<std::chrono::nanoseconds>((started - settle).time_since_epoch()).count();
  for (auto& s : seen) {
    if (s.exists && (s.mtime_ns >= recent || s.ctime_ns >= recent)) return false;
  }
  Writer w;
  w.raw(kWalkMagic, sizeof kWalkMagic);
  w.str(key);
  w.u32(static_cast<uint32_t>(seen.size()));
  for (auto& s : seen) write_stamp(w, s);
  w.u32(static_cast<uint32_t>(files.size() - first_file));
  for (size_t i = first_file; i < files.size(); ++i) {
    w.str(files[i].rel);
    w.str(files[i].language);
  }
  w.u32(static_cast<uint32_t>(skipped.size() - first_skipped));
  for (size_t i = first_skipped; i < skipped.size(); ++i) {
    w.str(skipped[i].path);
    w.str(skipped[i].reason);
  }
  try {
    write_file_atomic(cache, w.bytes());
  } catch (const Error& e) {
    spdlog::debug("walk cache {}: {}", cache.string(), e.what());  // a read-only tree: walk every time
  }
  return false;
}

}  // namespace kcat::scan
