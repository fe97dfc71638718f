// requirements: requirements-ascend.txt on the branch, through the gate like any other step, so the
// plan's `pip install -r requirements-ascend.txt` names a file that exists. The stack is the plan's
// route for the repository when one fits (the same choice `kcat plan` and `kcat requirements`
// make), else the plan's default. Index URLs and VCS entries from the repository are refused here
// (unattended): `kcat requirements --allow-repo-indexes --write` keeps them with consent.
#include <fmt/format.h>

#include <algorithm>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/env/requirements.h"
#include "kcat/kb/data_dir.h"
#include "kcat/kb/route.h"
#include "kcat/kb/target.h"
#include "kcat/migrate/phases.h"
#include "kcat/plan/plan.h"

namespace kcat::migrate {

void requirements_phase(Run& r) {
  if (r.over_budget()) return;
  env::SolveOptions so;
  if (auto route =
          plan::stack_route(r.p.root, kb::load_routes(kb::default_data_dir() / "routes"), r.o.route)) {
    so.vllm_ascend = route->stack.at("vllm_ascend");
    so.route = route->id;
  }
  auto scanned = r.scan();
  // Where triton-ascend runs: the target's `triton` (patches/targets).
  so.triton_kernels = kb::find_target(kb::load_targets(kb::default_data_dir()), r.o.target).triton &&
                      env::has_triton_kernels(scanned.findings);
  env::Solution s;
  try {
    s = env::solve(r.p.root, so, kb::VersionMatrix::load(kb::default_data_dir()));
  } catch (const Error& e) {
    r.ledger->append("requirements-skipped", {{"reason", e.what()}});
    return;
  }
  const std::string file = "requirements-ascend.txt";
  auto text = env::render_file(s);
  std::string old;
  std::error_code ec;
  if (std::filesystem::exists(r.p.root / file, ec)) old = read_file(r.p.root / file);
  if (old == text) return;  // already on the branch
  StepWork w;
  w.key = "requirements";
  w.id = "environment-requirements";
  w.title = fmt::format("Environment: {} for CANN {} (torch {}, torch-npu {}{})", file, s.cann, s.torch,
                        s.torch_npu, s.vllm_ascend ? ", vllm-ascend " + s.vllm_ascend->vllm_ascend : "");
  w.patch.edits.push_back({file, 0, static_cast<uint32_t>(old.size()), text, "requirements", false});
  std::string body = fmt::format("Stack: {}.\nRead: {}.\n", s.stack_reason, fmt::join(s.read, ", "));
  for (auto& d : s.dropped) body += fmt::format("Dropped: {} ({}): {}\n", d.what, d.file, d.replacement);
  for (auto& c : s.resolved)
    body += fmt::format("Moved: {}: {} (source: {})\n", c.what, c.explanation, c.source);
  for (auto& c : s.conflicts)
    body += fmt::format("Conflict left for a person: {}: {}\n", c.what, c.explanation);
  for (auto& x : s.refused)
    body +=
        fmt::format("Refused (no consent): `{}` from {}; `kcat requirements --allow-repo-indexes` keeps it\n",
                    x.what, x.where);
  w.patch.message = fmt::format("kcat: {} for the Ascend stack\n\n{}", file, body);
  run_step(r, w);
}

}  // namespace kcat::migrate
