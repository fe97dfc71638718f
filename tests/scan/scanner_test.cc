#include "kcat/scan/scanner.h"

#include <gtest/gtest.h>

#include <chrono>

#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/kb/knowledge.h"
#include "testsupport/support.h"

namespace kcat::scan {

namespace {

namespace fs = std::filesystem;

kb::RuleSet catalog() { return kb::load_rules(test::source_dir() / "patches" / "rules"); }

// A fresh git repository holding the mixed fixture, plus an ignored folder.
struct Repo {
  test::TempDir dir;
  Repo() {
    test::copy_tree(test::fixtures_dir() / "scan" / "mixed", dir.path());
    test::write(dir / ".gitignore", "ignored/\n");
    test::write(dir / "ignored/skip.py", "import torch\ntorch.cuda.synchronize()\n");
    test::git_init_commit(dir.path());
  }
  ScanResult scan(bool info = false, unsigned jobs = 0, bool cache = false) {
    ScanOptions o;
    o.root = dir.path();
    o.include_info = info;
    o.jobs = jobs;
    o.use_cache = cache;
    return scan::scan(o, catalog());
  }
};

bool has(const ScanResult& r, const std::string& file, uint32_t line, const std::string& rule) {
  for (auto& f : r.findings) {
    if (f.file == file && f.span.start.line == line && f.rule_id == rule) return true;
  }
  return false;
}

const Finding* find(const ScanResult& r, const std::string& file, uint32_t line, const std::string& rule) {
  for (auto& f : r.findings) {
    if (f.file == file && f.span.start.line == line && f.rule_id == rule) return &f;
  }
  return nullptr;
}

}  // namespace

TEST(Scanner, FindsEveryFormInTheMixedFixture) {
  Repo repo;
  auto r = repo.scan();
  EXPECT_TRUE(has(r, "src/train.py", 9, "py.torch-cuda-module-import"));
  EXPECT_TRUE(has(r, "src/train.py", 10, "py.torch-cuda-amp-import"));
  EXPECT_TRUE(has(r, "src/train.py", 15, "py.env-var"));
  EXPECT_TRUE(has(r, "src/train.py", 16, "py.nccl-backend"));
  EXPECT_TRUE(has(r, "src/train.py", 17, "py.device-string"));
  EXPECT_TRUE(
      has(r, "src/train.py", 19, "py.torch-cuda-api"));  // cuda.synchronize through `from torch import cuda`
  EXPECT_TRUE(has(r, "src/train.py", 25, "py.cuda-method"));
  EXPECT_TRUE(has(r, "src/train.py", 26, "py.device-string"));
  EXPECT_TRUE(has(r, "src/train.py", 27, "py.is-cuda"));
  EXPECT_TRUE(has(r, "src/train.py", 28, "py.torch-cuda-api"));
  EXPECT_TRUE(has(r, "src/model.py", 2, "py.flash-attn-import"));
  EXPECT_TRUE(has(r, "scripts/run.sh", 3, "shell.env-var"));
  EXPECT_TRUE(has(r, "scripts/run.sh", 4, "shell.nvidia-smi"));
  EXPECT_TRUE(has(r, "scripts/run.sh", 5, "shell.torchrun-nccl"));
  EXPECT_TRUE(has(r, "requirements.txt", 1, "req.cuda-index-url"));
  EXPECT_TRUE(has(r, "requirements.txt", 2, "req.cuda-local-version"));
  EXPECT_TRUE(has(r, "requirements.txt", 4, "req.cuda-only-package"));
  EXPECT_TRUE(has(r, "Dockerfile", 1, "docker.cuda-base-image"));
  EXPECT_TRUE(has(r, "Dockerfile", 2, "shell.env-var"));
  EXPECT_TRUE(has(r, "CMakeLists.txt", 1, "cmake.cuda-language"));
  EXPECT_TRUE(has(r, "csrc/kernel.cu", 1, "cpp.cuda-include"));
  EXPECT_TRUE(has(r, "csrc/kernel.cu", 3, "cpp.global-kernel"));
  EXPECT_TRUE(has(r, "csrc/kernel.cu", 4, "cpp.cuda-device-qualifier"));
  EXPECT_TRUE(has(r, "csrc/kernel.cu", 9, "cpp.cuda-runtime-api"));
  EXPECT_TRUE(has(r, "csrc/kernel.cu", 10, "cpp.kernel-launch"));
}

TEST(Scanner, CommentsDocstringsMessagesAndLookalikesNeverBlock) {
  Repo repo;
  auto r = repo.scan(true);
  for (auto& f : r.findings) {
    if (f.context != Context::Code) {
      EXPECT_EQ(f.severity, Severity::Info) << f.file << ":" << f.span.start.line;
    }
  }
  // docstring (lines 1-4), comment (line 14), message string (line 20), 'cudaless' (line 29)
  for (uint32_t line : {1u, 2u, 3u, 4u, 14u, 20u, 29u}) {
    for (auto& f : r.findings) {
      if (f.file == "src/train.py" && f.span.start.line == line) {
        EXPECT_EQ(f.severity, Severity::Info) << "line " << line << " " << f.rule_id;
      }
    }
  }
  EXPECT_FALSE(has(r, "scripts/run.sh", 2, "shell.nvidia-smi"));
  EXPECT_FALSE(has(r, "csrc/kernel.cu", 2, "cpp.cuda-runtime-api"));
  EXPECT_FALSE(has(r, "csrc/kernel.cu", 11, "cpp.cuda-runtime-api"));
  EXPECT_TRUE(has(r, "src/train.py", 20, "py.cuda-mention"));
  // Without --show-info, no info at all.
  for (auto& f : repo.scan(false).findings) EXPECT_NE(f.severity, Severity::Info);
}

TEST(Scanner, SdpaFloatMaskBlocksButABooleanMaskDoesNot) {
  Repo repo;
  auto r = repo.scan();
  auto* f = find(r, "src/model.py", 8, "py.sdpa-float-mask");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::Blocking);
  EXPECT_EQ(f->recipe, "sdpa-float-mask-to-pfa");
  EXPECT_FALSE(has(r, "src/model.py", 10, "py.sdpa-float-mask"));
}

