// The agent's tools, confined to the repository.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <set>

#include "honesty.h"
#include "kcat/agent/agent.h"
#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/glob.h"
#include "kcat/core/text.h"
#include "kcat/core/utf8.h"
#include "kcat/exec/process.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/fused_ops.h"
#include "kcat/patch/edit.h"
#include "kcat/patch/semantic_check.h"
#include "kcat/scan/scanner.h"
#include "lines.h"
#include "matching.h"

namespace kcat::agent {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxReadLines = 400;
constexpr size_t kMaxToolOutput = 12000;  // bytes returned to the model per call, cut between characters
constexpr size_t kMaxGlob = 256;          // a glob from the model
constexpr uintmax_t kMaxFile = 2u << 20;

json object(std::string description, json properties, std::vector<std::string> required) {
  return {{"type", "object"},
          {"description", std::move(description)},
          {"properties", std::move(properties)},
          {"required", std::move(required)}};
}

// At most n bytes of s, cut on a character boundary (a cut through a UTF-8 sequence would make the
// next request fail to serialize).
std::string cap(std::string s, size_t n = kMaxToolOutput) {
  if (s.size() <= n) return s;
  auto keep = utf8_floor(s, n);
  return s.substr(0, keep) + fmt::format("\n… ({} more bytes cut)", s.size() - keep);
}

// The last n bytes of s or fewer, starting on a character boundary.
std::string tail(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t from = s.size() - n;
  while (from < s.size() && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80) ++from;
  return "…" + s.substr(from);
}

std::string last_part(const std::string& s) {
  auto dot = s.find_last_of('.');
  return dot == std::string::npos ? s : s.substr(dot + 1);
}

// Edit distance <= 2 (a typo, a plural), on short names.
bool near(const std::string& a, const std::string& b) {
  if (a.size() > 64 || b.size() > 64 || (a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > 2)
    return false;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()] <= 2;
}

// `under` itself when it is a file, else the repository's files below it.
std::vector<std::string> walk(const fs::path& root, const fs::path& under) {
  std::error_code ec;
  if (fs::is_regular_file(under, ec)) return {relative_slash(root, under)};
  return repository_files(root, under);
}

// The lines of `text` most like `search`: the window with the most equal (trimmed) lines, then the
// longest common prefix of its first line. Shown to the model when its search text does not match.
std::string nearest(const std::string& text, const std::string& search) {
  auto lines = split_lines(text);
  auto want = split_lines(search);
  if (lines.empty() || want.empty()) return "(the file is empty)";
  size_t best = 0;
  double best_score = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    double score = 0;
    for (size_t j = 0; j < want.size() && i + j < lines.size(); ++j) {
      auto a = trim(lines[i + j]), b = trim(want[j]);
      if (a == b && !a.empty()) {
        score += 2;
      } else {
        size_t k = 0;
        while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
        score += b.empty() ? 0 : static_cast<double>(k) / static_cast<double>(b.size());
      }
    }
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return numbered_lines(lines, best + 1, best + want.size() + 2);
}

std::string key(const Finding& f) { return f.file + "\x1f" + f.rule_id + "\x1f" + f.matched; }

// The findings of `planned` as they are `now`: the same file, rule and matched text (an earlier
// step's edits moved their lines, or fixed them: those are gone).
std::vector<Finding> still_there(const std::vector<Finding>& planned, const std::vector<Finding>& now) {
  std::map<std::string, int> want;
  for (const auto& f : planned) ++want[key(f)];
  std::vector<Finding> out;
  for (const auto& f : now) {
    auto it = want.find(key(f));
    if (it == want.end() || it->second == 0) continue;
    --it->second;
    out.push_back(f);
  }
  return out;
}

// The findings of `a` not in `b` (as a multiset of file, rule and matched text).
std::vector<const Finding*> minus(const std::vector<Finding>& a, const std::vector<Finding>& b) {
  std::map<std::string, int> have;
  for (const auto& f : b) ++have[key(f)];
  std::vector<const Finding*> out;
  for (const auto& f : a) {
    auto it = have.find(key(f));
    if (it != have.end() && it->second > 0) {
      --it->second;
      continue;
    }
    out.push_back(&f);
  }
  return out;
}

std::string finding_list(const std::vector<const Finding*>& fs, size_t max = 10) {
  std::string out;
  for (size_t i = 0; i < fs.size() && i < max; ++i)
    out += fmt::format("  - {}:{} {} [{}]\n", fs[i]->file, fs[i]->span.start.line, fs[i]->rule_id,
                       fs[i]->matched);
  if (fs.size() > max) out += fmt::format("  … {} more\n", fs.size() - max);
  return out;
}

}  // namespace

