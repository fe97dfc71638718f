#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "kcat/core/error.h"
#include "kcat/kb/rule.h"
#include "kcat/scan/analyzer.h"
#include "kcat/scan/python_scope.h"
#include "testsupport/support.h"

namespace kcat::scan {
namespace {

const kb::RuleSet& rules() {
  static const kb::RuleSet set = kb::load_rules(test::source_dir() / "patches" / "rules");
  return set;
}

std::vector<Finding> run(const std::string& code, AnalyzeStats* stats = nullptr,
                         const std::string& path = "t.py") {
  SourceFile f(path, "python", code);
  return analyze_python(f, rules(), stats);
}

std::vector<Finding> of_rule(const std::vector<Finding>& all, std::string_view id) {
  std::vector<Finding> out;
  for (auto& f : all) {
    if (f.rule_id == id) out.push_back(f);
  }
  return out;
}

std::string fixture(const std::string& name) {
  return test::read(test::fixtures_dir() / "scan" / "python" / name);
}

std::string describe(const Finding& f) {
  return std::to_string(f.span.start.line) + ":" + std::to_string(f.span.start.column) + " " + f.rule_id +
         " " + to_string(f.severity) + " " + (f.replacement.empty() ? "-" : f.replacement);
}

TEST(PythonAnalyzer, EveryRuleMatchesItsExamplesAndNotItsCounterExamples) {
  size_t checked = 0;
  for (auto& r : rules().rules) {
    if (!r.applies_to("python") || (r.matcher != "python" && r.matcher != "query")) continue;
    EXPECT_FALSE(r.examples.empty()) << r.id << " has no examples";
    EXPECT_FALSE(r.source.empty()) << r.id << " cites no source";
    for (auto& ex : r.examples) {
      auto found = of_rule(run(ex), r.id);
      EXPECT_FALSE(found.empty()) << r.id << " misses its example:\n" << ex;
      ++checked;
    }
    for (auto& ex : r.counter_examples) {
      EXPECT_THAT(of_rule(run(ex), r.id), testing::IsEmpty()) << r.id << " matches its counter-example:\n"
                                                              << ex;
      ++checked;
    }
  }
  EXPECT_GT(checked, 50u);
}

// The scanner skips a file holding none of a rule's prefilter literals: every example (code the
// rule must match) has to hold one, or the prefilter would hide real sites.
TEST(PythonAnalyzer, PrefilterLiteralsOccurInEveryExample) {
  for (auto& r : rules().rules) {
    if (!r.applies_to("python") || r.prefilter.empty()) continue;
    for (auto& ex : r.examples) {
      bool any = false;
      for (auto& lit : r.prefilter) any = any || ex.find(lit) != std::string::npos;
      EXPECT_TRUE(any) << r.id << ": no prefilter literal in example:\n" << ex;
    }
  }
}

TEST(PythonAnalyzer, FormsFixtureGivesExactlyTheExpectedFindings) {
  std::vector<std::string> expected;
  std::istringstream in(fixture("forms.expected"));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') expected.push_back(line);
  }
  std::vector<std::string> got;
  for (auto& f : run(fixture("forms.py"))) {
    if (f.severity != Severity::Info) got.push_back(describe(f));
  }
  EXPECT_THAT(got, testing::ElementsAreArray(expected));
}

TEST(PythonAnalyzer, ResolvesAliasesToQualifiedNames) {
  auto all = run(fixture("forms.py"));
  std::vector<std::string> matched;
  for (auto& f : of_rule(all, "py.torch-cuda-api")) matched.push_back(f.matched);
  EXPECT_THAT(matched, testing::ElementsAre("torch.cuda.synchronize", "torch.cuda.synchronize",
                                            "torch.cuda.empty_cache"));
  auto env = of_rule(all, "py.env-var");
  ASSERT_EQ(env.size(), 5u);
  EXPECT_EQ(env[0].matched, "CUDA_VISIBLE_DEVICES");
  EXPECT_EQ(env[0].codemod, "env-rename");
  EXPECT_EQ(env[4].matched, "CUDA_LAUNCH_BLOCKING");  // through `from os import environ`
}

TEST(PythonAnalyzer, SpansCoverExactlyTheBytesToReplace) {
  std::string code = "import torch\nd = f\"cuda:{r}\"\nx = y.cuda()\ntorch.cuda.synchronize()\n";
  for (auto& f : run(code)) {
    if (f.codemod != "replace") continue;
    EXPECT_EQ(code.substr(f.span.begin, f.span.end - f.span.begin), "cuda") << f.rule_id;
  }
  auto imp = run("import torch.cuda as gpu\n");
  ASSERT_EQ(imp.size(), 1u);
  EXPECT_EQ(imp[0].span.begin, 7u);
  EXPECT_EQ(imp[0].span.end, 17u);
  EXPECT_EQ(imp[0].replacement, "torch.npu");
}

TEST(PythonAnalyzer, CommentsDocstringsAndMessagesAreOnlyInfo) {
  auto all = run(fixture("negatives.py"));
  EXPECT_FALSE(all.empty());
  for (auto& f : all) {
    EXPECT_EQ(f.severity, Severity::Info) << describe(f) << " " << f.matched;
    EXPECT_NE(f.context, Context::Code) << describe(f);
    EXPECT_EQ(f.codemod, "") << describe(f);
  }
  auto first = all.front();
  EXPECT_EQ(first.context, Context::Docstring);
  bool comment = false;
  for (auto& f : all) comment = comment || f.context == Context::Comment;
  EXPECT_TRUE(comment);
}

TEST(PythonAnalyzer, OneMentionPerLineOfADocstring) {
  auto all =
      run("def f():\n    \"\"\"Uses cuda and NCCL.\n\n    Set NCCL_DEBUG=INFO; cudaless here.\n    \"\"\"\n");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].span.start.line, 2u);
  EXPECT_EQ(all[0].matched, "cuda");
  EXPECT_EQ(all[1].span.start.line, 4u);
  EXPECT_EQ(all[1].matched, "NCCL");
  for (auto& f : all) EXPECT_EQ(f.context, Context::Docstring);
}

