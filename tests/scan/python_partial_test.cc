// The partial parse (src/scan/python_partial.h) must find exactly what the whole parse finds,
// while giving the parser less.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "kcat/core/fs.h"
#include "kcat/kb/rule.h"
#include "kcat/scan/analyzer.h"
#include "testsupport/support.h"

namespace kcat::scan {
namespace {

const kb::RuleSet& rules() {
  static const kb::RuleSet set = kb::load_rules(test::source_dir() / "patches" / "rules");
  return set;
}

struct BothWays {
  std::string partial, whole;  // the findings as JSON
  size_t partial_bytes = 0, whole_bytes = 0;
};

BothWays both_ways(const std::string& code, const kb::RuleSet& set = rules(),
                   const std::string& path = "pkg/t.py") {
  SourceFile f(path, "python", code);
  AnalyzeStats ps, ws;
  BothWays b;
  b.partial = nlohmann::json(analyze_python(f, set, &ps, PythonParse::Partial)).dump(1);
  b.whole = nlohmann::json(analyze_python(f, set, &ws, PythonParse::Whole)).dump(1);
  b.partial_bytes = ps.bytes_parsed;
  b.whole_bytes = ws.bytes_parsed;
  return b;
}

// A file shaped like a real one: most statements hold nothing a rule matches.
std::string padding(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    s += "def helper_" + std::to_string(i) +
         "(x, y=2):\n    \"\"\"Adds.\"\"\"\n    z = [x, y]\n    return sum(z) * " + std::to_string(i) +
         "\n\n";
  }
  return s;
}

TEST(PythonPartial, ParsesLessAndFindsTheSame) {
  std::string code = "import os\nimport torch\n\n" + padding(30) +
                     "def main():\n    torch.cuda.synchronize()\n    x = torch.zeros(3).cuda()\n" +
                     padding(30);
  auto b = both_ways(code);
  EXPECT_EQ(b.partial, b.whole);
  EXPECT_LT(b.partial_bytes * 4, b.whole_bytes) << "the padding is not parsed";
  EXPECT_NE(b.partial.find("torch.cuda.synchronize"), std::string::npos);
}

TEST(PythonPartial, NamesBoundElsewhereAreFollowed) {
  // `autocast`, `tr`, `gpu` and `ops` hold no literal where they are used.
  std::string code =
      "from torch.cuda.amp import autocast, GradScaler\nimport triton as tr\n"
      "import torch.cuda as gpu\nfrom torch import ops\n\n" +
      padding(10) + "def step(m, x):\n    with autocast():\n        y = m(x)\n    return y\n\n" +
      padding(10) + "def grid(n):\n    return tr.cdiv(n, 128)\n\n" + padding(10) +
      "def sync():\n    gpu.synchronize()\n\n" + "def op(x):\n    return ops._C.rms_norm(x)\n\n" +
      "scaler = GradScaler()\n" + padding(10);
  auto b = both_ways(code);
  EXPECT_EQ(b.partial, b.whole);
  EXPECT_LT(b.partial_bytes, b.whole_bytes);
  for (auto* want : {"torch.cuda.amp.autocast", "triton.cdiv", "torch.cuda.synchronize",
                     "torch.ops._C.rms_norm", "torch.cuda.amp.GradScaler"}) {
    EXPECT_NE(b.partial.find(want), std::string::npos) << want;
  }
}

TEST(PythonPartial, ClassesKeepTheirShape) {
  std::string code =
      "import torch\n\n\nclass Model(torch.nn.Module):\n    \"\"\"A model. Uses CUDA.\"\"\"\n\n" +
      std::string("    def __init__(self):\n        super().__init__()\n        self.w = 1\n\n") +
      "    @property\n    def device(self):\n        return 'cuda:0'\n\n" +
      "    \"cuda\"  # a string statement, not the docstring\n\n" +
      "    def forward(self, x):\n        return x * self.w\n\n\nclass Plain:\n    def f(self):\n"
      "        return 1\n\n\n@torch.no_grad()\nclass Decorated:\n    x = 1\n    y = 'nccl'\n" +
      padding(20);
  auto b = both_ways(code);
  EXPECT_EQ(b.partial, b.whole);
  EXPECT_LT(b.partial_bytes, b.whole_bytes);
}

TEST(PythonPartial, ModuleDocstringStaysFirst) {
  std::string code = "\"\"\"Runs on CUDA.\"\"\"\n" + padding(5) + "\"cuda\"\n" + padding(5);
  auto b = both_ways(code);
  EXPECT_EQ(b.partial, b.whole);
  std::string no_doc = "x = 1\n" + padding(5) + "\"cuda\"\n" + padding(5);
  auto c = both_ways(no_doc);
  EXPECT_EQ(c.partial, c.whole);
}

TEST(PythonPartial, GuardedImportsAndAliasesAnywhere) {
  std::string code = padding(5) +
                     "def load():\n    try:\n        import flash_attn as fa\n    except ImportError:\n"
                     "        fa = None\n    return fa\n\n" +
                     padding(5) + "def use(q):\n    return fa.flash_attn_func(q)\n\n" +
                     "def late():\n    import numpy as cuda_like\n    return cuda_like\n\n" + padding(5) +
                     "def method(t):\n    import numpy as t2\n    return t2.cuda()\n";
  auto b = both_ways(code);
  EXPECT_EQ(b.partial, b.whole);
}

TEST(PythonPartial, ModuleLevelMaskFallsBackToTheWholeFile) {
  // The mask's kind is decided by an assignment in a statement without a literal.
  std::string code = "import torch\nimport torch.nn.functional as F\n" + padding(5) +
                     "mask = torch.zeros(4, 4).masked_fill(m, float('-inf'))\n" + padding(5) +
                     "out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)\n";
  auto b = both_ways(code);
  EXPECT_EQ(b.partial, b.whole);
  EXPECT_NE(b.partial.find("sdpa"), std::string::npos);
}

TEST(PythonPartial, BrokenOrOddSourcesStillMatch) {
  for (std::string code : {
           std::string("import torch\n") + padding(3) + "def f(:\n    torch.cuda.x()\n" + padding(3),
           std::string("import torch\nx = (1,\n") + padding(3) + "torch.cuda.y()\n",  // unbalanced: whole
           std::string("import torch\r\n") +
               "def f():\r\n    return 1\r\n\r\ndef g():\r\n    torch.cuda.z()\r\n",
           std::string("import torch\rdef f():\r    return 1\rdef g():\r    torch.cuda.z()\r"),
           std::string("\xEF\xBB\xBFimport torch\n") + padding(3) + "torch.cuda.w()\n",
           std::string("s = '''\nclass X:\n  cuda\n'''\n") + padding(3) + "y = 'cuda'\n",
           std::string("print 'python 2'\n") + padding(3) + "import torch\ntorch.cuda.v()\n",
       }) {
    auto b = both_ways(code);
    EXPECT_EQ(b.partial, b.whole) << code;
  }
}

TEST(PythonPartial, EveryFixtureMatches) {
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(test::fixtures_dir())) {
    if (!e.is_regular_file() || e.path().extension() != ".py") continue;
    auto b = both_ways(read_file(e.path()));
    EXPECT_EQ(b.partial, b.whole) << e.path();
    ++files;
  }
  EXPECT_GT(files, 10u);
}