std::vector<llm::ToolSpec> tool_specs(const Options& o) {
  bool commands =
      o.policy.interactive ? static_cast<bool>(o.policy.approve_command) : !o.policy.allowed_commands.empty();
  std::vector<llm::ToolSpec> out;
  for (auto& t : tool_specs()) {
    if (t.name == "run_command" && !commands) continue;
    if (t.name == "run_bench" && o.bench_command.empty()) continue;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<llm::ToolSpec> tool_specs() {
  using nlohmann::json;
  json path = {{"type", "string"}, {"description", "repository-relative path, '/'-separated"}};
  return {
      {"list_files", "List repository files under a directory (default: the whole repository).",
       object("", {{"path", path}, {"glob", {{"type", "string"}, {"description", "e.g. **/*.py"}}}}, {})},
      {"read_file",
       "Read a file's lines (numbered \"   12| text\"; the numbers are not part of the file), optionally a "
       "range. Whole lines, up to 400 or about 12,000 bytes per call; it says at which line to continue.",
       object("",
              {{"path", path}, {"start_line", {{"type", "integer"}}}, {"end_line", {{"type", "integer"}}}},
              {"path"})},
      {"search", "Search the repository with an RE2 regular expression; returns file:line: text.",
       object("", {{"pattern", {{"type", "string"}}}, {"glob", {{"type", "string"}}}}, {"pattern"})},
      {"scan", "kcat's CUDA scan of a file or directory: the findings still there.",
       object("", {{"path", path}}, {})},
      {"kb_lookup",
       "The knowledge base: the Ascend equivalent of a CUDA API, environment variable or operator, with its "
       "source.",
       object("",
              {{"name",
                {{"type", "string"}, {"description", "e.g. torch.cuda.Stream, NCCL_DEBUG, flash_attn"}}}},
              {"name"})},
      {"edit_file",
       "Replace one exact occurrence of `search` with `replace` in a file (search must match exactly once, "
       "whitespace included; an empty search creates a new file). The change is verified (re-parse, compile) "
       "and committed, or refused with the reason. Deleting or commenting out flagged code is refused "
       "unless removal_reason says why removing it is the right port.",
       object("",
              {{"path", path},
               {"search", {{"type", "string"}}},
               {"replace", {{"type", "string"}}},
               {"why", {{"type", "string"}, {"description", "one line for the commit message"}}},
               {"removal_reason",
                {{"type", "string"},
                 {"description", "only when the edit removes a flagged line: why the NPU port drops it"}}}},
              {"path", "search", "replace"})},
      {"run_command",
       "Run a shell command in the repository (policy: approved by the person, or listed in kcat.toml).",
       object("", {{"command", {{"type", "string"}}}}, {"command"})},
      {"run_bench", "Run the configured benchmark command once and return its output.",
       object("", json::object(), {})},
      {"dispute_finding",
       "Say a finding of this step is wrong (a false positive: the code does not depend on CUDA there), with "
       "the reason. A disputed finding no longer keeps the step from being done; the reason goes in the "
       "report for a person to review.",
       object(
           "",
           {{"path", path},
            {"line", {{"type", "integer"}, {"description", "the finding's line"}}},
            {"rule_id", {{"type", "string"}}},
            {"reason", {{"type", "string"}, {"description", "why the code is right as it is on the NPU"}}}},
           {"path", "line", "rule_id", "reason"})},
      {"finish_step",
       "End this step: status 'done' when each finding is fixed, guarded (try/except ImportError) or "
       "disputed, or 'needs-person' with what a person must do.",
       object("",
              {{"status", {{"type", "string"}, {"enum", {"done", "needs-person"}}}},
               {"summary", {{"type", "string"}}}},
              {"status", "summary"})},
  };
}

Workspace::Workspace(patch::GitRepo& repo, const kb::RuleSet& rules, const kb::KnowledgeBase& kb,
                     const Options& o)
    : repo_(repo), root_(fs::canonical(repo.workdir())), rules_(rules), kb_(kb), o_(o) {}

void Workspace::reset_step(const Task& task) {
  task_ = task;
  reopen();
  step_before_.clear();
  disputes_.clear();
  step_base_ = repo_.head_id();
  step_files_.clear();
  for (const auto& f : task.findings) step_files_.insert(f.file);
  seen_ = scan_files(step_files_);
  if (task_.check_findings) task_.findings = still_there(task.findings, seen_);
}

void Workspace::reopen() {
  finished_ = false;
  finish_status_.clear();
  finish_summary_.clear();
  last_failed_edit_.clear();
}

std::vector<Finding> Workspace::current_findings(const std::string& file) {
  return current_findings(std::set<std::string>{file});
}

// One scan of `files` (the step's files all at once), the findings of the task's rules in them.
std::vector<Finding> Workspace::current_findings(const std::set<std::string>& files) {
  std::set<std::string> ids;
  for (const auto& f : task_.findings) ids.insert(f.rule_id);
  if (ids.empty()) return {};
  std::vector<Finding> out;
  for (auto& f : scan_files(files)) {
    if (ids.count(f.rule_id)) out.push_back(std::move(f));
  }
  return out;
}

std::vector<Finding> Workspace::scan_files(const std::set<std::string>& files) {
  scan::ScanOptions so;
  for (const auto& file : files) {
    std::error_code ec;
    if (fs::is_regular_file(root_ / file, ec)) so.only_files.push_back(file);
  }
  if (so.only_files.empty()) return {};
  so.root = root_;
  so.use_cache = false;
  auto r = scan::scan(so, rules_);
  kb_.annotate(r.findings);
  std::vector<Finding> out;
  for (auto& f : r.findings) {
    if (files.count(f.file)) out.push_back(std::move(f));
  }
  return out;
}

std::string Workspace::feedback() {
  auto now = scan_files(step_files_);
  auto fixed = minus(seen_, now), added = minus(now, seen_);
  std::set<std::string> ids;
  for (const auto& f : task_.findings) ids.insert(f.rule_id);
  std::vector<const Finding*> left;
  for (const auto& f : now) {
    if (ids.count(f.rule_id)) left.push_back(&f);
  }
  std::string out = fmt::format(
      "kcat re-scanned the step's files: {} finding(s) fixed by this edit, {} new, {} of this step still "
      "there.\n",
      fixed.size(), added.size(), left.size());
  if (!fixed.empty()) out += "fixed:\n" + finding_list(fixed);
  if (!added.empty()) out += "new:\n" + finding_list(added);
  if (!left.empty()) out += "still there:\n" + finding_list(left);
  seen_ = std::move(now);
  if (auto c = check(); !c.text.empty()) out += c.text;
  return out;
}

const CheckRun& Workspace::run_check(const std::string& commit) {
  if (auto it = check_runs_.find(commit); it != check_runs_.end()) return it->second;
  exec::Command c;
  c.shell = o_.check_command;
  c.cwd = root_;
  c.timeout = o_.policy.command_timeout;
  auto r = exec::local_runner()->run(c);
  CheckRun run;
  run.ok = r.ok();
  run.kind = r.ok()             ? "passed"
             : r.timed_out      ? "timed out"
             : r.cancelled      ? "cancelled"
             : !r.error.empty() ? "could not start"
             : r.signal != 0    ? fmt::format("killed by signal {}", r.signal)
                                : fmt::format("exit {}", r.exit_code);
  // Kept long enough to compare failure lines (a pytest summary of many FAILED lines); the model
  // is shown the last 3000 bytes.
  run.output = tail(r.out + r.err, 256 * 1024);
  // The run at the step's base is the reference the step's edits are judged against.
  if (o_.record)
    o_.record(commit == step_base_ && step_before_.empty() ? "agent-check-base" : "agent-check",
              {{"step", task_.id},
               {"command", o_.check_command},
               {"head", commit},
               {"passed", r.ok()},
               {"result", r.describe()}});
  return check_runs_[commit] = std::move(run);
}

Workspace::Check Workspace::check() {
  if (o_.check_command.empty()) return {};
  auto head = repo_.head_id();
  const auto& now = run_check(head);
  auto base = check_runs_.find(step_base_);
  auto v = judge_check(now, base == check_runs_.end() ? nullptr : &base->second);
  Check c;
  c.passed = !v.counts;
  c.note = v.note;
  c.text = fmt::format("The check `{}` {} ({}).\n{}", o_.check_command, now.ok ? "passed" : "FAILED",
                       now.kind, v.text);
  if (!now.ok) c.text += "--- output (tail)\n" + tail(now.output, 3000) + "\n";
  return c;
}

namespace {

// What a step's edits broke: names left used but never bound, imports of missing modules. `before`:
// each edited file's bytes before the step.
std::vector<std::string> broken(const fs::path& root, const std::map<std::string, std::string>& before) {
  std::vector<std::string> out;
  for (const auto& [file, old] : before) {
    std::string now;
    try {
      now = kcat::read_file(root / file);
    } catch (const Error&) {
      continue;
    }
    if (auto why = patch::names_check(root, file, old, now)) out.push_back(*why);
  }
  return out;
}

}  // namespace

std::vector<std::string> Workspace::sites_left() {
  std::vector<std::string> out;
  if (!task_.check_findings) return out;
  std::set<std::string> files;
  for (const auto& f : task_.findings) files.insert(f.file);
  const auto all_left = current_findings(files);
  for (const auto& file : files) {
    std::string bytes;
    bool read = false;
    for (const auto& f : all_left) {
      if (f.file != file) continue;
      if (!read) {
        read = true;
        try {
          bytes = kcat::read_file(root_ / file);
        } catch (const Error&) {
        }
      }
      bool disputed = std::any_of(disputes_.begin(), disputes_.end(), [&](const Dispute& d) {
        return d.file == f.file && d.rule_id == f.rule_id && d.matched == f.matched;
      });
      if (disputed || environment_finding(f) || guarded_finding(f.file, bytes, f)) continue;
      out.push_back(fmt::format("{}:{} {} [{}]", f.file, f.span.start.line, f.rule_id, f.matched));
    }
  }
  return out;
}

std::vector<std::string> Workspace::left() {
  auto out = sites_left();
  if (!task_.check_findings) return out;
  for (auto& why : broken(root_, step_before_)) out.push_back("broken: " + why);
  return out;
}

std::string Workspace::unfinished() {
  std::string out;
  auto sites = sites_left();
  if (!sites.empty())
    out += fmt::format("kcat re-scanned the step's files; these findings remain:\n- {}\n",
                       fmt::join(sites, "\n- "));
  for (const auto& why : broken(root_, step_before_)) out += "The step's edits broke code: " + why + "\n";
  if (auto c = check(); !c.passed)
    out += "The repository's check must pass before the step is done. " + c.text;
  if (!out.empty())
    out +=
        "Resolve them (port the code, guard an optional import with try/except ImportError, or "
        "dispute_finding with the reason when a finding is wrong), or finish as needs-person with the "
        "reason.";
  return out;
}

std::vector<std::string> Workspace::edited_files() const {
  std::vector<std::string> out;
  for (const auto& [file, _] : step_before_) out.push_back(file);
  return out;
}

std::vector<std::string> Workspace::disputes() const {
  std::vector<std::string> out;
  for (const auto& d : disputes_)
    out.push_back(fmt::format("{}:{} {}: {}", d.file, d.line, d.rule_id, d.reason));
  return out;
}

std::vector<std::string> Workspace::take_commits() {
  auto out = std::move(commits_);
  commits_.clear();
  return out;
}

std::optional<fs::path> Workspace::confined(const std::string& path, std::string& error) const {
  fs::path p(path.empty() ? "." : path);
  if (p.is_absolute()) {
    error = "error: absolute paths are refused; give a path relative to the repository root";
    return std::nullopt;
  }
  for (const auto& part : p) {
    if (part == "..") {
      error = "error: '..' is refused: paths stay inside the repository";
      return std::nullopt;
    }
    if (part == ".git") {
      error = "error: .git is not part of the work tree; it is refused";
      return std::nullopt;
    }
  }
  auto full = resolve_within(root_, p);
  if (!full) {
    error = "error: " + path + " resolves outside the repository (a symlink?); refused";
    return std::nullopt;
  }
  return full;
}

// Why the agent may not write `file` (repository-relative, resolved), or "" when it may: what the
// agent writes must never become configuration or commands that kcat runs.
std::string Workspace::kcat_owned(const std::string& file) const {
  fs::path p(file);
  for (const auto& part : p) {
    if (part == ".kcat") return "it is kcat's own state (.kcat/)";
  }
  if (p.filename() == "kcat.toml") return "kcat.toml is kcat's configuration; a person edits it";
  if (std::find(o_.protected_files.begin(), o_.protected_files.end(), file) != o_.protected_files.end())
    return "a command in kcat.toml ([hooks], [build], [bench], [agent]) runs it; a person edits it";
  return "";
}

std::string Workspace::call(const std::string& name, const std::string& arguments) {
  // Repository bytes that are not UTF-8 (Latin-1 comments, binary strings) reach the model as U+FFFD:
  // every result serializes into the next request.
  return cap(to_valid_utf8(dispatch(name, arguments)));
}

std::string Workspace::dispatch(const std::string& name, const std::string& arguments) {
  json a;
  try {
    a = arguments.empty() ? json::object() : json::parse(arguments);
  } catch (const json::exception& e) {
    return fmt::format("error: the arguments of {} are not valid JSON ({}); send a JSON object", name,
                       e.what());
  }
  if (!a.is_object()) return "error: the arguments must be a JSON object";
  try {
    if (name == "list_files") return list_files(a);
    if (name == "read_file") return read_file(a);
    if (name == "search") return search(a);
    if (name == "scan") return scan(a);
    if (name == "kb_lookup") return kb_lookup(a);
    if (name == "edit_file") return edit_file(a);
    if (name == "run_command") return run_command(a);
    if (name == "run_bench") return run_bench(a);
    if (name == "finish_step") return finish_step(a);
    if (name == "dispute_finding") return dispute_finding(a);
  } catch (const json::exception& e) {
    return fmt::format("error: bad arguments for {}: {}", name, e.what());
  } catch (const Error& e) {
    return fmt::format("error: {}{}", e.what(), e.where().empty() ? "" : " (" + e.where() + ")");
  }
  std::string names;
  for (const auto& t : tool_specs()) names += (names.empty() ? "" : ", ") + t.name;
  return "error: unknown tool '" + name + "'; the tools are: " + names;
}

std::string Workspace::list_files(const json& a) {
  std::string err;
  auto dir = confined(a.value("path", "."), err);
  if (!dir) return err;
  auto glob = a.value("glob", "");
  if (glob.size() > kMaxGlob) return fmt::format("error: the glob is longer than {} characters", kMaxGlob);
  std::string out;
  size_t n = 0, shown = 0;
  for (const auto& f : walk(root_, *dir)) {
    if (!glob.empty() && !path_glob_match(glob, f)) continue;
    ++n;
    if (shown < 500) {
      out += f + "\n";
      ++shown;
    }
  }
  if (n > shown) out += fmt::format("… {} more files (narrow with path or glob)\n", n - shown);
  return out.empty() ? "(no files)" : out;
}

std::string Workspace::read_file(const json& a) {
  std::string err;
  auto path = confined(a.at("path").get<std::string>(), err);
  if (!path) return err;
  std::error_code ec;
  if (!fs::is_regular_file(*path, ec)) return "error: no such file: " + a.at("path").get<std::string>();
  if (fs::file_size(*path, ec) > kMaxFile) return "error: the file is larger than 2 MiB; search it instead";
  auto bytes = kcat::read_file(*path);
  if (bytes.find('\0') != std::string::npos) return "error: a binary file";
  auto lines = split_lines(bytes);
  size_t start = static_cast<size_t>(std::max<int64_t>(1, a.value("start_line", int64_t{1})));
  size_t end = static_cast<size_t>(std::max<int64_t>(0, a.value("end_line", int64_t{0})));
  if (lines.empty()) return "(empty)";
  if (start > lines.size())
    return fmt::format("error: the file has {} lines; start_line {} is past its end", lines.size(), start);
  if (end == 0 || end > lines.size()) end = lines.size();
  if (end >= start && end - start + 1 > kMaxReadLines) end = start + kMaxReadLines - 1;
  // Whole lines only, up to the byte budget: a view never ends mid-line, and says where to go on.
  constexpr size_t kBudget = kMaxToolOutput - 200, kMaxLine = 2000;
  std::string out;
  size_t last = start - 1;
  for (size_t i = start; i <= end; ++i) {
    const auto& line = lines[i - 1];
    std::string row = line.size() <= kMaxLine
                          ? fmt::format("{:>5}| {}\n", i, line)
                          : fmt::format("{:>5}| {}… (line cut: {} bytes)\n", i,
                                        line.substr(0, utf8_floor(line, kMaxLine)), line.size());
    if (i > start && out.size() + row.size() > kBudget) break;
    out += row;
    last = i;
  }
  if (last < lines.size()) {
    out +=
        fmt::format("… lines {}-{} of {} shown; continue at line {}\n", start, last, lines.size(), last + 1);
  }
  return out;
}

std::string Workspace::search(const json& a) {
  RE2 re(a.at("pattern").get<std::string>());
  if (!re.ok()) return "error: bad RE2 pattern: " + re.error();
  auto glob = a.value("glob", "");
  if (glob.size() > kMaxGlob) return fmt::format("error: the glob is longer than {} characters", kMaxGlob);
  std::string out;
  size_t hits = 0;
  for (const auto& f : walk(root_, root_)) {
    if (!glob.empty() && !path_glob_match(glob, f)) continue;
    std::error_code ec;
    if (fs::file_size(root_ / f, ec) > kMaxFile) continue;
    auto bytes = kcat::read_file(root_ / f);
    if (bytes.find('\0') != std::string::npos) continue;
    auto lines = split_lines(bytes);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!RE2::PartialMatch(lines[i], re)) continue;
      if (++hits > 100) break;
      const auto& l = lines[i];
      out +=
          fmt::format("{}:{}: {}{}\n", f, i + 1, l.substr(0, utf8_floor(l, 200)), l.size() > 200 ? "…" : "");
    }
    if (hits > 100) {
      out += "… more matches (narrow the pattern or glob)\n";
      break;
    }
  }
  return cap(out.empty() ? "(no matches)" : out);
}