TEST(PythonAnalyzer, ScopeCarriesImportsFromCellToCell) {
  PythonScope scope;
  SourceFile cell1("nb.ipynb", "python",
                   "import torch as th\ntry:\n    import pynvml\nexcept ImportError:\n    pass\n");
  SourceFile cell2("nb.ipynb", "python", "th.cuda.synchronize()\npynvml.nvmlInit()\n");
  analyze_python(cell1, rules(), nullptr, scope);
  EXPECT_EQ(scope.bindings.at("th"), "torch");
  auto found = analyze_python(cell2, rules(), nullptr, scope);
  auto api = of_rule(found, "py.torch-cuda-api");
  ASSERT_EQ(api.size(), 1u);
  EXPECT_EQ(api[0].matched, "torch.cuda.synchronize");
  auto use = of_rule(found, "py.cuda-only-use");
  ASSERT_EQ(use.size(), 1u);
  EXPECT_EQ(use[0].severity, Severity::Warning);  // guarded in cell 1
  EXPECT_THAT(of_rule(run("th.cuda.synchronize()\n"), "py.torch-cuda-api"), testing::IsEmpty());
}

TEST(PythonAnalyzer, APackageImportingItselfIsNotAUser) {
  std::string code = "from flash_attn.bert_padding import pad_input\ny = pad_input(x)\nz = t.to('cuda')\n";
  auto inside = run(code, nullptr, "flash_attn/ops/fused.py");
  EXPECT_THAT(of_rule(inside, "py.flash-attn-import"), testing::IsEmpty());
  EXPECT_THAT(of_rule(inside, "py.cuda-only-use"), testing::IsEmpty());
  EXPECT_EQ(of_rule(inside, "py.device-string").size(), 1u);
  auto user = run(code, nullptr, "tests/test_fused.py");
  EXPECT_EQ(of_rule(user, "py.flash-attn-import").size(), 1u);
  EXPECT_EQ(of_rule(user, "py.cuda-only-use").size(), 1u);
}

TEST(PythonAnalyzer, GuardedImportIsAWarning) {
  auto all = run(fixture("guarded.py"));
  auto fa = of_rule(all, "py.flash-attn-import");
  ASSERT_EQ(fa.size(), 3u);  // try/except ImportError twice, `if is_flash_attn_2_available():` once
  for (auto& f : fa) EXPECT_EQ(f.severity, Severity::Warning);
  auto other = of_rule(all, "py.cuda-only-import");
  ASSERT_EQ(other.size(), 2u);
  EXPECT_EQ(other[0].matched, "xformers.ops");
  EXPECT_EQ(other[0].severity, Severity::Blocking);  // unguarded
  EXPECT_EQ(other[1].matched, "apex");
  EXPECT_EQ(other[1].severity, Severity::Blocking);  // `except ValueError` does not catch a missing module
}

