#pragma once
// Compiled rules are shared by RuleSet::fingerprint() (a hash of every rule, JSON dumps included:
// ~3% of a cold scan when taken per file). A scan computes it once and pins it on each worker
// thread; rules_key() uses the pinned value for that same RuleSet, and hashes otherwise.
#include <string>

#include "kcat/kb/rule.h"

namespace kcat::scan {

struct PinnedRules {
  const kb::RuleSet* rules = nullptr;
  const std::string* fingerprint = nullptr;
};

inline thread_local PinnedRules pinned_rules;

inline std::string rules_key(const kb::RuleSet& rules) {
  return pinned_rules.rules == &rules ? *pinned_rules.fingerprint : rules.fingerprint();
}

// For the lifetime of this object, on this thread, `fingerprint` is the key of `rules` (which
// must not change meanwhile).
class PinRules {
 public:
  PinRules(const kb::RuleSet& rules, const std::string& fingerprint) : saved_(pinned_rules) {
    pinned_rules = {&rules, &fingerprint};
  }
  ~PinRules() { pinned_rules = saved_; }
  PinRules(const PinRules&) = delete;
  PinRules& operator=(const PinRules&) = delete;

 private:
  PinnedRules saved_;
};

}  // namespace kcat::scan
