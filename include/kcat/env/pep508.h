#pragma once
// Python packaging's own grammars, parsed for real: PEP 440 versions and specifiers, PEP 508
// requirements (name, extras, specifier or URL, environment marker). Recursive descent, no regexes;
// the tests take their cases from the PEPs' own examples.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kcat::env::pep {

// A PEP 440 version in its normalised form: 1!2.0.0rc1.post2.dev3+local.
struct Version {
  long epoch = 0;
  std::vector<long> release;
  std::optional<std::pair<int, long>> pre;  // (0 a | 1 b | 2 rc, n)
  std::optional<long> post;
  std::optional<long> dev;
  std::string local;  // normalised: lower case, separators as '.'

  // Throws Error(Usage) naming the text when it is not a PEP 440 version.
  static Version parse(std::string_view text);
  static std::optional<Version> try_parse(std::string_view text);
  bool is_prerelease() const { return pre.has_value() || dev.has_value(); }
  bool is_postrelease() const { return post.has_value(); }
  std::string str() const;      // normalised text
  Version public_part() const;  // without the local part
  Version base() const;         // the release alone (epoch and release segments)
};

// Orders by PEP 440 (local parts compared as the PEP says); <0, 0, >0.
int compare(const Version& a, const Version& b);
inline bool operator<(const Version& a, const Version& b) { return compare(a, b) < 0; }
inline bool operator==(const Version& a, const Version& b) { return compare(a, b) == 0; }

// One clause: "~=1.4.5", "==1.1.*", "!=2.0", ">=1.0", "===foo".
struct Specifier {
  std::string op;       // ~= == != <= >= < > ===
  std::string version;  // as written (with .* for prefix matches)
  bool contains(const Version& v) const;
  std::string str() const { return op + version; }
};

// A comma-separated set: every clause must hold. Empty = any version.
struct SpecifierSet {
  std::vector<Specifier> clauses;
  static SpecifierSet parse(std::string_view text);  // throws Error(Usage)
  // Pre-releases are admitted only when asked for, or when a clause names one (PEP 440).
  bool contains(const Version& v, bool prereleases = false) const;
  bool contains(std::string_view version, bool prereleases = false) const;
  bool empty() const { return clauses.empty(); }
  // The exact version when the set is a single == clause without a wildcard.
  std::optional<std::string> pinned() const;
  std::string str() const;
};

// An environment marker: `python_version < "3.8" and (os_name == "posix" or extra == "test")`.
struct Marker {
  struct Node;
  std::shared_ptr<const Node> root;
  std::string text;
  // Variables absent from env are "" (extra too); version comparisons follow PEP 440 for the
  // version variables and fall back to strings when either side is not a version.
  bool evaluate(const std::map<std::string, std::string>& env) const;
};
Marker parse_marker(std::string_view text);  // throws Error(Usage)

// The environment of a Linux CPython of this version ("3.10"), on aarch64 or x86_64.
std::map<std::string, std::string> linux_environment(const std::string& python = "3.11",
                                                     const std::string& machine = "aarch64");

struct Requirement {
  std::string name;  // as written
  std::vector<std::string> extras;
  SpecifierSet specifier;
  std::string url;  // name @ url
  std::optional<Marker> marker;
  std::string key() const;  // canonical name (PEP 503: lower case, runs of -_. as -)
  std::string str() const;  // normalised text
};

// PEP 508: `name [extras] (specifier | @ url) ; marker`. Throws Error(Usage) with the position.
Requirement parse_requirement(std::string_view text);
std::optional<Requirement> try_parse_requirement(std::string_view text);

// PEP 503 name normalisation.
std::string canonical_name(std::string_view name);

}  // namespace kcat::env::pep
