#include "kcat/scan/scanner.h"

#include <fmt/format.h>
#include <git2.h>
#include <re2/re2.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/cache.h"
#include "kcat/scan/notebook.h"

namespace kcat::scan {

namespace {

namespace fs = std::filesystem;

// Folders that hold other people's code or build output: never the project's own sources.
bool skipped_dir(const std::string& name) {
  static const std::set<std::string> names = {".git", ".hg", ".svn", "node_modules", "third_party", "third-party",
                                              "vendor", "vendored", "build", "dist", ".venv", "venv", "site-packages",
                                              "__pycache__", ".kcat", ".tox", ".nox", ".mypy_cache", ".eggs",
                                              ".pytest_cache", ".idea", ".vscode", "3rdparty", "externals"};
  return names.count(name) > 0 || (name.size() > 9 && name.ends_with(".egg-info"));
}

// .gitignore and .git/info/exclude through libgit2, when the root is inside a git repository.
class IgnoreRules {
 public:
  explicit IgnoreRules(const fs::path& root) {
    git_libgit2_init();
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
    git_libgit2_shutdown();
  }
  IgnoreRules(const IgnoreRules&) = delete;
  IgnoreRules& operator=(const IgnoreRules&) = delete;

  bool ignored(const std::string& rel, bool dir) const {
    if (!repo_) return false;
    int ignored = 0;
    auto path = prefix_ + rel + (dir ? "/" : "");
    if (git_ignore_path_is_ignored(&ignored, repo_, path.c_str()) != 0) return false;
    return ignored != 0;
  }

 private:
  git_repository* repo_ = nullptr;
  std::string prefix_;
};

struct Candidate {
  std::string rel;
  std::string language;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
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

void walk(const fs::path& root, const IgnoreRules& ignore, std::vector<Candidate>& out,
          std::vector<SkippedFile>& skipped) {
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) {
    throw Error(ErrorKind::Io, "cannot read the directory: " + ec.message(), root.string(),
                "check the path and its permissions");
  }
  for (; it != end; it.increment(ec)) {
    if (ec) {
      skipped.push_back({relative_slash(root, it->path()), "cannot read: " + ec.message()});
      ec.clear();
      continue;
    }
    const auto& entry = *it;
    auto rel = relative_slash(root, entry.path());
    auto name = entry.path().filename().string();
    if (entry.is_symlink(ec)) {
      if (!resolve_within(root, entry.path())) {
        skipped.push_back({rel, "symlink points outside the repository"});
      }
      // A link inside the repository points at something the walk reaches anyway.
      continue;
    }
    if (entry.is_directory(ec)) {
      if (skipped_dir(name) || ignore.ignored(rel, true)) it.disable_recursion_pending();
      continue;
    }
    if (!entry.is_regular_file(ec)) continue;
    auto lang = language_for(rel);
    if (lang.empty() && entry.path().extension().empty()) lang = sniff_shebang(entry.path());
    if (lang.empty() || ignore.ignored(rel, false)) continue;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) continue;
    out.push_back({rel, lang, static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
  }
}

// One RE2 alternation of every literal of the rules of a language: a file none of whose literals
// occur cannot match any of those rules and is never parsed.
class Prefilter {
 public:
  Prefilter(const kb::RuleSet& rules) {
    std::map<std::string, std::set<std::string>> literals;
    for (auto& r : rules.rules) {
      for (auto& lang : r.languages) {
        if (r.prefilter.empty()) always_.insert(lang);
        for (auto& l : r.prefilter) literals[lang].insert(l);
      }
    }
    literals["notebook"] = literals["python"];
    if (always_.count("python")) always_.insert("notebook");
    for (auto& [lang, set] : literals) {
      std::string pattern;
      for (auto& l : set) pattern += (pattern.empty() ? "" : "|") + RE2::QuoteMeta(l);
      RE2::Options opt;
      opt.set_log_errors(false);
      opt.set_max_mem(64 << 20);
      res_.emplace(lang, std::make_unique<RE2>(pattern, opt));
    }
  }
  bool may_match(const std::string& lang, std::string_view bytes) const {
    if (always_.count(lang)) return true;
    auto it = res_.find(lang);
    if (it == res_.end()) return false;
    return RE2::PartialMatch(re2::StringPiece(bytes.data(), bytes.size()), *it->second);
  }