TEST(Scanner, SpansAreExactForCodemods) {
  Repo repo;
  auto r = repo.scan();
  auto* f = find(r, "src/train.py", 26, "py.device-string");
  ASSERT_NE(f, nullptr);
  auto text = test::read(repo.dir / "src/train.py");
  EXPECT_EQ(text.substr(f->span.begin, f->span.end - f->span.begin), "cuda");
  EXPECT_EQ(f->replacement, "npu");
  EXPECT_EQ(f->span.start.column, 24u);
  auto* m = find(r, "src/train.py", 25, "py.cuda-method");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(text.substr(m->span.begin, m->span.end - m->span.begin), "cuda");
}

TEST(Scanner, CrlfBomAndNonUtf8GiveEditorLineAndColumn) {
  Repo repo;
  auto r = repo.scan();
  auto* crlf = find(r, "src/crlf.py", 2, "py.cuda-method");
  ASSERT_NE(crlf, nullptr);
  EXPECT_EQ(crlf->span.start.column, 20u);
  auto* bom = find(r, "src/bom.py", 2, "py.device-string");
  ASSERT_NE(bom, nullptr);
  EXPECT_EQ(bom->span.start.column, 23u);  // the BOM is not a column
  EXPECT_TRUE(has(r, "src/latin1.py", 3, "py.cuda-method"));
}

TEST(Scanner, BrokenSyntaxIsStillScannedAndSaysSo) {
  Repo repo;
  auto r = repo.scan();
  EXPECT_TRUE(has(r, "src/broken.py", 3, "py.cuda-method"));
  EXPECT_NE(std::find(r.files_with_syntax_errors.begin(), r.files_with_syntax_errors.end(), "src/broken.py"),
            r.files_with_syntax_errors.end());
}

TEST(Scanner, NotebookCellsAreScannedWithoutCodemods) {
  Repo repo;
  auto r = repo.scan();
  const Finding* nb = nullptr;
  for (auto& f : r.findings) {
    if (f.file == "nb/demo.ipynb" && f.rule_id == "py.cuda-method") nb = &f;
  }
  ASSERT_NE(nb, nullptr);
  EXPECT_TRUE(nb->codemod.empty());
  EXPECT_NE(nb->message.find("cell 2, line 3"), std::string::npos) << nb->message;
  auto text = test::read(repo.dir / "nb/demo.ipynb");
  LineIndex idx(text);
  EXPECT_NE(idx.line_text(nb->span.start.line).find(".cuda()"), std::string_view::npos);
}

TEST(Scanner, NotebookCellsShareImports) {
  test::TempDir dir;
  nlohmann::json nb = {{"cells",
                        {{{"cell_type", "code"}, {"source", {"import torch as th\n"}}},
                         {{"cell_type", "code"}, {"source", {"th.cuda.synchronize()\n"}}}}},
                       {"nbformat", 4}};
  test::write(dir / "a.ipynb", nb.dump(1));
  ScanOptions o;
  o.root = dir.path();
  o.use_cache = false;
  auto r = scan::scan(o, catalog());
  bool found = false;
  for (auto& f : r.findings)
    found |= f.rule_id == "py.torch-cuda-api" && f.message.find("cell 2") != std::string::npos;
  EXPECT_TRUE(found);
}

