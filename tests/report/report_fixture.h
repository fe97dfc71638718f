#pragma once
#include "kcat/report/run_report.h"

namespace kcat::report::test_data {

// A run with two fixed sites, two left (one blocking), two steps and a four-iteration
// optimization (one reverted) against a baseline and a target.
inline RunReport sample() {
  RunReport r;
  r.run_id = "20261124T220000Z-abc123";
  r.repo = "ddp-llm";
  r.target = "ascend-a2";
  r.branch = "kcat/ascend-a2";
  r.base_commit = "0123456789abcdef0123";
  r.outcome = "findings-left";
  auto site = [](std::string file, uint32_t line, std::string rule, Severity sev, std::string status,
                 std::string how) {
    Site s;
    s.finding.file = std::move(file);
    s.finding.span.start = {line, 5};
    s.finding.rule_id = std::move(rule);
    s.finding.severity = sev;
    s.finding.message = "uses <cuda> & \"nccl\"";
    s.finding.action = "port it";
    s.status = std::move(status);
    s.how = std::move(how);
    if (s.status == "fixed") s.commit = "feedfacecafe";
    return s;
  };
  r.sites.push_back(site("train.py", 3, "py.cuda-method", Severity::Blocking, "fixed", "replace"));
  r.sites.push_back(site("train.py", 9, "py.dist-backend", Severity::Blocking, "fixed", "replace"));
  r.sites.push_back(site("model.py", 12, "py.flash-attn-import", Severity::Blocking, "left",
                         "recipe:flash-attn-to-npu-fusion-attention"));
  r.sites.push_back(site("model.py", 40, "py.cudnn-benchmark", Severity::Warning, "left", "manual"));
  StepRecord s1{"device-api-1",
                "Device API codemods",
                "codemod",
                "done",
                "",
                "feedfacecafe",
                "--- a/train.py\n+++ b/train.py\n@@ -3 +3 @@\n-x.cuda()\n+x.npu()\n",
                {"reparse", "py_compile", "rescan"},
                {}};
  StepRecord s2{"attention-1",
                "flash_attn -> npu_fusion_attention",
                "recipe",
                "failed",
                "py_compile failed",
                "",
                "",
                {"reparse", "py_compile"},
                {"py_compile"}};
  r.steps = {s1, s2};
  r.metric_unit = "tok/s";
  r.baseline = 15;
  r.target_metric = 100;
  r.iterations = {{1, "baseline port", 20, 0.01, 5, true, "first measurement", "a1"},
                  {2, "npu-task-queue-level2", 35, 0.02, 5, true, "+75%", "a2"},
                  {3, "tiny-chunks", 12, 0.02, 5, false, "-66%: reverted", ""},
                  {4, "fused-attention", 110, 0.01, 5, true, "+214%", "a4"}};
  return r;
}

}  // namespace kcat::report::test_data