TEST(PythonAnalyzer, SdpaMaskKinds) {
  auto all = of_rule(run(fixture("sam_relpos.py")), "py.sdpa-float-mask");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].span.start.line, 23u);  // attn_bias from a relative-position sum
  EXPECT_EQ(all[0].severity, Severity::Blocking);
  EXPECT_EQ(all[0].recipe, "sdpa-float-mask-to-pfa");
  EXPECT_EQ(all[1].span.start.line, 30u);  // 4th positional, .to(q.dtype)
  EXPECT_EQ(all[1].severity, Severity::Blocking);
  EXPECT_EQ(all[2].span.start.line, 33u);  // a parameter: unknown
  EXPECT_EQ(all[2].severity, Severity::Warning);
}

kb::Rule query_rule(const std::string& id, const std::string& query) {
  kb::Rule r;
  r.id = id;
  r.languages = {"python"};
  r.category = "custom";
  r.severity = Severity::Blocking;
  r.matcher = "query";
  r.query = query;
  r.message = "custom";
  return r;
}

TEST(PythonAnalyzer, RunsQueryRulesWithTheirTextPredicates) {
  kb::RuleSet set;
  set.rules.push_back(query_rule("t.eq", "((call function: (identifier) @f) @match (#eq? @f \"launch\"))"));
  set.rules.push_back(query_rule("t.match", "((identifier) @match (#match? @match \"^cu[A-Z]\"))"));
  set.rules.push_back(query_rule("t.comment", "((comment) @match)"));
  SourceFile f("q.py", "python", "launch(k)\nother(k)\ncuLaunch = 1\n# note\n");
  auto all = analyze_python(f, set, nullptr);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].rule_id, "t.eq");
  EXPECT_EQ(all[0].matched, "launch(k)");
  EXPECT_EQ(all[1].rule_id, "t.match");
  EXPECT_EQ(all[1].matched, "cuLaunch");
  EXPECT_EQ(all[2].severity, Severity::Info);
  EXPECT_EQ(all[2].context, Context::Comment);
}

TEST(PythonAnalyzer, UnknownMatchKindIsAUsageErrorNamingTheRule) {
  kb::RuleSet set;
  kb::Rule r = query_rule("t.bad", "");
  r.matcher = "python";
  r.match = {{"kind", "no-such-kind"}};
  set.rules.push_back(r);
  SourceFile f("q.py", "python", "x = 1\n");
  try {
    analyze_python(f, set, nullptr);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-kind"), std::string::npos);
    EXPECT_NE(e.where().find("t.bad"), std::string::npos);
  }
}

TEST(PythonAnalyzer, BrokenSyntaxIsStillScanned) {
  AnalyzeStats stats;
  auto all = run("import torch\ndef f(:\n    x = y.cuda()\ntorch.cuda.synchronize()\n", &stats);
  EXPECT_TRUE(stats.parsed);
  EXPECT_GT(stats.syntax_errors, 0u);
  EXPECT_FALSE(of_rule(all, "py.torch-cuda-api").empty());
}

TEST(PythonAnalyzer, CrlfAndBomGiveEditorPositions) {
  auto all = run("\xEF\xBB\xBFimport torch\r\nx = 'cuda'\r\ntorch.cuda.synchronize()\r\n");
  auto dev = of_rule(all, "py.device-string");
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0].span.start.line, 2u);
  EXPECT_EQ(dev[0].span.start.column, 6u);
  auto api = of_rule(all, "py.torch-cuda-api");
  ASSERT_EQ(api.size(), 1u);
  EXPECT_EQ(api[0].span.start.line, 3u);
  EXPECT_EQ(api[0].span.start.column, 7u);
  EXPECT_EQ(api[0].matched, "torch.cuda.synchronize");
}

TEST(PythonAnalyzer, NonUtf8BytesDoNotStopTheScan) {
  auto all = run("import torch\ns = '\xff\xfe caf\xe9'\nx = t.to('cuda')\n");
  auto dev = of_rule(all, "py.device-string");
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0].span.start.line, 3u);
  EXPECT_EQ(dev[0].span.start.column, 11u);
}

