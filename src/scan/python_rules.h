#pragma once
// The "python" rules of a RuleSet, their match parameters read once, and the Python tree-sitter
// queries compiled once: shared by every thread that analyzes Python.
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kcat/kb/rule.h"
#include "kcat/scan/parser.h"
#include "python_partial.h"

namespace kcat::scan::py {

// The words a comment, docstring or message is reported for (any letter case), as an RE2
// alternation: the mention rule's pattern and the partial parse's triggers share it.
inline constexpr const char* kMentionWords = "cuda|nccl|cudnn|nvidia|nvcc|cublas|nvtx";

// What a "python" rule matches (its `match.kind`).
enum class Kind : uint8_t { Api, Import, Method, DeviceString, String, Env, Keyword, SdpaMask, Mention };

// A "python" rule with its parameters read once.
struct PyRule {
  std::shared_ptr<const kb::Rule> rule;  // a copy: the compiled set outlives the caller's RuleSet
  Kind kind = Kind::Api;
  std::vector<std::string> names;   // api / import / method / keyword / sdpa: globs or identifiers
  std::vector<std::string> values;  // string: exact literal contents; keyword: the value as written
  std::vector<std::string> words;   // string: a literal starting with one of these as a word (a command line)
  std::vector<std::string> globs;   // string: globs the whole content matches (interpolations are {})
  std::vector<std::string> excludes;  // api / import: globs that never match (more specific rules own them)
  bool cuda_sources = false;          // api: only a call whose arguments name CUDA sources (.cu, with_cuda)
  std::string swap;                   // api: qualified prefix whose last segment the codemod replaces
  bool whole = false;                 // api: the codemod replaces the whole matched chain
  std::string name_replacement;       // import: replacement for `from X import <name>`
  bool call = false;                  // method: only when called
  std::optional<Severity> guarded;    // import inside try/except ImportError
  std::optional<Severity> in_comparison;  // string / device: severity when compared with ==
};

struct Compiled {
  std::vector<PyRule> rules;
  std::set<std::string, std::less<>> method_names;   // every name of a "method" rule: a quick no
  std::set<std::string, std::less<>> keyword_names;  // every name of a "keyword" rule
  const PyRule* mention = nullptr;                   // the first "mention" rule, if any
  std::unique_ptr<Triggers> triggers;                // what makes a statement worth parsing
  std::vector<std::pair<std::shared_ptr<const kb::Rule>, Query>> queries;
};

// Compiled once per distinct rule content; throws Error(Usage) for an unknown match kind or a bad
// query, naming the rule.
std::shared_ptr<const Compiled> compile_python_rules(const kb::RuleSet& rules);

}  // namespace kcat::scan::py
