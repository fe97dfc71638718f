// Honest accounting (issue 12): scan, plan, migrate's report, status and report count the same sites
// the same way: found = fixed + left + notes, and a note (the repository's own package, a guarded
// optional import that needs no change) is not work left.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testsupport/support.h"

namespace kcat {
namespace {

// A repository whose own package is mamba_ssm (a name py.cuda-only-import lists): train.py imports
// it (a note), imports xformers guarded (a note: no change needed) and, with `blocking`, pynvml
// unguarded (work left); mamba_ssm/ops.py has a .cuda() a codemod fixes.
struct Fixture {
  test::TempDir dir;
  explicit Fixture(bool blocking) {
    test::write(dir / "mamba_ssm/__init__.py", "");
    test::write(dir / "mamba_ssm/ops.py", "import torch\n\n\ndef ones():\n    return torch.ones(3).cuda()\n");
    std::string train =
        "import torch\n"
        "from mamba_ssm.ops import ones\n"
        "try:\n"
        "    import xformers.ops as xops\n"
        "except ImportError:\n"
        "    xops = None\n";
    if (blocking) train += "import pynvml\n";
    train += "\n\ndef main():\n    return ones()\n";
    test::write(dir / "train.py", train);
    test::git_init_commit(dir.path());
  }
  std::string path() const { return dir.path().string(); }
};

nlohmann::json json_of(const test::Result& r) {
  try {
    return nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << r.out << r.err;
    return nlohmann::json::object();
  }
}

struct Counts {
  size_t found = 0, fixed = 0, left = 0, blocking = 0, notes = 0;
};

// The run's totals as `kcat report --format json` reads report.json back.
Counts report_counts(const Fixture& fx) {
  auto r = test::kcat({"report", "-C", fx.path(), "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto t = json_of(r)["totals"];
  Counts c;
  c.found = t.value("found", 0u);
  c.fixed = t.value("fixed_by_codemod", 0u) + t.value("fixed_by_recipe", 0u) + t.value("fixed_by_llm", 0u) +
            t.value("covered_by_shim", 0u);
  c.left = t.value("left_for_recipe", 0u) + t.value("left_for_llm", 0u) + t.value("left_for_person", 0u);
  c.blocking = t.value("blocking_left", 0u);
  c.notes = t.value("notes", 0u);
  return c;
}

// scan, plan and status on the migrated tree give the report's left and notes.
void expect_the_same_left_and_notes(const Fixture& fx, const Counts& rep) {
  auto scan = test::kcat({"scan", fx.path(), "--format", "json", "--exit-zero"});
  ASSERT_EQ(scan.exit_code, 0) << scan.err;
  auto s = json_of(scan)["summary"];
  EXPECT_EQ(s.value("left", 99u), rep.left) << scan.out;
  EXPECT_EQ(s.value("notes", 99u), rep.notes) << scan.out;
  EXPECT_EQ(s.value("blocking", 99u), rep.blocking) << scan.out;

  auto plan = test::kcat({"plan", fx.path(), "--format", "json"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  auto p = json_of(plan)["sites"];
  EXPECT_EQ(p.value("left", 99u), rep.left) << plan.out;
  EXPECT_EQ(p.value("notes", 99u), rep.notes) << plan.out;
  EXPECT_EQ(p.value("blocking", 99u), rep.blocking) << plan.out;

  auto status = test::kcat({"status", fx.path()});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto line = fmt::format("sites: {} left ({} blocking), {} note{}", rep.left, rep.blocking, rep.notes,
                          rep.notes == 1 ? "" : "s");
  EXPECT_NE(status.out.find(line), std::string::npos) << line << "\n" << status.out;
}

TEST(Accounting, FoundIsFixedPlusLeftPlusNotesAndEveryCommandAgrees) {
  Fixture fx(true);
  // Before the port: the own-package import is no blocking py.cuda-only-import.
  auto before = test::kcat({"scan", fx.path(), "--format", "json", "--exit-zero"});
  size_t own_imports = 0;
  auto before_json = json_of(before);
  for (auto& f : before_json["findings"]) {
    if (f.value("file", "") == "train.py" && f["span"].value("line", 0) == 2) {
      ++own_imports;
      EXPECT_EQ(f.value("severity", ""), "info") << f.dump();
    }
  }
  EXPECT_EQ(own_imports, 1u) << before.out;
  auto m = test::kcat({"migrate", fx.path(), "--target", "ascend-a2", "--author", "T <t@t.t>"});
  EXPECT_EQ(m.exit_code, 1) << m.out << m.err;  // pynvml is work left
  auto rep = report_counts(fx);
  EXPECT_EQ(rep.found, rep.fixed + rep.left + rep.notes);
  EXPECT_GE(rep.fixed, 1u);     // the .cuda()
  EXPECT_EQ(rep.notes, 4u);     // mamba_ssm and the guarded xformers: each imported and used
  EXPECT_EQ(rep.blocking, 1u);  // pynvml
  expect_the_same_left_and_notes(fx, rep);
  auto md = test::kcat({"report", "-C", fx.path()});
  EXPECT_NE(md.out.find("| blocking left | notes |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("| 1 | 4 |\n"), std::string::npos) << md.out;
}

TEST(Accounting, OnlyNotesLeftIsDoneAndExitsZero) {
  Fixture fx(false);
  auto m = test::kcat({"migrate", fx.path(), "--target", "ascend-a2", "--author", "T <t@t.t>"});
  EXPECT_EQ(m.exit_code, 0) << m.out << m.err;
  auto r = test::kcat({"report", "-C", fx.path(), "--format", "json"});
  auto j = json_of(r);
  EXPECT_EQ(j.value("outcome", ""), "done") << r.out;
  auto rep = report_counts(fx);
  EXPECT_EQ(rep.found, rep.fixed + rep.left + rep.notes);
  EXPECT_EQ(rep.notes, 4u);
  EXPECT_EQ(rep.blocking, 0u);
  expect_the_same_left_and_notes(fx, rep);
}

}  // namespace
}  // namespace kcat
