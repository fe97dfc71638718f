#pragma once
// File helpers shared by every layer: whole-file reads, atomic writes, confinement to a root.
#include <time.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kcat {

namespace fs = std::filesystem;

// Reads the whole file; throws Error(Io) naming the path on failure. A FIFO with no writer reads
// as empty instead of waiting for one.
std::string read_file(const fs::path& path);

// Writes `bytes` to a temp file beside `path`, fsyncs it, gives it `path`'s mode (or `mode` when
// the file is new; missing parent directories are created), and renames it over `path`: a reader, or a crash,
// sees old or new, never half.
void write_file_atomic(const fs::path& path, std::string_view bytes, std::optional<fs::perms> mode = {});

// Writes a command's output file (`-o FILE`): a regular file (or a new one) is replaced
// atomically, through a symlink if `path` is one (the link stays); anything else (a device such
// as /dev/null, a pipe, /dev/stdout) is opened and written to, never replaced. A FIFO with no
// reader is an error, not a wait.
void write_output(const fs::path& path, std::string_view bytes);

// The canonical form of `path` if it lies inside `root` (both resolved through symlinks), else
// nullopt. Used to refuse paths that escape a repository by "..", absolute paths or symlinks.
std::optional<fs::path> resolve_within(const fs::path& root, const fs::path& path);

// The regular files below `under` (default: `root`), relative to `root` with '/' separators,
// sorted. Symlinks are neither followed nor listed; dot directories (.git, .kcat, ...),
// __pycache__ and node_modules are not entered. For tools that look at a repository's own files
// (recipes, the agent, route detection); the scanner has its own walk with .gitignore.
std::vector<std::string> repository_files(const fs::path& root, const fs::path& under = {});

// `path` relative to `root` with '/' separators.
std::string relative_slash(const fs::path& root, const fs::path& path);

// A stat time (st_mtim, st_ctim) in nanoseconds since 1970.
inline int64_t nanoseconds(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// The running program's size and mtime ("13612848:1764640000123456789"): part of the key of
// every cache kcat keeps, so a cache another build of kcat wrote is not trusted.
std::string self_stamp();

// The user's base folder of one kind, as the XDG Base Directory specification says: the
// variable ($XDG_CONFIG_HOME, $XDG_STATE_HOME, $XDG_CACHE_HOME) when it holds an absolute path
// (a relative one is ignored, as the specification requires), else its default under $HOME
// (~/.config, ~/.local/state, ~/.cache). Empty when neither is set.
enum class UserDir { Config, State, Cache };
fs::path user_dir(UserDir kind);

// Where kcat keeps its caches for the repository at `root`: under the user's cache directory
// ($XDG_CACHE_HOME/kcat, else ~/.cache/kcat), one folder per repository, named after it and a
// hash of its real path (model-3f2a...). Never inside the repository: a scan only reads what it
// scans, a read-only checkout included. Empty when neither variable is set (no cache then).
fs::path user_cache_dir(const fs::path& root);

}  // namespace kcat