std::string Workspace::scan(const json& a) {
  std::string err;
  auto rel = a.value("path", ".");
  auto path = confined(rel, err);
  if (!path) return err;
  scan::ScanOptions so;
  so.root = root_;
  std::error_code ec;
  auto rel_norm = relative_slash(root_, *path);
  if (fs::is_regular_file(*path, ec)) so.only_files = {rel_norm};
  auto r = scan::scan(so, rules_);
  kb_.annotate(r.findings);
  std::string out;
  for (const auto& f : r.findings) {
    if (rel_norm != "." && !rel_norm.empty() && f.file.rfind(rel_norm, 0) != 0) continue;
    out += fmt::format("{}:{}:{} {} [{}] {} — {}\n", f.file, f.span.start.line, f.span.start.column,
                       f.rule_id, f.matched, f.message, f.action);
  }
  return cap(out.empty() ? "no findings" : out);
}

std::string Workspace::kb_lookup(const json& a) {
  auto name = trim(a.at("name").get<std::string>());
  if (name.empty()) return "error: give a name";
  if (name.size() > 200) return "error: give a name (an API, a variable, an operator or a rule id)";
  auto hits = lookup(name, true);
  if (hits.empty()) return "nothing in the knowledge base for '" + name + "'";
  std::string out;
  if (hits[0].first > 1) out += "no exact entry for '" + name + "'; the nearest:\n";
  for (size_t i = 0; i < hits.size() && i < 8; ++i) out += hits[i].second;
  if (hits.size() > 8) out += fmt::format("… {} more (be more specific)\n", hits.size() - 8);
  return out;
}