// Issue 14 §5: no input aborts. Notebooks of the wrong shape are skipped with a reason naming what
// is wrong (bytes that are not UTF-8 included).
TEST(Scanner, MalformedNotebooksAreSkippedNotFatal) {
  test::TempDir dir;
  test::write(dir / "cells_int.ipynb", R"J({"cells":[5],"k":"torch.cuda()"})J");
  test::write(dir / "cells_obj.ipynb", R"J({"cells":{"a":"torch.cuda()"}})J");
  test::write(dir / "top_array.ipynb", R"J([1,"torch.cuda()"])J");
  test::write(dir / "source_obj.ipynb",
              R"J({"cells":[{"cell_type":"code","source":{"x":"torch.cuda()"}}]})J");
  test::write(dir / "type_int.ipynb", R"J({"cells":[{"cell_type":7,"source":"torch.cuda()"}]})J");
  // Each holds `torch.cuda()` so the prefilter lets it through to the parser.
  // A raw 0xff byte inside a JSON string: nlohmann rejects it while parsing (skipped, not fatal).
  test::write(dir / "bad_utf8.ipynb",
              std::string("{\"cells\":[{\"cell_type\":\"code\",\"source\":\"torch.cuda() \xff\"}]}"));
  test::write(
      dir / "ok.ipynb",
      R"J({"cells":[{"cell_type":"code","source":["import torch\n","torch.cuda.synchronize()\n"]}]})J");
  ScanOptions o;
  o.root = dir.path();
  o.use_cache = false;
  scan::ScanResult r;
  ASSERT_NO_THROW(r = scan::scan(o, catalog()));
  std::map<std::string, std::string> skipped;
  for (auto& s : r.skipped) skipped[s.path] = s.reason;
  for (auto name : {"cells_int.ipynb", "cells_obj.ipynb", "top_array.ipynb", "source_obj.ipynb",
                    "type_int.ipynb", "bad_utf8.ipynb"}) {
    EXPECT_NE(skipped[name].find("notebook"), std::string::npos) << name << ": " << skipped[name];
  }
  EXPECT_EQ(skipped.count("ok.ipynb"), 0u);
  bool found = false;
  for (auto& f : r.findings) found |= f.file == "ok.ipynb";
  EXPECT_TRUE(found);
}

// Issue 14 §4: a rule whose tree-sitter query does not compile stops the scan with an error naming
// the rule, instead of skipping every Python file with the same message.
TEST(Scanner, ABadQueryIsOneErrorNotEveryFileSkipped) {
  test::TempDir dir;
  test::write(dir / "a.py", "import torch\ntorch.cuda.synchronize()\n");
  kb::RuleSet rules;
  kb::Rule r;
  r.id = "t.bad-query";
  r.languages = {"python"};
  r.category = "c";
  r.severity = Severity::Warning;
  r.matcher = "query";
  r.query = "(call function: (nonesuch_node) @match)";
  r.message = "m";
  r.origin = "extra.toml";
  rules.rules.push_back(r);
  ScanOptions o;
  o.root = dir.path();
  o.use_cache = false;
  try {
    auto res = scan::scan(o, rules);
    ADD_FAILURE() << "scanned with a bad query; skipped " << res.skipped.size();
  } catch (const Error& e) {
    EXPECT_NE(e.where().find("t.bad-query"), std::string::npos) << e.where();
  }
}

TEST(Scanner, SkipsVendoredIgnoredBinaryHugeAndOutsideLinks) {
  Repo repo;
  test::write(repo.dir / "src/blob.py", std::string("import torch\0torch.cuda.x()\n", 28));
  std::string huge = "import torch\n";
  while (huge.size() < (6u << 20)) huge += "x = torch.ones(1).cuda()\n";
  test::write(repo.dir / "src/huge.py", huge);
  test::TempDir outside;
  test::write(outside / "secret.py", "import torch\ntorch.cuda.synchronize()\n");
  std::filesystem::create_symlink(outside / "secret.py", repo.dir / "src/link.py");
  auto r = repo.scan();
  std::map<std::string, std::string> skipped;
  for (auto& s : r.skipped) skipped[s.path] = s.reason;
  EXPECT_NE(skipped["src/blob.py"].find("binary"), std::string::npos);
  EXPECT_NE(skipped["src/huge.py"].find("larger than"), std::string::npos);
  EXPECT_NE(skipped["src/link.py"].find("outside the repository"), std::string::npos);
  for (auto& f : r.findings) {
    EXPECT_EQ(f.file.find("vendor/"), std::string::npos) << f.file;
    EXPECT_EQ(f.file.find("node_modules/"), std::string::npos) << f.file;
    EXPECT_EQ(f.file.find("ignored/"), std::string::npos) << f.file;
    EXPECT_NE(f.file, "src/link.py");
  }
}