 private:
  std::set<std::string> always_;
  std::map<std::string, std::unique_ptr<RE2>> res_;
};

}  // namespace

ScanResult scan(const ScanOptions& o, const kb::RuleSet& rules) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::is_directory(o.root, ec)) {
    throw Error(ErrorKind::Usage, "not a directory", o.root.string(), "give the path of a repository to scan");
  }
  auto root = fs::canonical(o.root);
  ScanResult result;
  std::vector<Candidate> files;
  if (o.only_files.empty()) {
    IgnoreRules ignore(root);
    walk(root, ignore, files, result.skipped);
  } else {
    for (auto& rel : o.only_files) {
      auto full = root / rel;
      if (!resolve_within(root, full)) {
        result.skipped.push_back({rel, "outside the repository"});
        continue;
      }
      struct stat st {};
      if (::stat(full.c_str(), &st) != 0) continue;
      auto lang = language_for(rel);
      if (lang.empty()) continue;
      files.push_back({rel, lang, static_cast<uint64_t>(st.st_size),
                       static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
    }
  }
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.rel < b.rel; });
  result.files_seen = files.size();

  Prefilter prefilter(rules);
  ScanCache cache(root / ".kcat" / "cache" / "scan-v1.msgpack", rules.fingerprint() + "/" + kScanCacheVersion);
  if (o.use_cache) cache.load();

  std::mutex mu;
  std::atomic<size_t> next{0}, parsed{0}, cached{0}, filtered{0};
  auto worker = [&] {
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= files.size()) return;
      auto& f = files[i];
      if (f.size > o.max_file_size) {
        std::lock_guard lock(mu);
        result.skipped.push_back({f.rel, fmt::format("larger than {} bytes ({} bytes); raise --max-file-size to scan it",
                                                     o.max_file_size, f.size)});
        continue;
      }
      if (o.use_cache) {
        if (auto hit = cache.lookup(f.rel, f.size, f.mtime_ns)) {
          cached.fetch_add(1);
          std::lock_guard lock(mu);
          result.findings.insert(result.findings.end(), hit->findings.begin(), hit->findings.end());
          if (hit->syntax_errors) result.files_with_syntax_errors.push_back(f.rel);
          continue;
        }
      }
      std::string bytes;
      try {
        bytes = read_file(root / f.rel);
      } catch (const Error& e) {
        std::lock_guard lock(mu);
        result.skipped.push_back({f.rel, std::string("cannot read: ") + e.what()});
        continue;
      }
      if (looks_binary(bytes) && f.language != "notebook") {
        std::lock_guard lock(mu);
        result.skipped.push_back({f.rel, "binary file (NUL bytes)"});
        continue;
      }
      CacheEntry entry;
      entry.size = f.size;
      entry.mtime_ns = f.mtime_ns;
      if (!prefilter.may_match(f.language, bytes)) {
        filtered.fetch_add(1);
      } else {
        AnalyzeStats stats;
        try {
          if (f.language == "notebook") {
            entry.findings = analyze_notebook(f.rel, bytes, rules, &stats);
          } else {
            SourceFile src(f.rel, f.language, std::move(bytes));
            entry.findings = analyze(src, rules, &stats);
          }
        } catch (const Error& e) {
          std::lock_guard lock(mu);
          result.skipped.push_back({f.rel, e.what()});
          continue;
        }
        parsed.fetch_add(1);
        entry.syntax_errors = stats.syntax_errors;
      }
      std::lock_guard lock(mu);
      if (entry.syntax_errors) result.files_with_syntax_errors.push_back(f.rel);
      result.findings.insert(result.findings.end(), entry.findings.begin(), entry.findings.end());
      if (o.use_cache) cache.store(f.rel, std::move(entry));
    }
  };
  unsigned jobs = o.jobs ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = static_cast<unsigned>(std::min<size_t>(jobs, std::max<size_t>(files.size(), 1)));
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();

  if (o.use_cache) cache.save();
  if (!o.include_info) {
    std::erase_if(result.findings, [](const Finding& f) { return f.severity == Severity::Info; });
  }
  std::sort(result.findings.begin(), result.findings.end());
  std::sort(result.skipped.begin(), result.skipped.end(), [](auto& a, auto& b) { return a.path < b.path; });
  std::sort(result.files_with_syntax_errors.begin(), result.files_with_syntax_errors.end());
  result.files_parsed = parsed;
  result.files_from_cache = cached;
  result.files_prefiltered_out = filtered;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace kcat::scan