std::string Workspace::knowledge() {
  std::set<std::string> names, shown;
  std::string out;
  for (const auto& f : task_.findings) {
    if (f.matched.empty() || f.matched.size() > 200 || !names.insert(f.matched).second || names.size() > 6)
      continue;
    // The entries for the finding's own name (exact, any case, or its last dotted part), not near ones.
    for (const auto& [rank, text] : lookup(f.matched, false)) {
      if (rank > 3 || !shown.insert(text).second) continue;
      if (out.size() + text.size() > 4000) return out + "… (kb_lookup for more)\n";
      out += text;
    }
  }
  return out;
}

std::vector<std::pair<int, std::string>> Workspace::lookup(const std::string& name, bool with_rules) const {
  // Tolerant: exact, then case-insensitive, then the last dotted part ("flash_attn_func" finds
  // flash_attn.flash_attn_func), then a prefix either way, then a near spelling (edit distance <= 2).
  const auto want = lower(name), want_last = last_part(want);
  auto rank = [&](const std::string& key) -> int {
    auto k = lower(key);
    if (key == name) return 0;
    if (k == want) return 1;
    if (last_part(k) == want_last && want_last.size() >= 4) return 2;
    if ((k.rfind(want, 0) == 0 || want.rfind(k, 0) == 0) && std::min(k.size(), want.size()) >= 4) return 3;
    if (want_last.size() >= 5 && near(last_part(k), want_last)) return 4;
    return -1;
  };
  std::vector<std::pair<int, std::string>> hits;
  for (const auto& [key, api] : kb_.apis()) {
    int r = rank(key);
    if (r < 0) continue;
    hits.push_back(
        {r, fmt::format("API {}: verdict {}, equivalent {}; {}{} (source: {})\n", api.name,
                        to_string(api.verdict), api.equivalent.empty() ? "none" : api.equivalent, api.note,
                        api.behaviour.empty() ? "" : "; on the NPU: " + api.behaviour, api.source)});
  }
  for (const auto& [key, env] : kb_.envs()) {
    int r = rank(key);
    if (r < 0) continue;
    hits.push_back({r, fmt::format("environment variable {}: {} {}; {} (source: {})\n", env.name, env.action,
                                   env.ascend, env.note, env.source)});
  }
  static const auto fused = kb::load_fused_ops(kb::default_data_dir());
  for (const auto& op : fused) {
    int r = rank(op.id);
    if (r < 0) r = rank("torch_npu." + op.id);
    for (const auto& rep : op.replaces) {
      int rr = rank(rep.substr(0, rep.find(' ')));
      if (rr >= 0 && (r < 0 || rr < r)) r = rr;
      if (r < 0 && lower(rep).find(want) != std::string::npos && want.size() >= 4) r = 3;
    }
    if (r < 0) continue;
    std::string mapping;
    for (const auto& m : op.mapping) mapping += "\n    - " + m;
    hits.push_back(
        {r, fmt::format("fused operator torch_npu.{}: {}\n  replaces: {}\n  layouts: {}\n  how the "
                        "arguments map:{}\n  notes: {}\n  source: {}\n",
                        op.id, op.signature, fmt::join(op.replaces, "; "), fmt::join(op.layouts, ", "),
                        mapping.empty() ? " (none recorded)" : mapping, op.notes, op.source)});
  }
  for (const auto& r : rules_.rules) {
    int rr = with_rules ? rank(r.id) : -1;
    if (rr < 0) continue;
    hits.push_back({rr, fmt::format("rule {}: {} — {} (source: {})\n", r.id, r.message, r.action, r.source)});
  }
  std::stable_sort(hits.begin(), hits.end(), [](auto& x, auto& y) { return x.first < y.first; });
  return hits;
}