TEST(Scanner, CacheGivesTheSameAnswerAndNoticesChanges) {
  Repo repo;
  auto cold = repo.scan(false, 0, true);
  EXPECT_EQ(cold.files_from_cache, 0u);
  auto warm = repo.scan(false, 0, true);
  EXPECT_EQ(warm.files_parsed, 0u);
  EXPECT_GT(warm.files_from_cache, 5u);
  ASSERT_EQ(warm.findings.size(), cold.findings.size());
  for (size_t i = 0; i < cold.findings.size(); ++i) {
    EXPECT_EQ(warm.findings[i].rule_id, cold.findings[i].rule_id);
    EXPECT_EQ(warm.findings[i].span, cold.findings[i].span);
  }
  test::write(repo.dir / "src/model.py", "import torch\nx = torch.ones(1).cuda()\n");
  auto changed = repo.scan(false, 0, true);
  EXPECT_EQ(changed.files_parsed, 1u);
  EXPECT_TRUE(has(changed, "src/model.py", 2, "py.cuda-method"));
  EXPECT_FALSE(has(changed, "src/model.py", 2, "py.flash-attn-import"));
  // A corrupt cache is ignored, never fatal.
  test::write(user_cache_dir(repo.dir.path()) / "scan-v3.bin", "{not a cache");
  auto after = repo.scan(false, 0, true);
  EXPECT_EQ(after.findings.size(), changed.findings.size());
}

// A file whose mtime moved but whose bytes did not (a branch switched and back, `touch`) is read
// and hashed, not parsed: the findings come from the cache, including the info ones.
TEST(Scanner, SameBytesUnderANewMtimeComeFromTheCache) {
  Repo repo;
  auto cold = repo.scan(true, 0, true);
  auto path = repo.dir / "src/model.py";
  auto bytes = test::read(path);
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(10));
  auto touched = repo.scan(true, 0, true);
  EXPECT_EQ(touched.files_parsed, 0u);
  ASSERT_EQ(touched.findings.size(), cold.findings.size());
  for (size_t i = 0; i < cold.findings.size(); ++i) {
    EXPECT_EQ(touched.findings[i].rule_id, cold.findings[i].rule_id);
    EXPECT_EQ(touched.findings[i].span, cold.findings[i].span);
    EXPECT_EQ(touched.findings[i].severity, cold.findings[i].severity);
  }
  // Kept under the new mtime: the next scan finds it by its stamp.
  EXPECT_EQ(repo.scan(true, 0, true).files_parsed, 0u);
  // Same size, other bytes: parsed again.
  std::string other = bytes;
  auto at = other.find("flash_attn");
  ASSERT_NE(at, std::string::npos);
  other.replace(at, 10, "flash_attx");
  test::write(path, other);
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(20));
  auto edited = repo.scan(true, 0, true);
  EXPECT_EQ(edited.files_parsed, 1u);
  EXPECT_FALSE(has(edited, "src/model.py", 2, "py.flash-attn-import"));
}

TEST(Scanner, OneJobAndTwoJobsGiveTheSameOutput) {
  Repo repo;
  auto a = repo.scan(true, 1);
  auto b = repo.scan(true, 2);
  ASSERT_EQ(a.findings.size(), b.findings.size());
  for (size_t i = 0; i < a.findings.size(); ++i) {
    EXPECT_EQ(a.findings[i].file, b.findings[i].file);
    EXPECT_EQ(a.findings[i].span, b.findings[i].span);
  }
}

TEST(Scanner, KnowledgeBaseVerdicts) {
  Repo repo;
  auto r = repo.scan();
  auto kb = kb::KnowledgeBase::load(test::source_dir() / "patches");
  kb.annotate(r.findings);
  auto* env = find(r, "src/train.py", 15, "py.env-var");
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->replacement, "ASCEND_RT_VISIBLE_DEVICES");
  EXPECT_EQ(env->codemod, "env-rename");
  auto* api = find(r, "src/train.py", 28, "py.torch-cuda-api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->verdict, Verdict::Supported);
  EXPECT_EQ(api->codemod, "replace");
  auto* docker_env = find(r, "Dockerfile", 2, "shell.env-var");
  ASSERT_NE(docker_env, nullptr);
  EXPECT_TRUE(docker_env->codemod.empty());  // NCCL_DEBUG is removed, not renamed
}

TEST(Scanner, ANonDirectoryIsAUsageError) {
  ScanOptions o;
  o.root = "/nonexistent/kcat";
  EXPECT_THROW(scan::scan(o, catalog()), Error);
}

}  // namespace kcat::scan
