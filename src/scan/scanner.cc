#include "kcat/scan/scanner.h"

#include <fmt/format.h>
#include <re2/re2.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/cache.h"
#include "kcat/scan/notebook.h"
#include "rules_key.h"
#include "triton_launches.h"
#include "walk.h"

namespace kcat::scan {

namespace {

namespace fs = std::filesystem;

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

// The files a scan looks at (walked, or the given ones), unsorted; what it passed over goes to skipped.
void collect(const ScanOptions& o, const fs::path& root, const fs::path& cache_dir,
             std::vector<Candidate>& files, std::vector<SkippedFile>& skipped) {
  if (o.only_files.empty() || !o.within.empty()) {
    walk_repository(root, cache_dir.empty() ? fs::path() : cache_dir / kWalkCacheFile, files, skipped);
  }
  if (!o.within.empty()) {
    auto under = [&](const std::string& rel) {
      return std::any_of(o.within.begin(), o.within.end(), [&](const std::string& w) {
        return w.empty() || w == "." || rel == w || (rel.starts_with(w) && rel[w.size()] == '/');
      });
    };
    std::erase_if(files, [&](const Candidate& c) { return !under(c.rel); });
    std::erase_if(skipped, [&](const SkippedFile& s) { return !under(s.path); });
  }
  {
    for (auto& rel : o.only_files) {
      if (std::any_of(files.begin(), files.end(), [&](const Candidate& c) { return c.rel == rel; })) continue;
      auto full = root / rel;
      if (!resolve_within(root, full)) {
        skipped.push_back({rel, "outside the repository"});
        continue;
      }
      struct stat st {};
      if (::stat(full.c_str(), &st) != 0) continue;
      std::string lang(language_of(rel));
      if (lang.empty()) {
        skipped.push_back({rel, "not a kind of file kcat scans"});
        continue;
      }
      files.push_back({rel, lang, static_cast<uint64_t>(st.st_size), nanoseconds(st.st_mtim)});
    }
  }
}

}  // namespace

fs::path repository_root_of(const fs::path& path) {
  std::error_code ec;
  auto start = fs::canonical(path);
  if (!fs::is_directory(start, ec)) start = start.parent_path();
  for (fs::path p = start;; p = p.parent_path()) {
    if (fs::exists(p / ".git", ec)) return p;
    if (!p.has_parent_path() || p.parent_path() == p) return start;
  }
}

ScanResult scan(const ScanOptions& o, const kb::RuleSet& rules) {
  auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::is_directory(o.root, ec)) {
    throw Error(ErrorKind::Usage, "not a directory", o.root.string(),
                "give the path of a repository to scan");
  }
  auto root = fs::canonical(o.root);
  ScanResult result;
  std::vector<Candidate> files;
  // The caches live in the user's cache directory, never in the scanned tree (core/fs.h).
  const fs::path cache_dir = o.use_cache ? user_cache_dir(root) : fs::path();
  const bool use_cache = !cache_dir.empty();
  collect(o, root, cache_dir, files, result.skipped);
  std::sort(files.begin(), files.end(), [](auto& a, auto& b) { return a.rel < b.rel; });
  result.files_seen = files.size();

  // Largest first: two threads then finish together, instead of one parsing a big file alone at
  // the end. The order of work does not change the result (it is sorted below).
  std::stable_sort(files.begin(), files.end(),
                   [](const Candidate& a, const Candidate& b) { return a.size > b.size; });
  Prefilter prefilter(rules);
  const std::string fingerprint = rules.fingerprint();
  // Another build of kcat may find otherwise: its cache is not trusted (self_stamp).
  ScanCache cache(cache_dir / kScanCacheFile, fingerprint + "/" + kScanCacheVersion + "/" + self_stamp());
  if (use_cache) cache.load();