std::string Workspace::edit_file(const json& a) {
  const auto rel = a.at("path").get<std::string>();
  const auto search = a.at("search").get<std::string>();
  const auto replace = a.at("replace").get<std::string>();
  const auto why = a.value("why", "");
  const auto removal_reason = trim(a.value("removal_reason", ""));
  last_failed_edit_.clear();
  auto fail = [&](std::string msg) {
    last_failed_edit_ = rel + "\x1f" + search + "\x1f" + replace;
    return msg;
  };
  std::string err;
  auto path = confined(rel, err);
  if (!path) return fail(err);
  const auto file = relative_slash(root_, *path);
  if (auto owned = kcat_owned(file); !owned.empty()) return fail("error: " + file + " is refused: " + owned);
  if (!search.empty() && search == replace)
    return fail(
        "error: the replacement is the search text itself: the edit would change nothing. Put the new "
        "text in `replace`.");
  // `# kcat: ignore` hides a site from every scan, the done check's included: it is a person's call,
  // never the model's (a step "fixed" by a comment would be squashed as done and reported suppressed).
  if (scan::suppression_comments(replace) > scan::suppression_comments(search))
    return fail(
        "error: refused: the edit adds a `kcat: ignore` comment. Suppressions are for people; port the "
        "code, or call dispute_finding with the reason the finding is wrong.");
  std::error_code ec;
  bool exists = fs::exists(*path, ec);
  if (exists && !fs::is_regular_file(*path, ec)) return fail("error: " + file + " is not a regular file");
  patch::Patch p;
  std::string before, how;
  if (search.empty()) {
    if (exists)
      return fail("error: an empty search creates a new file, but " + file +
                  " exists; give the text to replace");
    p.edits.push_back({file, 0, 0, replace, "llm"});
  } else {
    if (!exists) return fail("error: no such file: " + file);
    if (fs::file_size(*path, ec) > kMaxFile)
      return fail("error: " + file + " is larger than 2 MiB; kcat does not edit it");
    before = kcat::read_file(*path);
    auto loc = locate_edit(before, search, replace);
    if (loc.matches.empty()) {
      return fail("error: the search text does not occur in " + file +
                  " (exactly, or ignoring line endings, trailing whitespace, indentation or whitespace). The "
                  "nearest text is:\n" +
                  nearest(before, search));
    }
    if (loc.matches.size() > 1) {
      std::string at;
      for (size_t i = 0; i < loc.matches.size() && i < 20; ++i)
        at += fmt::format("{}{}", i ? ", " : "", loc.matches[i].line);
      if (loc.matches.size() > 20) at += ", …";
      return fail(
          fmt::format("error: the search text occurs {} times in {}{} (at lines {}); include more "
                      "surrounding lines so it matches once",
                      loc.matches.size(), file, loc.how.empty() ? "" : " " + loc.how, at));
    }
    const auto& m = loc.matches[0];
    how = loc.how;
    if (before.compare(m.begin, m.end - m.begin, m.replacement) == 0) {
      return fail(
          fmt::format("error: the edit changes nothing: lines {}.. of {} already read as the replacement{}",
                      m.line, file, how.empty() ? "" : " (" + how + ")"));
    }
    // Deleting or commenting out a flagged line hides the finding from the re-scan; it does not
    // port the code (issue 18 §1).
    if (task_.check_findings && removal_reason.empty()) {
      LineIndex index(before);
      std::vector<std::string> flagged;
      std::vector<const Finding*> hit;
      auto now = current_findings(file);
      for (const auto& f : now) {
        if (f.span.begin < m.begin || f.span.begin >= m.end) continue;
        flagged.push_back(std::string(index.line_text(f.span.start.line)));
        hit.push_back(&f);
      }
      auto search_now = before.substr(m.begin, m.end - m.begin);
      if (auto removed = hides_flagged_line(search_now, m.replacement, flagged); !removed.empty()) {
        const Finding* f = hit[0];
        for (auto* h : hit) {
          if (trim(std::string(index.line_text(h->span.start.line))) == removed) f = h;
        }
        return fail(fmt::format(
            "error: refused: the edit only deletes or comments out flagged code ({}:{} {} [{}]: {}). That "
            "hides "
            "the finding from kcat's re-scan; it does not port the code, and what used it breaks. Port it "
            "(kb_lookup {} gives the Ascend equivalent). If dropping it is the right port, repeat the edit "
            "with "
            "removal_reason saying why; if the finding is wrong, call dispute_finding.",
            file, f->span.start.line, f->rule_id, f->matched, removed, f->matched));
      }
    }
    p.edits.push_back(
        {file, static_cast<uint32_t>(m.begin), static_cast<uint32_t>(m.end), m.replacement, "llm"});
  }
  if (o_.policy.interactive && o_.policy.approve_edit) {
    std::string after = search.empty() ? replace : patch::apply_edits(before, p.edits);
    if (!o_.policy.approve_edit(file, patch::unified_diff(file, before, after))) {
      return "declined: the person did not accept this edit; ask what they want or finish the step as "
             "needs-person";
    }
  }
  if (step_files_.insert(file).second) {
    // A file the step's findings did not name: its findings before this edit, for the delta.
    for (auto& f : scan_files(std::set<std::string>{file})) seen_.push_back(std::move(f));
  }
  // The check's run before the step's first edit: what the step's edits are judged against.
  if (!o_.check_command.empty() && step_before_.empty() && repo_.head_id() == step_base_)
    run_check(step_base_);
  patch::GateOptions g;
  g.message = fmt::format("kcat agent: {}{}\n\nStep {} ({}), proposed by the LLM and verified by kcat.{}",
                          task_.title, why.empty() ? "" : ": " + why, task_.id, o_.target,
                          removal_reason.empty() ? "" : "\nRemoved flagged code: " + removal_reason);
  g.trailers = {{"Kcat-Step", task_.id}, {"Kcat-Agent", "llm"}};
  if (!o_.run_id.empty()) g.trailers["Kcat-Run"] = o_.run_id;
  if (!o_.upstream.empty()) g.trailers["Kcat-Upstream"] = o_.upstream;
  g.author_name = o_.author_name;
  g.author_email = o_.author_email;
  g.hook = o_.hook;
  g.names = patch::NameCheck::Warn;
  auto out = patch::apply_verify_commit(repo_, p, g);
  if (!out.committed) {
    if (out.failed_checks.empty() && out.reason.empty())
      return fail("error: the edit changes nothing in " + file + "; nothing was committed");
    return fail("error: the edit was refused and rolled back: " +
                (out.reason.empty() ? fmt::format("{}", fmt::join(out.failed_checks, ", ")) : out.reason));
  }
  step_before_.emplace(file, before);
  commits_.push_back(out.commit);
  if (o_.record) {
    json rec = {{"step", task_.id}, {"file", file}, {"commit", out.commit}, {"diff", cap(out.diff, 4000)}};
    if (!removal_reason.empty()) rec["removal_reason"] = removal_reason;
    if (!how.empty()) rec["matched"] = how;
    if (!out.warnings.empty()) rec["warnings"] = out.warnings;
    o_.record("agent-edit", rec);
  }
  std::string result =
      fmt::format("ok: committed {} (checks: {})", out.commit.substr(0, 10), fmt::join(out.checks, ", "));
  if (!how.empty()) result += "\nThe search text matched " + how + ".";
  for (const auto& w : out.warnings)
    result += "\nwarning: " + w + ". The step cannot be done while this stays: finish the port in this step.";
  return result + "\n" + cap(out.diff, 4000) + "\n" + feedback();
}

