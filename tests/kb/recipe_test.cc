#include "kcat/kb/recipe.h"

#include <gtest/gtest.h>

#include "kcat/core/error.h"
#include "kcat/kb/data_dir.h"
#include "testsupport/support.h"

namespace kcat::kb {
namespace {

using test::TempDir;

const char* kGood = R"(
[[recipe]]
id = "a"
title = "A"
phase = "performance"
expected_gain = 1.5
source = "x:y"
[[recipe.edit]]
file = "**/*.py"
search = "foo"
replace = "bar"
[[recipe.env]]
name = "TASK_QUEUE_ENABLE"
value = "2"

[[recipe]]
id = "b"
title = "B"
phase = "attention"
kind = "port"
expected_gain = 3.0
source = "x:z"
[[recipe.file]]
path = "kcat/register.py"
content = "print(1)\n"
)";

std::string error_of(const std::string& toml) {
  TempDir d;
  test::write(d / "r.toml", toml);
  try {
    load_recipe_file(d / "r.toml");
  } catch (const Error& e) {
    return std::string(e.what()) + " @ " + e.where();
  }
  return "";
}

TEST(Recipe, LoadsEditsEnvAndFiles) {
  TempDir d;
  test::write(d / "r.toml", kGood);
  auto rs = load_recipe_file(d / "r.toml");
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].id, "a");
  EXPECT_EQ(rs[0].kind, "performance");  // the default
  ASSERT_EQ(rs[0].edits.size(), 1u);
  EXPECT_EQ(rs[0].edits[0].replace, "bar");
  ASSERT_EQ(rs[0].env.size(), 1u);
  EXPECT_EQ(rs[0].env[0].value, "2");
  EXPECT_NE(rs[0].origin.find("r.toml:2"), std::string::npos);
  EXPECT_EQ(rs[1].files.at(0).path, "kcat/register.py");
}

TEST(Recipe, OrdersByExpectedGainWithinAKind) {
  TempDir d;
  test::write(d / "1.toml", kGood);
  test::write(d / "2.toml", R"(
[[recipe]]
id = "c"
title = "C"
phase = "performance"
expected_gain = 2.0
source = "s"
[[recipe.env]]
name = "X"
value = "1"
)");
  auto set = load_recipes(d.path());
  auto perf = set.by_gain("performance");
  ASSERT_EQ(perf.size(), 2u);
  EXPECT_EQ(perf[0]->id, "c");
  EXPECT_EQ(perf[1]->id, "a");
  EXPECT_NE(set.find("b"), nullptr);
  EXPECT_EQ(set.find("zzz"), nullptr);
}

TEST(Recipe, RejectsBadRecipesNamingFileAndRecipe) {
  EXPECT_NE(
      error_of("[[recipe]]\nid='x'\ntitle='t'\nphase='performance'\n[[recipe.env]]\nname='A'\nvalue='1'\n")
          .find("no source"),
      std::string::npos);
  EXPECT_NE(error_of("[[recipe]]\nid='x'\ntitle='t'\nphase='speed'\nsource='s'\n[[recipe.env]]\nname='A'\n")
                .find("unknown phase"),
            std::string::npos);
  auto empty_search = error_of(
      "[[recipe]]\nid='x'\ntitle='t'\nphase='performance'\nsource='s'\n[[recipe.edit]]\nfile='a'\nsearch=''\n"
      "replace='b'\n");
  EXPECT_NE(empty_search.find("empty search"), std::string::npos);
  EXPECT_NE(empty_search.find("r.toml:6"), std::string::npos);
  EXPECT_NE(
      error_of("[[recipe]]\nid='x'\ntitle='t'\nphase='performance'\nsource='s'\n").find("changes nothing"),
      std::string::npos);
  EXPECT_NE(error_of("[[recipe]]\nid='x'\ntitle='t'\nphase='performance'\nsource='s'\nexpected_gain=0\n"
                     "[[recipe.env]]\nname='A'\n")
                .find("expected_gain"),
            std::string::npos);
  EXPECT_NE(error_of("[[recipe]]\nid='x'\ntitle='t'\nphase='performance'\nsource='s'\n[[recipe.file]]\n"
                     "path='../escape.py'\ncontent='x'\n")
                .find("inside the repository"),
            std::string::npos);
  EXPECT_NE(error_of("[[recipe]]\nid='x'\ntitle='t\n").find("r.toml:"), std::string::npos);  // bad TOML
  EXPECT_NE(error_of("title = 'x'\n").find("no [[recipe]]"), std::string::npos);
}