  std::mutex mu;
  std::exception_ptr rule_error;  // the first worker's, rethrown after the join
  std::atomic<size_t> next{0}, parsed{0}, cached{0}, filtered{0};
  auto worker = [&] {
    PinRules pin(rules, fingerprint);
    while (true) {
      size_t i = next.fetch_add(1);
      if (i >= files.size()) return;
      auto& f = files[i];
      if (f.size > o.max_file_size) {
        std::lock_guard lock(mu);
        result.skipped.push_back(
            {f.rel, fmt::format("larger than {} bytes ({} bytes); raise --max-file-size to scan it",
                                o.max_file_size, f.size)});
        continue;
      }
      if (use_cache) {
        // Info findings are dropped below unless asked for: not decoding them is the same result.
        std::vector<Finding> hit;
        size_t syntax_errors = 0;
        if (cache.lookup(f.rel, f.size, f.mtime_ns, o.include_info, hit, syntax_errors)) {
          cached.fetch_add(1);
          std::lock_guard lock(mu);
          result.findings.insert(result.findings.end(), std::make_move_iterator(hit.begin()),
                                 std::make_move_iterator(hit.end()));
          if (syntax_errors) result.files_with_syntax_errors.push_back(f.rel);
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
      entry.hash = use_cache ? content_hash(bytes) : 0;
      if (use_cache && cache.lookup_content(f.rel, f.size, entry.hash, entry)) {
        // The same bytes under a new mtime: the findings stand, and are kept under the new one.
        entry.mtime_ns = f.mtime_ns;
        cached.fetch_add(1);
      } else if (!prefilter.may_match(f.language, bytes)) {
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
          // A rule the matchers cannot compile (a bad query or pattern: ErrorKind::Usage) is an
          // error of the run, named once, never a reason to skip each file (issue 14 §4).
          if (e.kind() == ErrorKind::Usage) {
            if (!rule_error) rule_error = std::current_exception();
            next = files.size();  // the other workers stop too
            return;
          }
          result.skipped.push_back({f.rel, e.what()});
          continue;
        }
        parsed.fetch_add(1);
        entry.syntax_errors = stats.syntax_errors;
      }
      std::lock_guard lock(mu);
      if (entry.syntax_errors) result.files_with_syntax_errors.push_back(f.rel);
      result.findings.insert(result.findings.end(), entry.findings.begin(), entry.findings.end());
      if (use_cache) cache.store(f.rel, std::move(entry));
    }
  };
  unsigned jobs = o.jobs ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
  jobs = static_cast<unsigned>(std::min<size_t>(jobs, std::max<size_t>(files.size(), 1)));
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (rule_error) std::rethrow_exception(rule_error);
  // Launches of Triton kernels defined in another module: a repository-wide view, never cached
  // per file (the kernel's file may change without the launching one changing).
  if (const auto* launch = rules.find("py.triton-launch")) {
    auto more = imported_triton_launches(root, files, *launch, o.max_file_size);
    result.findings.insert(result.findings.end(), std::make_move_iterator(more.begin()),
                           std::make_move_iterator(more.end()));
  }

  if (use_cache) cache.save();
  if (!o.include_info) {
    std::erase_if(result.findings, [](const Finding& f) { return f.severity == Severity::Info; });
  }
  {
    // Sort an index, then move each finding once: a Finding is a dozen strings, and std::sort on
    // the vector itself moves them O(n log n) times.
    std::vector<uint32_t> order(result.findings.size());
    for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return result.findings[a] < result.findings[b]; });
    std::vector<Finding> sorted;
    sorted.reserve(order.size());
    for (auto i : order) sorted.push_back(std::move(result.findings[i]));
    result.findings = std::move(sorted);
  }
  if (!o.filter.empty() || o.honour_suppressions) apply_suppressions(root, o, result);
  std::sort(result.skipped.begin(), result.skipped.end(), [](auto& a, auto& b) { return a.path < b.path; });
  std::sort(result.files_with_syntax_errors.begin(), result.files_with_syntax_errors.end());
  result.files_parsed = parsed;
  result.files_from_cache = cached;
  result.files_prefiltered_out = filtered;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace kcat::scan