std::string Workspace::dispute_finding(const json& a) {
  std::string err;
  auto path = confined(a.at("path").get<std::string>(), err);
  if (!path) return err;
  const auto file = relative_slash(root_, *path);
  const auto line = a.at("line").get<int64_t>();
  const auto rule = trim(a.at("rule_id").get<std::string>());
  const auto reason = trim(a.at("reason").get<std::string>());
  if (reason.size() < 12)
    return "error: give the reason the finding is wrong (what in the code makes it right on the NPU)";
  // The finding as the file is now: the nearest of that rule to the given line.
  const Finding* best = nullptr;
  auto now = current_findings(file);
  for (const auto& f : now) {
    if (f.rule_id != rule) continue;
    if (!best || std::llabs(static_cast<long long>(f.span.start.line) - line) <
                     std::llabs(static_cast<long long>(best->span.start.line) - line))
      best = &f;
  }
  if (!best) {
    std::string have;
    for (const auto& f : now)
      have += fmt::format("- {}:{} {} [{}]\n", f.file, f.span.start.line, f.rule_id, f.matched);
    return fmt::format("error: {} has no finding {} of this step now{}", file, rule,
                       have.empty() ? "" : "; its findings are:\n" + have);
  }
  disputes_.push_back({file, rule, best->matched, reason, best->span.start.line});
  if (o_.record)
    o_.record("agent-dispute", {{"step", task_.id},
                                {"file", file},
                                {"line", best->span.start.line},
                                {"rule", rule},
                                {"matched", best->matched},
                                {"reason", reason}});
  return fmt::format("ok: {}:{} {} [{}] is recorded as disputed, for a person to review: {}", file,
                     best->span.start.line, rule, best->matched, reason);
}

