#include "kcat/config/common.h"

#include "kcat/core/error.h"
#include "kcat/kb/data_dir.h"

namespace kcat::cli {

kb::RuleSet load_rule_catalog(const std::vector<std::string>& user_rule_files) {
  auto set = kb::load_rules(kb::default_data_dir() / "rules");
  for (auto& f : user_rule_files) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(f, ec)) {
      throw Error(ErrorKind::Usage, "rule file not found", f,
                  "give a TOML file of [[rule]] tables (docs/rules.md)");
    }
    kb::merge_rules(set, kb::load_rule_file(f));
  }
  return set;
}

kb::KnowledgeBase load_knowledge_base() { return kb::KnowledgeBase::load(kb::default_data_dir()); }

}  // namespace kcat::cli