// A recipe of kind agent is the contract of a task for the LLM agent: it needs the task and has no
// change of its own (nothing would apply it).
TEST(Recipe, AnAgentRecipeHasATaskAndNoChangeOfItsOwn) {
  TempDir d;
  test::write(d / "r.toml",
              "[[recipe]]\nid='k'\ntitle='t'\nphase='kernels-build'\nkind='agent'\nsource='s'\n"
              "task='port it; oracle x_ref'\n");
  auto set = load_recipes(d.path());
  ASSERT_NE(set.find("k"), nullptr);
  EXPECT_EQ(set.find("k")->task, "port it; oracle x_ref");
  EXPECT_NE(error_of("[[recipe]]\nid='x'\ntitle='t'\nphase='kernels-build'\nkind='agent'\nsource='s'\n")
                .find("needs a task"),
            std::string::npos);
  EXPECT_NE(
      error_of("[[recipe]]\nid='x'\ntitle='t'\nphase='kernels-build'\nkind='agent'\nsource='s'\ntask='t'\n"
               "[[recipe.env]]\nname='A'\nvalue='1'\n")
          .find("no edit, env or file of its own"),
      std::string::npos);
  // The shipped cuda-extension-port (the rules' recipe for CUDA kernels) is one, citing torch_npu.
  auto shipped = load_recipes(default_data_dir() / "recipes");
  const auto* port = shipped.find("cuda-extension-port");
  ASSERT_NE(port, nullptr);
  EXPECT_EQ(port->kind, "agent");
  EXPECT_NE(port->task.find("kcat compare"), std::string::npos);
  EXPECT_NE(port->source.find("torch_npu/utils/cpp_extension.py@"), std::string::npos);
}

// A recipe that changes no code says what its sites are (outcome kept / left) and what they are told.
TEST(Recipe, OutcomeRecipesChangeNoCodeAndTellTheirSites) {
  const std::string head = "[[recipe]]\nid='x'\ntitle='t'\nphase='kernels-build'\nkind='port'\nsource='s'\n";
  TempDir d;
  test::write(d / "r.toml", head + "outcome='kept'\nsite_action='kept: runs as is'\n");
  auto rs = load_recipe_file(d / "r.toml");
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].outcome, "kept");
  EXPECT_EQ(rs[0].site_action, "kept: runs as is");
  EXPECT_NE(error_of(head + "outcome='maybe'\nsite_action='a'\n").find("outcome must be kept or left"),
            std::string::npos);
  EXPECT_NE(error_of(head + "outcome='left'\n").find("needs site_action"), std::string::npos);
  EXPECT_NE(error_of(head + "site_action='a'\n[[recipe.env]]\nname='A'\n").find("site_action needs outcome"),
            std::string::npos);
  EXPECT_NE(error_of(head + "outcome='kept'\nsite_action='a'\n[[recipe.edit]]\nsearch='a'\nreplace='b'\n")
                .find("changes no code"),
            std::string::npos);
  EXPECT_NE(error_of("[[recipe]]\nid='x'\ntitle='t'\nphase='kernels-build'\nsource='s'\noutcome='kept'\n"
                     "site_action='a'\n")
                .find("port recipe"),
            std::string::npos);
}

// The kernels recipes the scanner's Triton and kernel-DSL findings name exist and say what they do.
TEST(Recipe, ShippedKernelRecipes) {
  auto set = load_recipes(default_data_dir() / "recipes");
  const auto* triton = set.find("triton-kernel-port");
  ASSERT_NE(triton, nullptr);
  EXPECT_EQ(triton->outcome, "kept");
  EXPECT_EQ(triton->phase, "kernels-build");
  EXPECT_NE(
      triton->source.find("triton-lang/triton-ascend:docs/en/migration_guide/migrate_from_gpu.md@a84b1eb5"),
      std::string::npos);
  EXPECT_NE(triton->site_action.find("triton-ascend"), std::string::npos);
  const auto* dsl = set.find("kernel-dsl-port");
  ASSERT_NE(dsl, nullptr);
  EXPECT_EQ(dsl->outcome, "left");
  EXPECT_NE(dsl->site_action.find("reference"), std::string::npos);
}

TEST(Recipe, DuplicateIdsAcrossFilesAreAnError) {
  TempDir d;
  test::write(d / "1.toml", kGood);
  test::write(d / "2.toml", kGood);
  try {
    load_recipes(d.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate recipe id 'a'"), std::string::npos);
    EXPECT_NE(e.hint().find("1.toml"), std::string::npos);
  }
}

TEST(Recipe, MergeReplacesById) {
  TempDir d;
  test::write(d / "1.toml", kGood);
  auto set = load_recipes(d.path());
  RecipeSet extra;
  extra.recipes.push_back(set.recipes[0]);
  extra.recipes[0].title = "mine";
  extra.recipes.push_back(set.recipes[1]);
  extra.recipes[1].id = "new";
  merge_recipes(set, extra);
  EXPECT_EQ(set.recipes.size(), 3u);
  EXPECT_EQ(set.find("a")->title, "mine");
}

TEST(Recipe, MissingDirectoryIsEmpty) {
  EXPECT_TRUE(load_recipes("/nonexistent/kcat-recipes").recipes.empty());
}

// Every shipped recipe loads, cites a source, and names a known phase (load_recipes checks).
TEST(Recipe, ShippedRecipesLoad) {
  auto set = load_recipes(default_data_dir() / "recipes");
  for (const auto& r : set.recipes) {
    EXPECT_FALSE(r.source.empty()) << r.id;
    EXPECT_FALSE(r.title.empty()) << r.id;
  }
}

}  // namespace
}  // namespace kcat::kb
