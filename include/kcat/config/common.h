#pragma once
// What several commands share: loading the rule catalog (+ user rule files) and the knowledge base.
#include <string>
#include <vector>

#include "kcat/kb/knowledge.h"
#include "kcat/kb/rule.h"

namespace kcat::cli {

kb::RuleSet load_rule_catalog(const std::vector<std::string>& user_rule_files);
kb::KnowledgeBase load_knowledge_base();

}  // namespace kcat::cli
