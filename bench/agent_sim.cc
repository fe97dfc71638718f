// The agent against a scripted model (issue 18 "Measure it"), no LLM and no NPU needed: each
// scenario replays one model behaviour, good or bad, through the real agent::run on a repository
// (the OCR-2 fixture, trimmed from DeepSeek-OCR-2, or a small file), against the scripted
// OpenAI-compatible server of the tests. It counts the steps done honestly (the behaviour ports the
// code, guards or disputes with a reason), the steps wrongly accepted (a superficial "fix" that
// ended as done: must be 0) and the prompt tokens of each step, estimated from the request bodies at
// 3 bytes a token as kcat's context fitting does.
//
//   kcat_agent_sim
//
// Prints a Markdown table for docs/PERFORMANCE.md.
#include <fmt/format.h>

#include <iostream>
#include <string>
#include <vector>

#include "kcat/agent/agent.h"
#include "kcat/kb/data_dir.h"
#include "kcat/scan/scanner.h"
#include "testsupport/fake_llm.h"
#include "testsupport/support.h"

using namespace kcat;
namespace fs = std::filesystem;

namespace {

const char* kAttn =
    "import torch\nfrom flash_attn import flash_attn_func\n\n\ndef attend(q, k, v):\n"
    "    return flash_attn_func(q, k, v, causal=False)\n";
const char* kSdpaFile = "ocr_vllm/deepencoder/sam_sdpa.py";
const char* kSdpaLine =
    "        x = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias)\n";

struct Scenario {
  std::string name;
  bool ocr2 = false;  // the OCR-2 fixture; else model/attn.py (kAttn)
  std::string rule;
  bool honest_done = false;  // what a correct judge says: the behaviour really finishes the step
  std::string check;         // [agent] check
  std::vector<test::Reply> replies;
};

test::Reply call(const std::string& name, const nlohmann::json& args) {
  return test::reply_tool_call(name, args.dump(), 2000, 50);
}

nlohmann::json edit(const std::string& path, const std::string& search, const std::string& replace) {
  return {{"path", path}, {"search", search}, {"replace", replace}, {"why", "scripted"}};
}

test::Reply done() { return call("finish_step", {{"status", "done"}, {"summary", "scripted"}}); }
test::Reply person() { return call("finish_step", {{"status", "needs-person"}, {"summary", "gave up"}}); }

std::vector<Scenario> scenarios() {
  const std::string port_call =
      "    return torch_npu.npu_fusion_attention(q, k, v, q.shape[2], \"BSND\", scale=q.shape[-1] ** "
      "-0.5)[0]\n";
  return {
      {"good: port import and call (kb_lookup, read, 2 edits)",
       false,
       "py.flash-attn-import",
       true,
       "",
       {call("kb_lookup", {{"name", "flash_attn"}}), call("read_file", {{"path", "model/attn.py"}}),
        call("edit_file",
             edit("model/attn.py", "from flash_attn import flash_attn_func\n", "import torch_npu\n")),
        call("edit_file",
             edit("model/attn.py", "    return flash_attn_func(q, k, v, causal=False)\n", port_call)),
        done()}},
      {"good: guard the optional import (try/except ImportError)",
       false,
       "py.flash-attn-import",
       true,
       "",
       {call("edit_file", edit("model/attn.py", "from flash_attn import flash_attn_func\n",
                               "try:\n    from flash_attn import flash_attn_func\nexcept ImportError:\n"
                               "    flash_attn_func = None\n")),
        done()}},
      {"good: dispute a finding with a reason",
       false,
       "py.flash-attn-import",
       true,
       "",
       {call("dispute_finding",
             {{"path", "model/attn.py"},
              {"line", 2},
              {"rule_id", "py.flash-attn-import"},
              {"reason", "this file only runs on the GPU CI host; the NPU build never imports it"}}),
        done()}},
      {"bad: comment out the flagged SDPA line (OCR-2 SAM attention), claim done",
       true,
       "py.sdpa-float-mask",
       false,
       "",
       {call("edit_file", edit(kSdpaFile, kSdpaLine, "        # " + std::string(kSdpaLine).substr(8))),
        done(), person()}},
      {"bad: delete the flagged SDPA line, claim done",
       true,
       "py.sdpa-float-mask",
       false,
       "",
       {call("edit_file", edit(kSdpaFile, kSdpaLine, "")), done(), person()}},
      {"bad: swap the import for torch_npu, leave the call, claim done",
       false,
       "py.flash-attn-import",
       false,
       "",
       {call("edit_file",
             edit("model/attn.py", "from flash_attn import flash_attn_func\n", "import torch_npu\n")),
        done(), person()}},
      {"bad: findings gone but the repository's check fails, claim done",
       false,
       "py.flash-attn-import",
       false,
       "grep -q 'scale=' model/attn.py",
       {call("edit_file",
             edit("model/attn.py", "from flash_attn import flash_attn_func\n", "import torch_npu\n")),
        call("edit_file", edit("model/attn.py", "flash_attn_func(q, k, v, causal=False)",
                               "torch_npu.npu_fusion_attention(q, k, v, q.shape[2], \"BSND\")[0]")),
        done(), person()}},
      {"bad: claim done without an edit",
       false,
       "py.flash-attn-import",
       false,
       "",
       {done(), done(), person()}},
  };
}

struct Row {
  std::string name, status;
  bool honest_done;
  size_t requests;
  long first_tokens, max_tokens, total_tokens;
  bool branch_clean;
};

Row play(const Scenario& s, const kb::RuleSet& rules, const kb::KnowledgeBase& kb) {
  test::TempDir dir;
  if (s.ocr2) {
    test::copy_tree(test::fixtures_dir() / "ocr2/repo", dir.path());
  } else {
    test::write(dir / "model/attn.py", kAttn);
  }
  test::git_init_commit(dir.path());
  auto repo = patch::GitRepo::open(dir.path());
  repo.checkout_new_or_existing("kcat/ascend-a2");
  const auto base = repo.head_id();
  scan::ScanOptions so;
  so.root = dir.path();
  so.use_cache = false;
  auto r = scan::scan(so, rules);
  kb.annotate(r.findings);
  agent::Task t{"sim-1", "Port " + s.rule, "no rule or recipe ports this", {}};
  for (auto& f : r.findings) {
    if (f.rule_id == s.rule) t.findings.push_back(f);
  }
  test::FakeLlm fake(s.replies);
  llm::LlmConfig c;
  c.base_url = fake.base_url();
  c.model = "scripted";
  c.max_retries = 1;
  llm::Client client(c);
  agent::Options o;
  o.run_id = "sim";
  o.check_command = s.check;
  auto out = agent::run(client, repo, {t}, rules, kb, o);
  Row row{s.name, out.steps.at(0).status, s.honest_done, fake.request_count(), 0, 0, 0, false};
  for (auto& req : fake.requests()) {
    long tokens = static_cast<long>(req.dump().size() / 3);
    if (row.first_tokens == 0) row.first_tokens = tokens;
    row.max_tokens = std::max(row.max_tokens, tokens);
    row.total_tokens += tokens;
  }
  // A step not done leaves nothing on the branch; a done one leaves one commit.
  auto commits = repo.log("HEAD", base, 10).size();
  row.branch_clean = repo.dirty_files().empty() && (row.status == "done" ? commits <= 1 : commits == 0);
  return row;
}

}  // namespace

