// render_json writes the findings by hand (speed); it must give the very bytes nlohmann's dump
// gives for the same tree, whatever the strings hold.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kcat/scan/output.h"

namespace kcat::scan {

namespace {

Finding finding(std::string file, std::string matched, std::string message) {
  Finding f;
  f.rule_id = "cpp.cuda-runtime-api";
  f.category = "cuda-api";
  f.severity = Severity::Blocking;
  f.file = std::move(file);
  f.span = {12, 22, {3, 5}, {3, 15}};
  f.matched = std::move(matched);
  f.message = std::move(message);
  f.action = "use aclrtMalloc";
  f.codemod = "replace";
  f.replacement = "aclrtMalloc";
  f.context = Context::String;
  f.verdict = Verdict::Supported;
  f.equivalent = "torch_npu.npu.synchronize";
  f.source = "Ascend/pytorch:torch_npu/x.py#L1";
  return f;
}

// What render_json gave before it wrote findings by hand: the whole tree through nlohmann.
std::string through_nlohmann(const std::string& rendered, const ScanResult& r) {
  auto j = nlohmann::json::parse(rendered);
  j["findings"] = r.findings;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

TEST(RenderJson, ByteForByteWhatNlohmannWrites) {
  ScanResult r;
  r.findings = {
      finding("src/a.cu", "cudaMalloc", "plain"),
      finding("src/b.py", "quote \" backslash \\ slash /", "tab\tnewline\ncr\rcontrol\x02\x1f del\x7f"),
      finding("src/ü/é.py", "日本語 and 🙂", "ünïcödé"),
      finding("src/c.py", std::string("bad utf-8 \xff\xfe end"), std::string("cut \xe6\x97 off")), Finding{}};
  r.findings[1].verdict = Verdict::None;
  r.findings[2].severity = Severity::Info;
  r.skipped = {{"big.bin", "binary file (NUL bytes)"}};
  r.files_with_syntax_errors = {"src/b.py"};
  r.files_seen = 9;
  r.seconds = 0.25;
  auto text = render_json(r);
  EXPECT_EQ(text, through_nlohmann(text, r));

  ScanResult empty;
  auto none = render_json(empty);
  EXPECT_EQ(none, through_nlohmann(none, empty));
  EXPECT_NE(none.find("\"findings\": []"), std::string::npos);
}

}  // namespace kcat::scan
