#include "kcat/scan/parser.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"

namespace kcat::scan {

TEST(Parser, AllThreeGrammarsLoad) {
  for (auto lang : {"python", "cpp", "cuda"}) {
    auto tree = parse(lang, "x");
    EXPECT_NE(tree, nullptr) << lang;
  }
  EXPECT_EQ(grammar("rust"), nullptr);
}

TEST(Parser, CountsSyntaxErrorsButStillGivesATree) {
  auto ok = parse("python", "import torch\nx = torch.zeros(3).cuda()\n");
  EXPECT_EQ(count_syntax_errors(ts_tree_root_node(ok.get())), 0u);
  auto bad = parse("python", "def f(:\n    return torch.cuda.synchronize()\n");
  EXPECT_GT(count_syntax_errors(ts_tree_root_node(bad.get())), 0u);
}

TEST(Parser, CudaGrammarParsesKernelLaunch) {
  auto tree = parse("cuda", "__global__ void k(float* x) {}\nvoid f() { k<<<1, 32>>>(nullptr); }\n");
  EXPECT_EQ(count_syntax_errors(ts_tree_root_node(tree.get())), 0u);
}

TEST(Parser, BadQueryNamesWhere) {
  try {
    compile_query("python", "(no_such_node) @x", "rules/x.toml:3");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "rules/x.toml:3");
    EXPECT_NE(std::string(e.what()).find("unknown node type"), std::string::npos);
  }
}

}  // namespace kcat::scan
