#include "python_query.h"

#include <re2/re2.h>

#include <optional>
#include <string>
#include <vector>

#include "kcat/scan/parser.h"

namespace kcat::scan::py {

namespace {

std::optional<std::string_view> capture_text(const TSQueryMatch& m, uint32_t id, std::string_view src) {
  for (uint16_t i = 0; i < m.capture_count; ++i) {
    if (m.captures[i].index == id) return node_text(m.captures[i].node, src);
  }
  return std::nullopt;
}

// The length is an out-parameter: read it only after the call.
std::string_view string_value(const TSQuery* q, uint32_t id) {
  uint32_t len = 0;
  const char* p = ts_query_string_value_for_id(q, id, &len);
  return {p, len};
}

}  // namespace

bool predicates_hold(const TSQuery* q, const TSQueryMatch& m, std::string_view src) {
  uint32_t count = 0;
  const TSQueryPredicateStep* steps = ts_query_predicates_for_pattern(q, m.pattern_index, &count);
  std::vector<const TSQueryPredicateStep*> args;
  for (uint32_t i = 0; i < count; ++i) {
    if (steps[i].type != TSQueryPredicateStepTypeDone) {
      args.push_back(&steps[i]);
      continue;
    }
    if (args.size() == 3 && args[0]->type == TSQueryPredicateStepTypeString &&
        args[1]->type == TSQueryPredicateStepTypeCapture) {
      auto name = string_value(q, args[0]->value_id);
      auto left = capture_text(m, args[1]->value_id, src);
      std::optional<std::string_view> right;
      if (args[2]->type == TSQueryPredicateStepTypeCapture) {
        right = capture_text(m, args[2]->value_id, src);
      } else {
        right = string_value(q, args[2]->value_id);
      }
      if (!left || !right) return false;
      if (name == "eq?" && *left != *right) return false;
      if (name == "not-eq?" && *left == *right) return false;
      if (name == "match?" || name == "not-match?") {
        RE2 re(std::string(*right), RE2::Quiet);
        bool hit = re.ok() && RE2::PartialMatch(re2::StringPiece(left->data(), left->size()), re);
        if (hit != (name == "match?")) return false;
      }
    }
    args.clear();
  }
  return true;
}

}  // namespace kcat::scan::py
