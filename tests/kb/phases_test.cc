// Issue 13 §4: which plan phase a category goes to is data (patches/phases.toml), not a chain of
// ifs in plan.cc.
#include "kcat/kb/phases.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "testsupport/support.h"

namespace kcat::kb {
namespace {

const std::vector<std::string> kIds = {"environment", "device-api",    "distributed",
                                       "attention",   "kernels-build", "performance"};

TEST(Phases, ShippedMapSendsCategoriesAndRecipesToTheirPhase) {
  auto m = load_phase_map(test::source_dir() / "patches", kIds);
  EXPECT_EQ(m.fallback, "device-api");
  for (auto& p : m.phases) EXPECT_FALSE(p.source.empty()) << p.id;
  EXPECT_EQ(m.phase_of("requirements", ""), "environment");
  EXPECT_EQ(m.phase_of("dist-backend", ""), "distributed");
  EXPECT_EQ(m.phase_of("triton-kernel", ""), "kernels-build");
  EXPECT_EQ(m.phase_of("cuda-api", ""), "device-api");
  EXPECT_EQ(m.phase_of("import", ""), "environment");             // no recipe: a package
  EXPECT_EQ(m.phase_of("import", "flash-attn"), "attention");     // its recipe says attention
  EXPECT_EQ(m.phase_of("import", "apex-amp"), "device-api");      // a recipe, not attention
  EXPECT_EQ(m.phase_of("cuda-api", "sdpa-to-npu"), "attention");  // recipe before category
  EXPECT_EQ(m.phase_of_category("import"), "device-api");
}

TEST(Phases, AMalformedMapIsRefusedByFileAndLine) {
  test::TempDir dir;
  auto refused = [&](const std::string& text, const std::string& what, const std::string& where) {
    test::write(dir / "phases.toml", text);
    try {
      load_phase_map(dir.path(), kIds);
      ADD_FAILURE() << "accepted:\n" << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_NE(e.where().find(where), std::string::npos) << e.where();
    }
  };
  refused("default = \"device-api\"\n\n[[phase]]\nid = \"kernels\"\nsource = \"s\"\n",
          "unknown phase 'kernels'", "phases.toml:3");
  refused(
      "default = \"device-api\"\n[[phase]]\nid = \"environment\"\ncategories = [\"build\"]\nsource = \"s\"\n"
      "[[phase]]\nid = \"kernels-build\"\ncategories = [\"build\"]\nsource = \"s\"\n",
      "category 'build' is in phase 'environment' and in phase 'kernels-build'", "phases.toml:6");
  refused("default = \"device-api\"\n[[phase]]\nid = \"environment\"\n", "a phase needs id and source",
          "phases.toml:2");
  refused("default = \"gpu\"\n", "unknown phase 'gpu'", "phases.toml:1");
  std::filesystem::remove(dir / "phases.toml");
  EXPECT_THROW(load_phase_map(dir.path(), kIds), Error);
}

}  // namespace
}  // namespace kcat::kb
