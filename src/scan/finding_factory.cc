#include "kcat/scan/analyzer.h"

namespace kcat::scan {

Finding make_finding(const kb::Rule& rule, const SourceFile& file, uint32_t begin, uint32_t end) {
  Finding f;
  f.rule_id = rule.id;
  f.category = rule.category;
  f.severity = rule.severity;
  f.file = file.path;
  f.span.begin = begin;
  f.span.end = end;
  f.span.start = file.index.position(begin);
  f.span.stop = file.index.position(end);
  f.matched = file.bytes.substr(begin, end - begin);
  f.message = rule.message;
  f.action = rule.action;
  f.codemod = rule.codemod;
  f.recipe = rule.recipe;
  f.replacement = rule.replacement;
  f.source = rule.source;
  return f;
}

}  // namespace kcat::scan
