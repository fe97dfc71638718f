// The agent's tools, confined to the repository.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "kcat/agent/agent.h"
#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/glob.h"
#include "kcat/exec/process.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/fused_ops.h"
#include "kcat/patch/edit.h"
#include "kcat/scan/scanner.h"
#include "lines.h"

namespace kcat::agent {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kMaxReadLines = 400;
constexpr size_t kMaxToolOutput = 12000;  // characters returned to the model per call
constexpr uintmax_t kMaxFile = 2u << 20;

json object(std::string description, json properties, std::vector<std::string> required) {
  return {{"type", "object"},
          {"description", std::move(description)},
          {"properties", std::move(properties)},
          {"required", std::move(required)}};
}

std::string cap(std::string s, size_t n = kMaxToolOutput) {
  if (s.size() <= n) return s;
  return s.substr(0, n) + fmt::format("\n… ({} more characters cut)", s.size() - n);
}

std::string tail(const std::string& s, size_t n) { return s.size() <= n ? s : "…" + s.substr(s.size() - n); }

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
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

}  // namespace

std::vector<llm::ToolSpec> tool_specs() {
  using nlohmann::json;
  json path = {{"type", "string"}, {"description", "repository-relative path, '/'-separated"}};
  return {
      {"list_files", "List repository files under a directory (default: the whole repository).",
       object("", {{"path", path}, {"glob", {{"type", "string"}, {"description", "e.g. **/*.py"}}}}, {})},
      {"read_file", "Read a file's lines (numbered), optionally a range. At most 400 lines per call.",
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
       "and committed, or refused with the reason.",
       object("",
              {{"path", path},
               {"search", {{"type", "string"}}},
               {"replace", {{"type", "string"}}},
               {"why", {{"type", "string"}, {"description", "one line for the commit message"}}}},
              {"path", "search", "replace"})},
      {"run_command",
       "Run a shell command in the repository (policy: approved by the person, or listed in kcat.toml).",
       object("", {{"command", {{"type", "string"}}}}, {"command"})},
      {"run_bench", "Run the configured benchmark command once and return its output.",
       object("", json::object(), {})},
      {"finish_step",
       "End this step: status 'done' when its findings are resolved, or 'needs-person' with what a person "
       "must do.",
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
  finished_ = false;
  finish_status_.clear();
  finish_summary_.clear();
  last_failed_edit_.clear();
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
  if (end == 0 || end > lines.size()) end = lines.size();
  if (end >= start && end - start + 1 > kMaxReadLines) end = start + kMaxReadLines - 1;
  std::string out = numbered_lines(lines, start, end);
  if (end < lines.size()) out += fmt::format("… {} lines in all\n", lines.size());
  return cap(out.empty() ? "(empty)" : out);
}

std::string Workspace::search(const json& a) {
  RE2 re(a.at("pattern").get<std::string>());
  if (!re.ok()) return "error: bad RE2 pattern: " + re.error();
  auto glob = a.value("glob", "");
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
      out += fmt::format("{}:{}: {}\n", f, i + 1, lines[i].substr(0, 200));
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
  std::string out;
  if (const auto* api = kb_.api(name)) {
    out += fmt::format("API {}: verdict {}, equivalent {}; {} (source: {})\n", api->name,
                       to_string(api->verdict), api->equivalent.empty() ? "none" : api->equivalent, api->note,
                       api->source);
  }
  if (const auto* env = kb_.env(name)) {
    out += fmt::format("environment variable {}: {} {}; {} (source: {})\n", env->name, env->action,
                       env->ascend, env->note, env->source);
  }
  static const auto fused = kb::load_fused_ops(kb::default_data_dir());
  for (const auto& op : fused) {
    bool hit = op.id.find(name) != std::string::npos;
    for (const auto& r : op.replaces) hit |= r.find(name) != std::string::npos;
    if (!hit) continue;
    out += fmt::format(
        "fused operator torch_npu.{}: {}\n  replaces: {}\n  layouts: {}\n  notes: {}\n  source: {}\n", op.id,
        op.signature, fmt::join(op.replaces, "; "), fmt::join(op.layouts, ", "), op.notes, op.source);
  }
  for (const auto& r : rules_.rules) {
    if (r.id == name)
      out += fmt::format("rule {}: {} — {} (source: {})\n", r.id, r.message, r.action, r.source);
  }
  return out.empty() ? "nothing in the knowledge base for '" + name + "'" : cap(out);
}

std::string Workspace::edit_file(const json& a) {
  const auto rel = a.at("path").get<std::string>();
  const auto search = a.at("search").get<std::string>();
  const auto replace = a.at("replace").get<std::string>();
  const auto why = a.value("why", "");
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
  std::error_code ec;
  bool exists = fs::exists(*path, ec);
  patch::Patch p;
  std::string before;
  if (search.empty()) {
    if (exists)
      return fail("error: an empty search creates a new file, but " + file +
                  " exists; give the text to replace");
    p.edits.push_back({file, 0, 0, replace, "llm"});
  } else {
    if (!exists) return fail("error: no such file: " + file);
    before = kcat::read_file(*path);
    auto pos = before.find(search);
    if (pos == std::string::npos) {
      return fail("error: the search text does not occur in " + file +
                  " (it must match exactly, whitespace included). The nearest text is:\n" +
                  nearest(before, search));
    }
    size_t count = 0;
    for (auto q = pos; q != std::string::npos; q = before.find(search, q + 1)) ++count;
    if (count > 1) {
      return fail(
          fmt::format("error: the search text occurs {} times in {}; include more surrounding lines so it "
                      "matches once",
                      count, file));
    }
    p.edits.push_back(
        {file, static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + search.size()), replace, "llm"});
  }
  if (o_.policy.interactive && o_.policy.approve_edit) {
    std::string after = search.empty() ? replace : patch::apply_edits(before, p.edits);
    if (!o_.policy.approve_edit(file, patch::unified_diff(file, before, after))) {
      return "declined: the person did not accept this edit; ask what they want or finish the step as "
             "needs-person";
    }
  }
  patch::GateOptions g;
  g.message = fmt::format("kcat agent: {}{}\n\nStep {} ({}), proposed by the LLM and verified by kcat.",
                          task_.title, why.empty() ? "" : ": " + why, task_.id, o_.target);
  g.trailers = {{"Kcat-Step", task_.id}, {"Kcat-Agent", "llm"}};
  if (!o_.run_id.empty()) g.trailers["Kcat-Run"] = o_.run_id;
  g.author_name = o_.author_name;
  g.author_email = o_.author_email;
  g.hook = o_.hook;
  auto out = patch::apply_verify_commit(repo_, p, g);
  if (!out.committed) {
    return fail("error: the edit was refused and rolled back: " +
                (out.reason.empty() ? fmt::format("{}", fmt::join(out.failed_checks, ", ")) : out.reason));
  }
  commits_.push_back(out.commit);
  if (o_.record)
    o_.record("agent-edit", {{"step", task_.id}, {"file", file}, {"commit", out.commit}, {"diff", out.diff}});
  return fmt::format("ok: committed {} (checks: {})\n{}", out.commit.substr(0, 10),
                     fmt::join(out.checks, ", "), cap(out.diff, 4000));
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