std::string Workspace::run_command(const json& a) {
  auto command = trim(a.at("command").get<std::string>());
  bool allowed = false;
  std::string why;
  if (o_.policy.interactive) {
    allowed = o_.policy.approve_command && o_.policy.approve_command(command);
    why = "the person declined it";
  } else {
    allowed = std::find(o_.policy.allowed_commands.begin(), o_.policy.allowed_commands.end(), command) !=
              o_.policy.allowed_commands.end();
    why = o_.policy.allowed_commands.empty()
              ? "unattended runs allow no commands (kcat.toml [agent] commands lists those that may run)"
              : fmt::format("unattended runs allow only: {}", fmt::join(o_.policy.allowed_commands, " | "));
  }
  if (o_.record) o_.record("agent-command", {{"step", task_.id}, {"command", command}, {"allowed", allowed}});
  if (!allowed) return "refused: " + command + ": " + why;
  exec::Command c;
  c.shell = command;
  c.cwd = root_;
  c.timeout = o_.policy.command_timeout;
  auto r = exec::local_runner()->run(c);
  return cap(fmt::format("{}\n--- stdout (tail)\n{}\n--- stderr (tail)\n{}", r.describe(), tail(r.out, 4000),
                         tail(r.err, 4000)));
}

std::string Workspace::run_bench(const json&) {
  if (o_.bench_command.empty()) return "error: no benchmark is configured ([bench] command in kcat.toml)";
  exec::Command c;
  c.shell = o_.bench_command;
  c.cwd = root_;
  c.timeout = o_.policy.command_timeout;
  auto r = exec::local_runner()->run(c);
  if (o_.record) o_.record("agent-bench", {{"step", task_.id}, {"result", r.describe()}});
  return cap(fmt::format("{}\n{}", r.describe(), tail(r.out + r.err, 6000)));
}

std::string Workspace::finish_step(const json& a) {
  auto status = a.at("status").get<std::string>();
  if (status != "done" && status != "needs-person") return "error: status must be done or needs-person";
  finished_ = true;
  finish_status_ = status;
  finish_summary_ = a.value("summary", "");
  return "step ended: " + status;
}

}  // namespace kcat::agent
