#pragma once
// Where a repository states its requirements, read as the tools that consume them read them:
// requirement and constraint files in pip's own line grammar (with -r / -c followed),
// pyproject.toml (PEP 621 [project], poetry's table), setup.py (its syntax tree: never run),
// setup.cfg, environment.yml (the pip section; conda names mapped or dropped), and `pip install`
// commands in Dockerfiles, shell scripts and README code blocks, parsed as a shell and then as
// pip's argument grammar. README prose is never a source.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kcat/env/pep508.h"

namespace kcat::env {

struct Entry {
  // requirement | wheel (a wheel file or URL) | vcs (git+... or name @ git+...) | editable (-e)
  // | path (a local directory, e.g. `.`) | url (another direct URL) | index-url | extra-index-url
  // | find-links | trusted-host | no-index | option (any other pip option, kept as written)
  std::string kind;
  std::string text;                     // as written (one line of a file, or the pip argument)
  std::string value;                    // an option's value, or the URL / path
  std::optional<pep::Requirement> req;  // requirement, wheel (name==version), vcs/url when named
  std::string file;                     // repository-relative
  int line = 0;
  bool constraint = false;  // from a -c file: bounds a version, installs nothing
  bool declared = false;    // from a package's metadata (pyproject, setup.py, setup.cfg, conda)
  // from a Dockerfile, a shell script or a README code block (or a file one of them names): an
  // optional image or an alternative setup, not the project's runtime set while the project declares
  // one (requirement files, metadata); cleared when these are the only sources
  bool optional = false;
  // from the project's own Ascend setup: a requirements file or an extra named npu / ascend
  bool ascend = false;
  std::string name() const { return req ? req->key() : ""; }
  std::string where() const { return file + ":" + std::to_string(line); }
};

struct Sources {
  std::vector<Entry> entries;
  std::vector<std::string> read;  // files that gave at least one entry, in reading order
  // conda names dropped or mapped, lines that did not parse, commands skipped: with file:line
  std::vector<std::string> notes;
  std::string own_name;         // the repository's own distribution (pyproject / setup.py / setup.cfg)
  std::string requires_python;  // PEP 440 (requires-python, python_requires, poetry's python)
  std::string requires_python_from;
  // extras and files of development tools (dev, test, docs, lint, build, typing...) left out
  std::vector<std::string> skipped;
};

// Does a file stem or an extra name a development tool (requirements-dev, extra `docs`, `test_utils`)?
// Words split on - _ . ; the words: dev, develop, test(s), testing, doc(s), lint, ci, bench(mark),
// build, typing, style, quality.
bool tools_name(const std::string& name);
// Does it name the project's own Ascend setup (requirements/npu.txt, an `ascend` extra)? kcat's own
// requirements-ascend.txt is not one.
bool ascend_name(const std::string& name);

// Conda packages: the pip name for a conda name, or why it is dropped (patches/versions/conda.toml).
struct CondaMap {
  std::vector<std::pair<std::string, std::string>> to_pip;  // conda name -> pip name
  std::vector<std::pair<std::string, std::string>> drop;    // conda name (glob) -> reason
  static CondaMap load(const std::filesystem::path& data_dir);
};

Sources read_sources(const std::filesystem::path& repo, const CondaMap& conda);

// The simple commands of a shell script, each as its words after quote removal; words that keep
// an unexpanded $ are prefixed with "$". Comments, &&, ||, ;, |, & and newlines end a command.
std::vector<std::vector<std::string>> shell_commands(std::string_view script);
// The arguments after `pip install` when `words` is a pip install command (pip, pip3, pip3.10,
// python -m pip, uv pip, behind sudo / env / VAR=value), else nullopt.
std::optional<std::vector<std::string>> pip_install_args(const std::vector<std::string>& words);
// pip install's argument grammar: options with their values, requirement specifiers, paths and
// URLs. -r / -c files are returned as entries of kind "requirement-file" / "constraint-file".
std::vector<Entry> parse_pip_args(const std::vector<std::string>& args, const std::string& file, int line);
// One argument or requirement-file line that names something to install.
Entry classify(const std::string& text, const std::string& file, int line);

}  // namespace kcat::env
