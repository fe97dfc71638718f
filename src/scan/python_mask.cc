#include "python_mask.h"

#include <string>
#include <vector>

#include "kcat/scan/parser.h"
#include "python_ts.h"

namespace kcat::scan::py {

MaskKind classify_mask(TSNode e, TSNode scope, std::string_view src, int depth) {
  if (ts_node_is_null(e) || depth > 4) return MaskKind::Unknown;
  auto t = node_text(e, src);
  if (is(e, "none") || is(e, "comparison_operator") || is(e, "not_operator") || is(e, "boolean_operator")) {
    return MaskKind::Bool;
  }
  if (is(e, "unary_operator") && t.size() && t[0] == '~') return MaskKind::Bool;
  if (is(e, "parenthesized_expression"))
    return classify_mask(ts_node_named_child(e, 0), scope, src, depth + 1);
  if (t.find(".bool()") != std::string_view::npos || t.find("torch.bool") != std::string_view::npos) {
    return MaskKind::Bool;
  }
  if (is(e, "binary_operator")) {
    auto op = node_text(ts_node_child(e, 1), src);
    if (op == "&" || op == "|" || op == "^") return MaskKind::Unknown;
    return MaskKind::Float;  // arithmetic yields a float bias
  }
  if (is(e, "identifier")) {
    auto name = std::string(t);
    if (name.find("bias") != std::string::npos) return MaskKind::Float;
    // The last assignment to this name in the enclosing function decides.
    MaskKind kind = MaskKind::Unknown;
    std::vector<TSNode> stack{scope};
    while (!stack.empty()) {
      TSNode n = stack.back();
      stack.pop_back();
      if (ts_node_start_byte(n) >= ts_node_start_byte(e)) continue;
      if (is(n, "assignment") && node_text(field(n, "left"), src) == name) {
        kind = classify_mask(field(n, "right"), scope, src, depth + 1);
      }
      for (uint32_t i = ts_node_named_child_count(n); i > 0; --i)
        stack.push_back(ts_node_named_child(n, i - 1));
    }
    return kind;
  }
  if (t.find("bias") != std::string_view::npos || t.find("dtype") != std::string_view::npos ||
      t.find(".float()") != std::string_view::npos || t.find(".half()") != std::string_view::npos ||
      t.find("-inf") != std::string_view::npos || t.find("masked_fill") != std::string_view::npos) {
    return MaskKind::Float;
  }
  return MaskKind::Unknown;
}

}  // namespace kcat::scan::py