TEST(PythonPartial, RulesWithoutLiteralsParseWholeFiles) {
  kb::RuleSet set = rules();
  kb::Rule q;
  q.id = "user.any-call";
  q.languages = {"python"};
  q.matcher = "query";
  q.query = "(call function: (identifier) @match (#eq? @match \"launch\"))";
  q.category = "kernel";
  q.severity = Severity::Warning;
  set.rules.push_back(q);
  std::string code =
      "import torch\n" + padding(10) + "def go():\n    launch()\n    torch.cuda.x()\n" + padding(10);
  SourceFile f("t.py", "python", code);
  AnalyzeStats st;
  auto found = analyze_python(f, set, &st);
  EXPECT_EQ(st.bytes_parsed, code.size());
  bool launched = false;
  for (auto& x : found) launched = launched || x.rule_id == "user.any-call";
  EXPECT_TRUE(launched);
}

// A larger corpus on demand: KCAT_PARTIAL_CORPUS=/path/to/DeepSpeed build/.../kcat_scan_test
// (tools/dev.sh test sets it to the Python standard library).
TEST(PythonPartial, SameAsWholeOnACorpus) {
  const char* dir = std::getenv("KCAT_PARTIAL_CORPUS");
  if (!dir) GTEST_SKIP() << "set KCAT_PARTIAL_CORPUS to a source tree";
  size_t files = 0, partial = 0, whole = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".py") continue;
    if (e.path().string().find("/.git/") != std::string::npos) continue;
    // A Python's standard library (tools/dev.sh test runs this on one) may hold third-party
    // packages: not part of it, and ten times its size.
    auto rel = std::filesystem::relative(e.path(), dir).generic_string();
    if (rel.find("site-packages/") != std::string::npos || rel.find("dist-packages/") != std::string::npos) {
      continue;
    }
    auto b = both_ways(read_file(e.path()), rules(), rel);
    EXPECT_EQ(b.partial, b.whole) << e.path();
    ++files;
    partial += b.partial_bytes;
    whole += b.whole_bytes;
  }
  EXPECT_GT(files, 0u);
  std::printf("%zu files, parsed %zu of %zu bytes (%.1f%%)\n", files, partial, whole,
              whole ? 100.0 * static_cast<double>(partial) / static_cast<double>(whole) : 0.0);
}

}  // namespace
}  // namespace kcat::scan