int main() {
  auto rules = kb::load_rules(kb::default_data_dir() / "rules");
  auto kb = kb::KnowledgeBase::load(kb::default_data_dir());
  std::vector<Row> rows;
  for (const auto& s : scenarios()) rows.push_back(play(s, rules, kb));
  int honest = 0, wrong = 0, refused_right = 0, missed = 0;
  std::cout << "| behaviour | outcome | requests | prompt tokens: first / largest / step | branch |\n"
               "|---|---|---:|---|---|\n";
  for (const auto& r : rows) {
    bool done = r.status == "done";
    honest += done && r.honest_done;
    wrong += done && !r.honest_done;
    refused_right += !done && !r.honest_done;
    missed += !done && r.honest_done;
    std::cout << fmt::format("| {} | {}{} | {} | {} / {} / {} | {} |\n", r.name, r.status,
                             done && !r.honest_done   ? " (WRONGLY ACCEPTED)"
                             : !done && r.honest_done ? " (missed)"
                                                      : "",
                             r.requests, r.first_tokens, r.max_tokens, r.total_tokens,
                             r.branch_clean ? "one commit or none" : "HALF-PORTED");
  }
  std::cout << fmt::format(
      "\n{} steps: {} done honestly, {} wrongly accepted, {} superficial fixes refused, {} honest fixes "
      "missed\n",
      rows.size(), honest, wrong, refused_right, missed);
  return wrong == 0 ? 0 : 1;
}