TEST(PythonAnalyzer, CudaInsideLargerWordsIsNotADeviceString) {
  auto all = run("a = 'cudaless'\nb = 'cuda_graph'\nc = 'mycuda'\ncudaless = 1\nuse_cuda = True\n");
  for (auto& f : all) EXPECT_NE(f.severity, Severity::Blocking) << describe(f);
}

TEST(PythonAnalyzer, SafeFromManyThreads) {
  auto code = fixture("forms.py");
  auto reference = run(code).size();
  std::vector<std::thread> threads;
  std::vector<size_t> sizes(4);
  for (size_t i = 0; i < sizes.size(); ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < 20; ++k) sizes[i] = run(code).size();
    });
  }
  for (auto& t : threads) t.join();
  for (auto s : sizes) EXPECT_EQ(s, reference);
}

TEST(PythonAnalyzer, DeeplyNestedCodeDoesNotOverflow) {
  std::string code = "x = " + std::string(3000, '(') + "'cuda'" + std::string(3000, ')') + "\n";
  AnalyzeStats stats;
  EXPECT_NO_THROW(run(code, &stats));
}

}  // namespace
// Held-out review (yolov5's train.py): the first torch.cuda call of an f-string's interpolation was
// not found (a mention of the word "cuda" took its span), so kcat ported the second call and not
// the first. Code in an interpolation is code; only the literal parts are a message.
TEST(PythonAnalyzer, CodeInsideAnFStringIsFoundLikeAnyCode) {
  auto found =
      run("import torch\n"
          "mem = f\"{torch.cuda.memory_reserved() / 1e9 if torch.cuda.is_available() else 0:.3g}G\"\n"
          "x = f\"{torch.cuda.memory_reserved()}\"\n"
          "msg = f\"cuda devices: {torch.cuda.device_count()}\"\n");
  std::vector<std::string> api;
  for (auto& f : of_rule(found, "py.torch-cuda-api")) api.push_back(f.matched);
  for (auto& f : found) {
    if (f.rule_id != "py.cuda-mention") {
      EXPECT_EQ(f.context, Context::Code) << describe(f);
    }
  }
  EXPECT_THAT(api, ::testing::ElementsAre("torch.cuda.memory_reserved", "torch.cuda.is_available",
                                          "torch.cuda.memory_reserved", "torch.cuda.device_count"))
      << ::testing::PrintToString(api);
  // The message's own word is still a mention (info), at its own column.
  auto mentions = of_rule(found, "py.cuda-mention");
  ASSERT_EQ(mentions.size(), 1u);
  EXPECT_EQ(mentions[0].span.start.line, 4u);
  EXPECT_EQ(mentions[0].span.start.column, 9u);  // the word "cuda" after f"
}

}  // namespace kcat::scan

namespace kcat::scan {

// The import pass skips subtrees that cannot hold an import statement: imports in every kind of
// block must still bind their names, wherever the use stands.
TEST(PythonAnalyzer, ImportsInAnyBlockBindTheirNames) {
  std::string code =
      "def late():\n"
      "    a1.synchronize(); a2.synchronize(); a3.synchronize(); a4.synchronize()\n"
      "    a5.synchronize(); a6.synchronize(); a7.synchronize(); a8.synchronize()\n"
      "class A:\n"
      "    @decorator(x=1)\n"
      "    def f(self):\n"
      "        with open('x') as fh:\n"
      "            import torch.cuda as a1\n"
      "        for i in range(3):\n"
      "            pass\n"
      "        else:\n"
      "            import torch.cuda as a2\n"
      "        while False:\n"
      "            import torch.cuda as a3\n"
      "        match x:\n"
      "            case 1:\n"
      "                import torch.cuda as a4\n"
      "        try:\n"
      "            pass\n"
      "        finally:\n"
      "            import torch.cuda as a5\n"
      "        if a: import torch.cuda as a6\n"
      "        async def g():\n"
      "            async with y:\n"
      "                from torch import cuda as a7\n"
      "x = 1; import torch.cuda as a8\n";
  SourceFile f("t.py", "python", code);
  auto all = analyze_python(f, kb::load_rules(test::source_dir() / "patches" / "rules"), nullptr);
  size_t line2 = 0, line3 = 0;
  for (auto& x : all) {
    if (x.matched != "torch.cuda.synchronize") continue;
    line2 += x.span.start.line == 2;
    line3 += x.span.start.line == 3;
  }
  EXPECT_EQ(line2, 4u);
  EXPECT_EQ(line3, 4u);
}

}  // namespace kcat::scan
