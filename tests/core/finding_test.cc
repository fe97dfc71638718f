#include "kcat/core/finding.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/core/error.h"

namespace kcat {

TEST(Finding, JsonRoundTrip) {
  Finding f;
  f.rule_id = "py.cuda-method";
  f.category = "device-call";
  f.severity = Severity::Blocking;
  f.file = "train.py";
  f.span = {10, 14, {2, 5}, {2, 9}};
  f.matched = ".cuda()";
  f.codemod = "rename";
  f.replacement = "npu";
  f.context = Context::Code;
  f.verdict = Verdict::Supported;
  nlohmann::json j = f;
  EXPECT_EQ(j["severity"], "blocking");
  EXPECT_EQ(j["span"]["line"], 2);
  auto back = j.get<Finding>();
  EXPECT_EQ(back.span, f.span);
  EXPECT_EQ(back.severity, Severity::Blocking);
  EXPECT_EQ(back.verdict, Verdict::Supported);
  EXPECT_EQ(back.replacement, "npu");
}

TEST(Finding, StableOrder) {
  Finding a, b;
  a.file = "a.py";
  b.file = "a.py";
  a.span.begin = 5;
  b.span.begin = 3;
  EXPECT_TRUE(b < a);
  b.file = "b.py";
  EXPECT_TRUE(a < b);
}

TEST(Error, ExitCodesAndRendering) {
  Error e(ErrorKind::Usage, "bad flag", "kcat.toml:3", "remove it");
  EXPECT_EQ(e.exit_code(), ExitCode::Usage);
  EXPECT_EQ(e.render(), "error: bad flag\n  at kcat.toml:3\n  hint: remove it");
  EXPECT_EQ(Error(ErrorKind::Llm, "x").exit_code(), ExitCode::Llm);
  EXPECT_EQ(Error(ErrorKind::Budget, "x").exit_code(), ExitCode::Budget);
}

}  // namespace kcat
