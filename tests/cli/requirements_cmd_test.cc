#include <gtest/gtest.h>

#include "testsupport/support.h"

namespace kcat {

TEST(RequirementsCommand, WritesTheFileAndResolvesPinsAgainstTheStack) {
  test::TempDir dir;
  test::copy_tree(test::fixtures_dir() / "env/ocr2-like", dir.path());
  auto r = test::kcat({"requirements", dir.path().string(), "--cann", "8.1.RC1", "--write"});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // the transformers pin is moved to what vLLM 0.8.5 requires
  EXPECT_NE(r.out.find("resolved: transformers 4.46.3"), std::string::npos) << r.out;
  auto file = test::read(dir / "requirements-ascend.txt");
  EXPECT_NE(file.find("torch-npu==2.5.1"), std::string::npos);
  EXPECT_NE(file.find("# flash-attn==2.7.3  # kcat: dropped"), std::string::npos) << file;
  EXPECT_NE(file.find("transformers>=4.51.1  # kcat:"), std::string::npos) << file;
  auto bad = test::kcat({"requirements", dir.path().string(), "--cann", "1.0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("8.1.RC1"), std::string::npos) << bad.err;
}

}  // namespace kcat
