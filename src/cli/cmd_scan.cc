// kcat scan PATH: every place that ties the repository to CUDA / NVIDIA, with what to do there.
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string_view>
#include <vector>

#include "kcat/cli/command.h"
#include "kcat/cli/common.h"
#include "kcat/core/events.h"
#include "kcat/core/fs.h"
#include "kcat/kb/data_dir.h"
#include "kcat/scan/output.h"
#include "kcat/scan/scanner.h"

namespace kcat::cli {
namespace {

struct ScanCmd {
  std::string path = ".";
  std::string format = "table";
  std::string output;
  unsigned jobs = 0;
  bool no_cache = false;
  bool show_info = false;
  bool exit_zero = false;
  uint64_t max_file_size = 5ull << 20;
  std::vector<std::string> rules;
};

// The rendered output of the last warm scan, reused while nothing it depends on changed: the tree
// (scan::tree_digest), the knowledge base and rule files, the format and kcat itself. A warm scan
// then walks the tree and prints, instead of decoding, annotating and rendering every finding.
struct OutputCache {
  std::filesystem::path file;
  std::string key;
  static constexpr const char* kSeconds = "987654.25";  // stands for the time in the stored text

  // The stored file when its key matches: `body` is where the rendered text starts in it.
  std::optional<std::string> get(size_t& blocking, size_t& findings, size_t& body) const {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
    std::string bytes;
    try {
      bytes = read_file(file);
    } catch (const Error&) {
      return std::nullopt;
    }
    auto nl = bytes.find('\n');
    const std::string header = "kcat-scan-output 1 " + key;
    if (nl != header.size() || bytes.compare(0, nl, header) != 0) return std::nullopt;
    auto nl2 = bytes.find('\n', nl + 1);
    if (nl2 == std::string::npos) return std::nullopt;
    if (std::sscanf(bytes.c_str() + nl + 1, "%zu %zu", &blocking, &findings) != 2) return std::nullopt;
    body = nl2 + 1;
    return bytes;
  }

  void put(const std::string& text, size_t blocking, size_t findings) const {
    try {
      write_file_atomic(file, fmt::format("kcat-scan-output 1 {}\n{} {}\n{}", key, blocking, findings, text));
    } catch (const Error&) {
      // A read-only tree: no cache, same output.
    }
  }
};

std::string file_stamp(const std::filesystem::path& p) {
  std::error_code ec;
  auto t = std::filesystem::last_write_time(p, ec);
  auto size = std::filesystem::file_size(p, ec);
  return fmt::format("{}:{}:{}", p.string(), ec ? 0 : t.time_since_epoch().count(), ec ? 0 : size);
}

std::string render(const ScanCmd& o, const Globals& g, const scan::ScanResult& result,
                   const kb::RuleSet& rules) {
  if (o.format == "json") return scan::render_json(result);
  if (o.format == "sarif") return scan::render_sarif(result, rules, KCAT_VERSION);
  if (o.format == "markdown") return scan::render_markdown(result);
  return scan::render_table(result, o.output.empty() && g.use_color(1));
}

// Names, times and sizes of the rule files: the output cache's stand-in for the rules, so a warm
// scan does not parse them (a quarter of its work).
std::string rule_files_stamp(const ScanCmd& o) {
  auto dir = kb::default_data_dir() / "rules";
  std::vector<std::string> stamps{file_stamp(dir)};
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    stamps.push_back(file_stamp(it->path()));
  }
  std::sort(stamps.begin(), stamps.end());
  for (const auto& f : o.rules) stamps.push_back(file_stamp(f));
  return fmt::format("{}", fmt::join(stamps, " "));
}

// Prints the scan's text, or writes it to --output. `seconds`: the time to put where the text holds
// OutputCache::kSeconds (a stored rendering); printed in pieces, so a large output is not copied.
void emit(const ScanCmd& o, std::string_view text, std::optional<double> seconds) {
  std::string_view head = text, tail;
  std::string secs;
  // Only json and table print the time, after every finding: the last stand-in is the one (a
  // finding's own text could hold the same digits).
  if (seconds && (o.format == "json" || o.format == "table")) {
    if (auto pos = text.rfind(OutputCache::kSeconds); pos != std::string_view::npos) {
      head = text.substr(0, pos);
      tail = text.substr(pos + std::strlen(OutputCache::kSeconds));
      secs = fmt::format("{:.2f}", *seconds);
    }
  }
  if (o.output.empty() || o.output == "-") {
    std::cout.write(head.data(), static_cast<std::streamsize>(head.size()));
    std::cout << secs;
    std::cout.write(tail.data(), static_cast<std::streamsize>(tail.size()));
  } else {
    write_file_atomic(o.output, std::string(head) + secs + std::string(tail));
    std::cerr << "kcat: wrote " << o.format << " to " << o.output << "\n";
  }
}

int run(const ScanCmd& o, const Globals& g) {
  auto t0 = std::chrono::steady_clock::now();
  std::optional<kb::RuleSet> loaded;
  auto rules = [&]() -> const kb::RuleSet& {
    if (!loaded) loaded = load_rule_catalog(o.rules);
    return *loaded;
  };
  for (const auto& f : o.rules) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f, ec)) rules();  // says which file is missing
  }
  scan::ScanOptions so;
  so.root = o.path;
  so.jobs = o.jobs;
  so.use_cache = !o.no_cache;
  so.max_file_size = o.max_file_size;
  so.include_info = o.show_info;
  events::emit("scan-started", {{"root", o.path}});

  std::optional<OutputCache> cache;
  std::error_code dir_ec;
  if (so.use_cache && std::filesystem::is_directory(o.path, dir_ec)) {
    auto data = kb::default_data_dir();
    std::string stamp =
        fmt::format("{} {} {} {}", KCAT_VERSION, o.format, o.output.empty() && g.use_color(1), self_stamp());
    for (const char* f : {"api_map.toml", "env_map.toml"}) stamp += " " + file_stamp(data / f);
    auto root = std::filesystem::canonical(o.path);
    cache = OutputCache{
        root / ".kcat" / "cache" / "scan-output.txt",
        scan::tree_digest(so, rule_files_stamp(o)) + "-" + std::to_string(std::hash<std::string>{}(stamp))};
  }
  size_t blocking = 0, findings = 0;
  bool done = false;
  if (cache) {
    size_t body = 0;
    if (auto hit = cache->get(blocking, findings, body)) {
      std::string_view all(*hit);
      all.remove_prefix(body);
      emit(o, all, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      done = true;
    }
  }
  if (!done) {
    auto kb = load_knowledge_base();
    auto result = scan::scan(so, rules());
    kb.annotate(result.findings);
    for (auto& f : result.findings) blocking += f.severity == Severity::Blocking;
    findings = result.findings.size();
    // Stored only when this run parsed nothing: the stored text then says what a warm run says.
    // Rendered once, with the stand-in time, which emit() replaces.
    bool store = cache && result.files_parsed == 0;
    auto real = result.seconds;
    if (store) result.seconds = std::stod(OutputCache::kSeconds);
    auto text = render(o, g, result, rules());
    if (store) cache->put(text, blocking, findings);
    emit(o, text, store ? std::optional<double>(real) : std::nullopt);
  }
  events::emit("scan-finished",
               {{"findings", findings},
                {"blocking", blocking},
                {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}});
  return blocking && !o.exit_zero ? 1 : 0;
}

