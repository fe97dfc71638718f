// The hand lexer that masks C++ / CUDA must blank exactly what the tree-sitter walk blanks: the
// text rules run on the mask, so equal masks mean equal findings.
#include "kcat/scan/cpp_mask.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "kcat/core/fs.h"
#include "kcat/kb/rule.h"
#include "kcat/scan/scanner.h"
#include "testsupport/support.h"

namespace kcat::scan {

namespace {

// Where the two masks differ, with a little context, or "" when they agree.
std::string mask_difference(const std::string& language, const std::string& text) {
  SourceFile file("x", language, text);
  auto lexed = mask_cpp(text);
  auto tree = mask_cpp_tree_sitter(file, nullptr);
  if (lexed.size() != tree.size()) return "sizes differ";
  for (size_t i = 0; i < lexed.size(); ++i) {
    if (lexed[i] == tree[i]) continue;
    size_t from = i > 40 ? i - 40 : 0;
    std::ostringstream os;
    os << "offset " << i << "\n  source: [" << text.substr(from, 100) << "]\n  lexer:  ["
       << lexed.substr(from, 100) << "]\n  tree:   [" << tree.substr(from, 100) << "]";
    return os.str();
  }
  return "";
}

const kb::RuleSet& rules() {
  static const kb::RuleSet set = kb::load_rules(test::source_dir() / "patches" / "rules");
  return set;
}

// The findings of the C++ rules through the lexer's mask and through tree-sitter's, as text.
std::pair<std::string, std::string> findings_both_ways(const std::string& language, const std::string& text) {
  SourceFile file("x", language, text);
  auto show = [](std::vector<Finding> all) {
    std::sort(all.begin(), all.end());
    std::string out;
    for (auto& f : all) {
      out += f.rule_id + " " + std::to_string(f.span.begin) + "-" + std::to_string(f.span.end) + " " +
             f.matched + "\n";
    }
    return out;
  };
  return {show(analyze_cpp_masked(file, mask_cpp(text), rules())),
          show(analyze_cpp_masked(file, mask_cpp_tree_sitter(file, nullptr), rules()))};
}

void expect_same(const std::string& text) {
  for (auto lang : {"cpp", "cuda"}) {
    EXPECT_EQ(mask_difference(lang, text), "") << lang << " grammar, source:\n" << text;
    auto [lexed, parsed] = findings_both_ways(lang, text);
    EXPECT_EQ(lexed, parsed) << lang << " grammar, source:\n" << text;
  }
}

}  // namespace

TEST(CppMask, BlanksCommentsAndStringsKeepsCode) {
  std::string src =
      "int a = 1; // cudaMalloc(\n/* cuda\n x */ cudaFree(p); const char* s = \"cudaMalloc(\";\n";
  auto m = mask_cpp(src);
  ASSERT_EQ(m.size(), src.size());
  EXPECT_EQ(m.find("cudaMalloc"), std::string::npos);
  EXPECT_NE(m.find("cudaFree(p);"), std::string::npos);
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), std::count(src.begin(), src.end(), '\n'));
  expect_same(src);
}

TEST(CppMask, SameAsTreeSitterOnLiterals) {
  expect_same(
      "auto a = \"cuda \\\" still string\"; auto b = L\"cuda\"; auto c = u8\"nccl\" U\"x\" u\"y\";\n");
  expect_same("auto r = R\"x(cuda \" )\" nvidia)x\"; auto q = R\"(cudaMalloc()\"; int z = cudaFree(p);\n");
  expect_same("auto r = u8R\"--(line one cuda\nline two \"quoted\" nccl\n)--\"; cudaStream_t s;\n");
  expect_same("char c = 'c'; char d = '\\''; wchar_t e = L'x'; int n = 1'000'000; char q = '\"'; cuda();\n");
  expect_same("int x = 0x1'FF; double y = 1e+5, z = .5e-3; auto s = \"cuda\"_sv; cudaSetDevice(0);\n");
  expect_same("const char* s = \"line \\\n continued cuda\"; cudaDeviceSynchronize();\n");
}

TEST(CppMask, SameAsTreeSitterOnCommentsAndContinuations) {
  expect_same("// a comment \\\n still the comment cudaMalloc(\ncudaFree(p);\n");
  expect_same("/* cuda */ int a; /* multi\n line nccl */ int b; /**/ int c; /***/ ncclAllReduce(x);\n");
  expect_same("int a = b / c; int d = e /f; // cuda\n");
  expect_same(
      "int a;\r\n// cuda comment\r\nconst char* s = \"nccl\";\r\ncudaMalloc(p);\r\n/* x\r\n cuda */\r\n");
}

TEST(CppMask, SameAsTreeSitterOnPreprocessor) {
  expect_same(
      "#include \"cuda_runtime.h\"  // cuda\n#include <cuda.h>\n#  include \"nccl.h\" /* c */\nint x;\n");
  expect_same(
      "#define MSG \"cuda error\"\n#define CHECK(x) do { printf(\"%s\", \"nccl\"); } while (0) // cuda\n"
      "int a = cudaMalloc(p);\n");
  expect_same("#define A 1 /* cuda */\n#define B(x) \\\n  \"cuda\" \\\n  x\nconst char* s = \"cuda\";\n");
  expect_same("#pragma once\n#pragma unroll // cuda\n#error \"needs cuda\"\n#undef X\nint y;\n");
  expect_same(
      "#if 0\nconst char* s = \"cuda\"; // nccl\ncudaMalloc(p);\n#endif  // cuda\n#ifdef __CUDACC__\n"
      "#else /* nccl */\n#endif\n");
  expect_same(
      "#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800 // cuda\nint a;\n#elif 1\nint b;\n#endif\n");
  expect_same("#define EMPTY\n#define F(a, b) a##b #a\nint v = F(1, 2);\n  # define G \"cuda\"\n");
}

TEST(CppMask, SameAsTreeSitterOnTheFixtures) {
  for (auto& e : std::filesystem::recursive_directory_iterator(test::fixtures_dir())) {
    if (!e.is_regular_file()) continue;
    auto lang = language_for(e.path().filename());
    if (lang != "cpp" && lang != "cuda") continue;
    auto text = read_file(e.path());
    EXPECT_EQ(mask_difference(lang, text), "") << e.path();
    auto [lexed, parsed] = findings_both_ways(lang, text);
    EXPECT_EQ(lexed, parsed) << e.path();
    EXPECT_FALSE(lexed.empty() && text.find("cuda") != std::string::npos) << e.path();
  }
}

// A larger corpus on demand: KCAT_MASK_CORPUS=/path/to/DeepSpeed build/.../kcat_scan_test
// (tools/dev.sh test sets it to C++ headers every build machine has).
TEST(CppMask, SameAsTreeSitterOnACorpus) {
  const char* dir = std::getenv("KCAT_MASK_CORPUS");
  if (!dir) GTEST_SKIP() << "set KCAT_MASK_CORPUS to a source tree";
  size_t files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    auto lang = language_for(e.path().filename());
    if (lang != "cpp" && lang != "cuda") continue;
    auto text = read_file(e.path());
    ++files;
    EXPECT_EQ(mask_difference(lang, text), "") << e.path();
    auto [lexed, parsed] = findings_both_ways(lang, text);
    EXPECT_EQ(lexed, parsed) << e.path();
  }
  EXPECT_GT(files, 0u);
}

}  // namespace kcat::scan
