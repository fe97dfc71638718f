// framework: a repository that already has its own Ascend backend is configured, not patched.
#include "kcat/kb/framework.h"
#include "kcat/core/events.h"
#include "kcat/kb/data_dir.h"
#include "kcat/migrate/phases.h"

namespace kcat::migrate {

bool framework_phase(Run& r) {
  auto framework =
      kb::detect_framework(r.p.root, kb::load_frameworks(kb::default_data_dir() / "frameworks.toml"));
  if (!framework) return false;
  r.framework_note = kb::framework_note(*framework);
  r.ledger->append("framework", {{"framework", framework->id}, {"note", r.framework_note}});
  events::emit("framework", {{"framework", framework->id}, {"note", r.framework_note}});
  report::StepRecord fr;
  fr.id = "framework";
  fr.title = "Configure " + framework->name + " for the NPU";
  fr.action = "manual";
  fr.status = "skipped";
  fr.reason = r.framework_note + "; kcat made no edits";
  r.book.records["framework"] = fr;
  r.book.order.push_back("framework");
  return true;
}

}  // namespace kcat::migrate