void setup(CLI::App& root, Globals& g) {
  auto o = std::make_shared<ScanCmd>();
  auto* cmd = root.add_subcommand("scan",
                                  "Find every place that ties a repository to CUDA / NVIDIA, with file:line "
                                  "and what to do on Ascend");
  cmd->footer(
      "Scans Python (.py, .pyi, notebooks), C++/CUDA, requirements and constraints, pyproject.toml,\n"
      "environment.yml, CMake, Dockerfiles and shell scripts; honours .gitignore; skips vendored and\n"
      "build folders, binary files and symlinks that leave the repository.\n\n"
      "Examples:\n"
      "  kcat scan .                              a table grouped by file\n"
      "  kcat scan . --format sarif -o kcat.sarif for GitHub code scanning\n"
      "  kcat scan . --format json --exit-zero    for a reporting job\n\n"
      "Exit: 0 nothing blocking, 1 blocking findings, 2 usage error.");
  cmd->add_option("path", o->path, "Repository or folder to scan (default: .)");
  cmd->add_option("-f,--format", o->format, "table, json, sarif or markdown")
      ->check(CLI::IsMember({"table", "json", "sarif", "markdown"}));
  cmd->add_option("-o,--output", o->output, "Write to FILE instead of standard output");
  cmd->add_option("-j,--jobs", o->jobs, "Parallel parsers (default: all cores)");
  cmd->add_flag("--no-cache", o->no_cache, "Parse every file again (ignore .kcat/cache)");
  cmd->add_flag("--show-info", o->show_info, "Also list mentions in comments, docstrings and messages");
  cmd->add_flag("--exit-zero", o->exit_zero, "Exit 0 even when blocking findings are found");
  cmd->add_option("--max-file-size", o->max_file_size,
                  "Skip files larger than this many bytes (default 5 MiB)");
  cmd->add_option("--rules", o->rules,
                  "Extra rule file (TOML, repeatable); a rule with a built-in id replaces it");
  cmd->callback([o, &g] { g.exit_code = run(*o, g); });
}

}  // namespace

KCAT_COMMAND(setup, 10);

}  // namespace kcat::cli
