// Issue 16, "Conventions a user expects": the help reads like a person wrote it, every command
// takes the repository the same way, `kcat scan FILE`. Through the real binary.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "testsupport/support.h"

namespace kcat {
namespace {

namespace fs = std::filesystem;

// Every command and subcommand named in a help text's "Subcommands:" section.
std::vector<std::string> subcommands_of(const std::string& help) {
  std::vector<std::string> names;
  auto at = help.find("Subcommands:\n");
  if (at == std::string::npos) return names;
  std::istringstream in(help.substr(at + 13));
  static const std::regex row(R"(^  ([a-z][a-z-]*)\s)");
  for (std::string line; std::getline(in, line) && !line.empty();) {
    std::smatch m;
    if (std::regex_search(line, m, row)) names.push_back(m[1]);
  }
  return names;
}

TEST(Conventions, NoHelpShowsParserArtefacts) {
  std::vector<std::vector<std::string>> todo{{}};
  size_t walked = 0;
  static const std::regex artefact(R"(\b(TEXT|INT|UINT|FLOAT)\b|\{false\}|\{true\})");
  while (!todo.empty()) {
    auto cmd = todo.back();
    todo.pop_back();
    auto args = cmd;
    args.push_back("--help");
    auto r = test::kcat(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ++walked;
    std::smatch m;
    EXPECT_FALSE(std::regex_search(r.out, m, artefact))
        << "kcat " << testing::PrintToString(cmd) << " --help shows " << m.str() << ":\n"
        << r.out;
    for (auto& sub : subcommands_of(r.out)) {
      auto next = cmd;
      next.push_back(sub);
      todo.push_back(next);
    }
  }
  EXPECT_GE(walked, 20u) << "the walk reached every command (and env setup, rules list, ...)";
  // Named metavariables instead.
  auto migrate = test::kcat({"migrate", "--help"}).out;
  EXPECT_NE(migrate.find("path PATH"), std::string::npos) << migrate;
  EXPECT_NE(migrate.find("--branch BRANCH"), std::string::npos) << migrate;
  EXPECT_NE(migrate.find("--max-minutes N"), std::string::npos) << migrate;
  EXPECT_NE(migrate.find("--no-llm "), std::string::npos) << migrate;
  EXPECT_NE(test::kcat({"scan", "--help"}).out.find("-o,--output FILE"), std::string::npos);
}

// A repository with one blocking CUDA tie and a migration on kcat/ascend-a2.
struct Repo {
  test::TempDir dir;
  Repo() {
    test::write(dir / "train.py", "import torch\nx = torch.ones(1).cuda()\n");
    test::write(dir / "ops/k.py", "import torch\ny = torch.zeros(2).cuda()\n");
    test::write(dir / "README.md", "a model\n");
    test::write(dir / "requirements.txt", "torch\n");
    test::git_init_commit(dir.path());
  }
};

// Every command that works on a repository takes it as a positional PATH and as -C PATH (like
// git), and `kcat -C PATH COMMAND` runs as if started there.
TEST(Conventions, EveryCommandTakesTheRepositoryTheSameWay) {
  Repo r;
  auto migrate = test::kcat({"migrate", "-C", r.dir.path().string(), "--author", "T <t@example.com>"});
  ASSERT_TRUE(migrate.exit_code == 0 || migrate.exit_code == 1) << migrate.out << migrate.err;
  auto head = test::sh("git rev-parse HEAD", r.dir.path()).out;
  const std::string repo = r.dir.path().string();
  // (command, what its output must contain when it found the repository)
  std::vector<std::pair<std::vector<std::string>, std::string>> commands{
      {{"scan", "--exit-zero"}, "files of a scanned kind"},
      {{"plan"}, "# Migration plan: "},
      {{"status"}, "branch kcat/ascend-a2"},
      {{"diff"}, "diff --git"},
      {{"report"}, "# kcat migration report: "},
      {{"requirements"}, "torch"},
  };
  // The port fixed both sites: scan finds the repository's files, not findings.
  for (auto& [args, expect] : commands) {
    for (int form = 0; form < 3; ++form) {
      std::vector<std::string> a;
      if (form == 2) a = {"-C", repo};
      a.insert(a.end(), args.begin(), args.end());
      if (form == 0 && (args[0] == "diff" || args[0] == "report"))
        continue;  // their positional is a step/run
      if (form == 0) a.insert(a.begin() + 1, repo);
      if (form == 1) a.insert(a.begin() + 1, {"-C", repo});
      auto res = test::kcat(a, fs::temp_directory_path());
      EXPECT_NE(res.exit_code, 2) << testing::PrintToString(a) << res.err;
      EXPECT_NE(res.exit_code, 3) << testing::PrintToString(a) << res.err;
      EXPECT_NE(res.out.find(expect), std::string::npos) << testing::PrintToString(a) << res.out << res.err;
    }
  }
  // undo, last: by -C. It names what it drops and how to get it back (issue 16).
  auto undo = test::kcat({"undo", "-C", repo}, fs::temp_directory_path());
  EXPECT_EQ(undo.exit_code, 0) << undo.err;
  EXPECT_NE(test::sh("git rev-parse HEAD", r.dir.path()).out, head);
  auto short_head = head.substr(0, 10);
  EXPECT_NE(undo.out.find("dropped " + short_head), std::string::npos) << undo.out;
  EXPECT_NE(undo.out.find("git reset --hard " + short_head), std::string::npos) << undo.out;
  EXPECT_NE(test::sh("git reflog kcat/ascend-a2", r.dir.path()).out.find(head.substr(0, 7)),
            std::string::npos)
      << "the reflog the message points at lists the dropped commit";
  EXPECT_EQ(test::sh("git reset --hard " + short_head, r.dir.path()).exit_code, 0);
  EXPECT_EQ(test::sh("git rev-parse HEAD", r.dir.path()).out, head) << "the way back works";
  // Both at once is a usage error, not a silent choice.
  auto both = test::kcat({"plan", repo, "-C", repo});
  EXPECT_EQ(both.exit_code, 2) << both.out;
  auto missing = test::kcat({"-C", (r.dir / "nope").string(), "scan"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
}

TEST(Conventions, ScanTakesFilesAndFoldersOfTheRepository) {
  Repo r;
  auto one = test::kcat({"scan", (r.dir / "train.py").string(), "--format", "json", "--no-cache"});
  EXPECT_EQ(one.exit_code, 1) << one.err;
  auto j = nlohmann::json::parse(one.out);
  std::set<std::string> files;
  for (auto& f : j["findings"]) files.insert(f["file"].get<std::string>());
  EXPECT_EQ(files, std::set<std::string>{"train.py"}) << one.out;

  // Relative to -C, several at once, a folder among them.
  auto two = test::kcat({"scan", "-C", r.dir.path().string(), "ops", "train.py", "--format", "json"});
  files.clear();
  auto two_json = nlohmann::json::parse(two.out);
  for (auto& f : two_json["findings"]) files.insert(f["file"].get<std::string>());
  EXPECT_EQ(files, (std::set<std::string>{"ops/k.py", "train.py"})) << two.out << two.err;

  auto folder = test::kcat({"scan", "-C", r.dir.path().string(), "ops", "README.md", "--format", "json"});
  files.clear();
  auto folder_json = nlohmann::json::parse(folder.out);
  for (auto& f : folder_json["findings"]) files.insert(f["file"].get<std::string>());
  EXPECT_EQ(files, std::set<std::string>{"ops/k.py"}) << folder.out;

  auto missing = test::kcat({"scan", (r.dir / "train.py").string(), (r.dir / "nope.py").string()});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.py"), std::string::npos) << missing.err;
}

// A scan only reads the tree it scans: its caches go to the user's cache folder ($XDG_CACHE_HOME),
// keyed by the repository, and the second scan uses them. Checked by what is written, not by
// chmod alone: tests may run as root, where a read-only folder does not stop writes.
TEST(Conventions, ScanWritesNothingInsideTheScannedTree) {
  Repo r;
  test::TempDir cache;
  auto listing = [&] {
    std::set<std::string> names;
    for (auto& e : fs::recursive_directory_iterator(r.dir.path())) {
      auto rel = e.path().lexically_relative(r.dir.path()).generic_string();
      if (!rel.starts_with(".git/") && rel != ".git") names.insert(rel);
    }
    return names;
  };
  auto before = listing();
  fs::permissions(r.dir.path(), fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
  std::map<std::string, std::string> env{{"XDG_CACHE_HOME", cache.path().string()}};
  auto first = test::kcat({"scan", r.dir.path().string(), "-v"}, {}, env);
  auto second = test::kcat({"scan", r.dir.path().string(), "-f", "json"}, {}, env);
  fs::permissions(r.dir.path(), fs::perms::owner_write, fs::perm_options::add);
  EXPECT_EQ(first.exit_code, 1) << first.err;
  EXPECT_EQ(listing(), before) << "nothing written inside the scanned tree";
  size_t cache_files = 0;
  for (auto& e : fs::recursive_directory_iterator(cache.path())) cache_files += e.is_regular_file();
  EXPECT_GE(cache_files, 1u) << "the cache is in XDG_CACHE_HOME/kcat/<repository>";
  EXPECT_TRUE(fs::is_directory(cache / "kcat")) << first.err;
  auto j = nlohmann::json::parse(second.out);
  EXPECT_GE(j["summary"]["files_from_cache"].get<int>(), 1) << second.out;
}

// --select / --exclude of rules (prefix or glob) and of paths; every site left out is counted as
// suppressed in the JSON, never silently dropped.
TEST(Conventions, SelectAndExcludeRulesAndPaths) {
  Repo r;
  test::write(r.dir / "csrc/k.cu", "#include <cuda_runtime.h>\nint main() { cudaDeviceSynchronize(); }\n");
  auto all =
      nlohmann::json::parse(test::kcat({"scan", r.dir.path().string(), "-f", "json", "--exit-zero"}).out);
  std::set<std::string> rules;
  for (auto& f : all["findings"]) rules.insert(f["rule"].get<std::string>());
  ASSERT_TRUE(rules.count("py.cuda-method")) << all.dump();
  auto ids = [](const nlohmann::json& j) {
    std::set<std::string> out;
    for (auto& f : j["findings"])
      out.insert(f["rule"].get<std::string>() + "@" + f["file"].get<std::string>());
    return out;
  };
  auto sel = nlohmann::json::parse(
      test::kcat({"scan", r.dir.path().string(), "-f", "json", "--exit-zero", "--select", "py.cuda-*"}).out);
  for (auto& id : ids(sel)) EXPECT_TRUE(id.starts_with("py.cuda-")) << id;
  EXPECT_FALSE(ids(sel).empty());
  EXPECT_EQ(sel["summary"]["suppressed"].get<size_t>() + sel["findings"].size(), all["findings"].size());
  auto ex = nlohmann::json::parse(test::kcat({"scan", r.dir.path().string(), "-f", "json", "--exit-zero",
                                              "--exclude", "py.", "--exclude-path", "ops"})
                                      .out);
  for (auto& id : ids(ex)) EXPECT_FALSE(id.starts_with("py.")) << id;
  for (auto& id : ids(ex)) EXPECT_EQ(id.find("@ops/"), std::string::npos) << id;
  ASSERT_FALSE(ex["suppressed"].empty());
  EXPECT_EQ(ex["suppressed"][0]["by"], "option");
  auto paths = nlohmann::json::parse(test::kcat({"scan", r.dir.path().string(), "-f", "json", "--exit-zero",
                                                 "--select-path", "**/*.py", "--exclude-path", "train.py"})
                                         .out);
  EXPECT_EQ(ids(paths), std::set<std::string>{"py.cuda-method@ops/k.py"}) << paths.dump();
  // plan takes the same options, and says what it left out.
  auto plan = test::kcat({"plan", r.dir.path().string(), "--exclude", "py.cuda-method"});
  EXPECT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_NE(plan.out.find("suppressed and not planned"), std::string::npos) << plan.out;
}

// `# kcat: ignore[rule] reason` (and `// kcat: ignore[...]`) on the line or alone on the line
// before: scan lists the site as suppressed with its reason; without a reason it still
// suppresses (as ruff's noqa) and is named in a note; migrate leaves the site alone.
TEST(Conventions, IgnoreCommentsSuppressInScanAndMigrate) {
  test::TempDir dir;
  test::write(dir / "a.py",
              "import torch\n"
              "x = torch.ones(1).cuda()  # kcat: ignore[py.cuda-method] runs on the GPU box only\n"
              "# kcat: ignore[py.cuda-*] profiling helper, kept on CUDA\n"
              "y = torch.zeros(1).cuda()\n"
              "z = torch.zeros(2).cuda()  # kcat: ignore[py.cuda-method]\n"
              "w = torch.zeros(3).cuda()  # kcat: ignore[cpp.other] wrong rule: not suppressed\n"
              "v = torch.zeros(4).cuda()\n");
  test::write(dir / "k.cu",
              "// kcat: ignore[cpp.] reference kernel\nint f() { cudaDeviceSynchronize(); return 0; }\n");
  test::git_init_commit(dir.path());
  auto scan = test::kcat({"scan", dir.path().string(), "-f", "json", "--exit-zero"});
  auto j = nlohmann::json::parse(scan.out);
  std::set<int> left, suppressed;
  for (auto& f : j["findings"])
    if (f["file"] == "a.py" && f["rule"] == "py.cuda-method") left.insert(f["span"]["line"].get<int>());
  std::map<int, std::string> reasons;
  for (auto& s : j["suppressed"]) {
    if (s["file"] == "a.py") reasons[s["line"].get<int>()] = s["reason"];
    EXPECT_EQ(s["by"], "comment");
  }
  EXPECT_EQ(left, (std::set<int>{6, 7})) << scan.out;
  EXPECT_EQ(reasons[2], "runs on the GPU box only");
  EXPECT_EQ(reasons[4], "profiling helper, kept on CUDA");
  ASSERT_TRUE(reasons.count(5));
  EXPECT_EQ(reasons[5], "");
  bool cu = false;
  for (auto& s : j["suppressed"]) cu |= s["file"] == "k.cu" && s["reason"] == "reference kernel";
  EXPECT_TRUE(cu) << j["suppressed"].dump();
  auto table = test::kcat({"scan", dir.path().string(), "--exit-zero"});
  EXPECT_NE(table.out.find("suppressed: "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("note: a.py:5: `kcat: ignore` without a reason"), std::string::npos) << table.out;

  auto migrate = test::kcat({"migrate", dir.path().string(), "--author", "T <t@example.com>", "--no-llm"});
  ASSERT_TRUE(migrate.exit_code == 0 || migrate.exit_code == 1) << migrate.out << migrate.err;
  auto a = test::read(dir / "a.py");
  EXPECT_NE(a.find("x = torch.ones(1).cuda()  # kcat: ignore"), std::string::npos) << a;
  EXPECT_NE(a.find("y = torch.zeros(1).cuda()"), std::string::npos) << a;
  EXPECT_EQ(a.find("v = torch.zeros(4).cuda()"), std::string::npos) << "an unsuppressed site is ported:\n"
                                                                    << a;
  EXPECT_NE(migrate.out.find("suppressed "), std::string::npos) << migrate.out;
  auto report = nlohmann::json::parse(test::read(dir / ".kcat/report.json"));
  EXPECT_GE(report["totals"]["suppressed"].get<int>(), 4) << report["totals"].dump();
}

// Shell completion and the man page come from the same command tree as the help.
TEST(Conventions, BashCompletesCommandsAndOptions) {
  auto kcat = test::kcat_binary().string();
  auto complete = [&](const std::string& words, int cword) {
    return test::run({"bash", "-c",
                      "source <(\"$0\" completion bash) || exit 9; complete -p kcat || exit 8; COMP_WORDS=(" +
                          words + "); COMP_CWORD=" + std::to_string(cword) +
                          "; _kcat; printf '%s\\n' \"${COMPREPLY[@]}\"",
                      kcat});
  };
  auto mig = complete("kcat mig", 1);
  EXPECT_EQ(mig.exit_code, 0) << mig.err;
  EXPECT_NE(mig.out.find("-F _kcat kcat"), std::string::npos) << mig.out;
  EXPECT_NE(mig.out.find("\nmigrate\n"), std::string::npos) << mig.out;
  EXPECT_EQ(mig.out.find("scan"), std::string::npos) << mig.out;
  auto opt = complete("kcat -C /tmp scan --sel", 4);
  EXPECT_NE(opt.out.find("--select\n"), std::string::npos) << opt.out << opt.err;
  EXPECT_NE(opt.out.find("--select-path\n"), std::string::npos) << opt.out;
  auto sub = complete("kcat rules ", 2);
  EXPECT_NE(sub.out.find("\nlist\n"), std::string::npos) << sub.out;
  auto bad = test::kcat({"completion", "tcsh"});
  EXPECT_EQ(bad.exit_code, 2);

  auto man = test::kcat({"man"});
  EXPECT_EQ(man.exit_code, 0);
  EXPECT_TRUE(man.out.starts_with(".TH KCAT 1")) << man.out.substr(0, 200);
  EXPECT_NE(man.out.find(".SS kcat migrate\n"), std::string::npos);
  EXPECT_NE(man.out.find("--route ROUTE"), std::string::npos);
  // Each shell's own parser accepts its script, where that shell is installed.
  for (std::string shell : {"zsh", "fish"}) {
    if (test::sh("command -v " + shell).exit_code != 0) continue;
    auto check = test::sh("\"" + kcat + "\" completion " + shell + " | " + shell + " -n");
    EXPECT_EQ(check.exit_code, 0) << shell << ": " << check.err;
  }
}

// Issue 16: the session's /diff ran `kcat diff REPO`, where diff's positional is a step (`no
// step '.'`); every slash command now names the repository with -C.
TEST(Conventions, SessionDiffShowsTheMigration) {
  Repo r;
  auto migrate = test::kcat({"migrate", r.dir.path().string(), "--author", "T <t@example.com>"});
  ASSERT_TRUE(migrate.exit_code == 0 || migrate.exit_code == 1) << migrate.out << migrate.err;
  auto res = test::sh("printf '/diff\\n/status\\n/quit\\n' | \"" + test::kcat_binary().string() + "\" chat " +
                      r.dir.path().string());
  EXPECT_EQ(res.out.find("no step"), std::string::npos) << res.out << res.err;
  EXPECT_EQ(res.err.find("no step"), std::string::npos) << res.err;
  EXPECT_NE(res.out.find("diff --git a/train.py"), std::string::npos) << res.out << res.err;
  EXPECT_NE(res.out.find("branch kcat/ascend-a2"), std::string::npos) << res.out;
}

}  // namespace
}  // namespace kcat
