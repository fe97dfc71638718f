// Issue 13 §4: what transfer_to_npu covers is data (patches/shim_coverage.toml), not a list in
// migrate/shim.cc.
#include "kcat/kb/shim.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::kb {

TEST(ShimCoverage, ShippedFileCoversTheMappedRulesEachSourced) {
  auto cov = load_shim_coverage(test::source_dir() / "patches");
  ASSERT_EQ(cov.size(), 8u);
  for (auto& c : cov) EXPECT_NE(c.source.find("transfer_to_npu.py"), std::string::npos) << c.rule;
  Finding f;
  f.rule_id = "py.is-cuda";
  EXPECT_TRUE(covered_by_shim(cov, f));
  f.rule_id = "py.device-string";
  f.severity = Severity::Blocking;
  EXPECT_TRUE(covered_by_shim(cov, f));
  f.severity = Severity::Warning;
  EXPECT_FALSE(covered_by_shim(cov, f));
  f.rule_id = "py.torch-cuda-api";
  f.verdict = Verdict::Supported;
  EXPECT_TRUE(covered_by_shim(cov, f));
  f.verdict = Verdict::Unknown;
  EXPECT_FALSE(covered_by_shim(cov, f));
  f.rule_id = "shim.to-int";  // a gap (patches/shim/gaps.toml)
  EXPECT_FALSE(covered_by_shim(cov, f));
}

TEST(ShimCoverage, AMalformedEntryIsRefusedByFileAndLine) {
  test::TempDir dir;
  test::write(dir / "shim_coverage.toml",
              "[[covered]]\nrule = \"py.x\"\nsource = \"s\"\n\n[[covered]]\nrule = "
              "\"py.y\"\nwhen = \"sometimes\"\nsource = \"s\"\n");
  try {
    load_shim_coverage(dir.path());
    ADD_FAILURE() << "accepted when = \"sometimes\"";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown when = \"sometimes\""), std::string::npos) << e.what();
    EXPECT_NE(e.where().find("shim_coverage.toml:5"), std::string::npos) << e.where();
  }
  test::write(dir / "shim_coverage.toml", "[[covered]]\nrule = \"py.x\"\n");
  try {
    load_shim_coverage(dir.path());
    ADD_FAILURE() << "accepted an entry without a source";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("needs rule and source"), std::string::npos) << e.what();
    EXPECT_NE(e.where().find("shim_coverage.toml:1"), std::string::npos) << e.where();
  }
}

}  // namespace kcat::kb
