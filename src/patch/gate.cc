#include "kcat/patch/gate.h"
#include "kcat/core/json.h"

#include <set>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/exec/process.h"
#include "kcat/patch/semantic_check.h"
#include "kcat/scan/parser.h"
#include "kcat/scan/scanner.h"

namespace kcat::patch {

std::string parse_language(const std::string& path) {
  // The scanner's one table: a file the scanner reads as code is re-checked as that code.
  auto lang = scan::language_of(path);
  if (lang == "python" || lang == "cuda" || lang == "cpp" || lang == "notebook") return std::string(lang);
  return {};
}

namespace {

size_t syntax_errors(const std::string& language, const std::string& bytes) {
  auto tree = scan::parse(language, bytes);
  return scan::count_syntax_errors(ts_tree_root_node(tree.get()));
}

bool have_python() { return exec::find_program("python3").has_value(); }

// Compiles Python sources with python3's own compile() (nothing is written next to them), all in
// one python3 process: sources go in as JSON on stdin, failures come back as JSON on stdout.
std::map<std::string, std::string> python_errors(const std::map<std::string, std::string>& sources) {
  std::map<std::string, std::string> errors;
  if (sources.empty()) return errors;
  nlohmann::json in_json = nlohmann::json::object();
  for (auto& [name, code] : sources) in_json[name] = code;
  exec::Command c;
  c.argv = {"python3", "-c",
            "import sys, json\n"
            "srcs = json.load(sys.stdin)\nbad = {}\n"
            "for name, code in srcs.items():\n"
            "    try:\n        compile(code, name, 'exec')\n"
            "    except (SyntaxError, ValueError) as e:\n"
            "        bad[name] = f'{name}:{getattr(e, \"lineno\", 0)}: {getattr(e, \"msg\", str(e))}'\n"
            "json.dump(bad, sys.stdout)\n"};
  c.input = exec::Input::data;
  c.input_data = json_text(in_json);
  c.output_cap = size_t{64} << 20;  // the reply is JSON: whole or useless
  c.timeout = std::chrono::minutes(5);
  auto o = exec::run_local(c);
  if (!o.ok()) return errors;  // python3 missing, crashed or hung: no verdict rather than a false one
  try {
    // Keep the parsed value alive: a temporary inside a range-for expression dies before the loop.
    auto parsed = nlohmann::json::parse(o.out);
    for (auto& [name, msg] : parsed.items()) errors[name] = msg.get<std::string>();
  } catch (const nlohmann::json::exception&) {
    // not the JSON it should print: no verdict either
  }
  return errors;
}

// The files of a patch kcat must not edit, as a refusal; nullopt when there are none.
std::optional<GateOutcome> out_of_scope(const GitRepo& repo,
                                        const std::map<std::string, std::vector<Edit>>& by_file,
                                        const std::string& within) {
  auto submodules = repo.submodule_paths();
  std::string list;
  for (auto& [file, edits] : by_file) {
    if (auto why = not_editable(repo, file, within, submodules)) {
      list += (list.empty() ? "" : ", ") + file + " (" + *why + ")";
    }
  }
  if (list.empty()) return std::nullopt;
  GateOutcome g;
  g.failed_checks.push_back("scope");
  g.reason = "kcat leaves these files to you: " + list;
  return g;
}

StepJournal journal_of(const std::map<std::string, std::string>& before, const std::set<std::string>& created,
                       const std::map<std::string, std::vector<Edit>>& by_file) {
  StepJournal j;
  for (auto& [file, edits] : by_file) {
    auto& old = before.at(file);
    bool is_new = created.count(file) > 0;
    j.push_back({file, is_new ? "" : blob_id(old), blob_id(apply_edits(old, edits))});
  }
  return j;
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
    if (lang == "notebook") {  // a notebook is JSON: an edit must leave it readable
      if (nlohmann::json::accept(old) && !nlohmann::json::accept(now)) {
        g.failed_checks.push_back("reparse");
        g.reason = fmt::format("{}: the change leaves the notebook unreadable (invalid JSON)", file);
        return g;
      }
      continue;
    }
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
      // Only the failures need their old version compiled: did they fail before too?
      std::map<std::string, std::string> old;
      for (auto& [file, msg] : after) old[file] = py_before[file];
      auto was = python_errors(old);
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
  std::map<std::string, std::vector<Edit>> by_file;
  for (auto& e : patch.edits) by_file[e.file].push_back(e);
  std::set<std::string> created;
  for (auto& [file, edits] : by_file) {
    auto full = resolve_within(root, file);
    if (!full) throw Error(ErrorKind::Verify, "refusing to edit a path outside the repository", file);
    if (!std::filesystem::exists(*full) && creates_file(edits)) {
      created.insert(relative_slash(root, *full));
      before[file] = "";
    } else {
      before[file] = read_file(*full);
    }
  }
  if (auto refused = out_of_scope(repo, by_file, o.within)) return *refused;
  if (o.journal) o.journal(journal_of(before, created, by_file));
  auto written = apply_patch(root, patch);
  std::map<std::string, std::string> changed;
  for (auto& f : written) changed[f] = before[f];
  auto roll_back = [&] {
    for (auto& [f, old] : changed) {
      if (created.count(f)) {
        std::error_code ec;
        std::filesystem::remove(root / f, ec);
      } else {
        write_file_atomic(root / f, old);  // every byte as it was
      }
    }
  };
  auto vetoed = [&](const char* stage, GateOutcome& out) {
    if (!o.hook || written.empty()) return false;
    auto reason = o.hook(stage, written);
    out.checks.push_back(std::string("hook:") + stage);
    if (!reason) return false;
    out.failed_checks.push_back(std::string("hook:") + stage);
    out.reason = *reason;
    return true;
  };
  GateOutcome pre;
  if (vetoed("after_edit", pre)) {
    pre.files = written;
    roll_back();
    return pre;
  }
  GateOutcome g = verify_files(root, changed, o.py_compile);
  if (g.failed_checks.empty()) {
    g.checks.push_back("meaning");
    if (auto why = meaning_check(root, patch, changed)) {
      g.failed_checks.push_back("meaning");
      g.reason = *why;
    }
  }
  if (g.failed_checks.empty() && o.names != NameCheck::Off) {
    g.checks.push_back("names");
    const std::vector<std::string> placed(created.begin(), created.end());
    for (auto& [f, old] : changed) {
      std::optional<std::string> why;
      try {
        why = names_check(root, f, old, read_file(root / f), placed);
      } catch (const Error&) {
        continue;
      }
      if (!why) continue;
      if (o.names == NameCheck::Warn) {
        g.warnings.push_back(*why);
        continue;
      }
      g.failed_checks.push_back("names");
      g.reason = *why;
      break;
    }
  }
  g.checks.insert(g.checks.begin(), pre.checks.begin(), pre.checks.end());
  g.files = written;
  for (auto& f : written) g.diff += unified_diff(f, before[f], read_file(root / f));
  if (!g.failed_checks.empty()) {
    roll_back();
    return g;
  }
  if (written.empty()) return g;
  if (vetoed("before_commit", g)) {
    roll_back();
    return g;
  }
  if (o.cancelled && o.cancelled()) {
    roll_back();
    g.failed_checks.push_back("interrupted");
    g.reason = "interrupted before its commit: rolled back";
    return g;
  }
  if (o.before_commit) o.before_commit();
  try {
    g.commit = repo.commit(o.message, o.trailers, written, o.author_name, o.author_email);
  } catch (...) {
    // A failed commit (disk full) may have staged the files already: the index goes back to HEAD
    // too, or the next commit would carry this step's edits. What cannot be put back now (the disk
    // is still full) the next kcat command puts back from the step's journal.
    try {
      repo.unstage(written);
    } catch (...) {
    }
    try {
      roll_back();
    } catch (...) {
    }
    throw;
  }
  g.committed = true;
  return g;
}

}  // namespace kcat::patch
