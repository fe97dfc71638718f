#include "kcat/cli/command.h"

#include "kcat/scan/scanner.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <regex>

namespace kcat::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

bool Globals::use_color(int fd) const {
  if (color == "always") return true;
  if (color == "never") return false;
  if (const char* nc = std::getenv("NO_COLOR"); nc && *nc) return false;
  return ::isatty(fd) != 0;
}

namespace {

// The metavariable for an option left with CLI11's TEXT: its long name (else its short or
// positional name) in capitals.
std::string metavar_of(const CLI::Option* opt) {
  std::string name = !opt->get_lnames().empty()   ? opt->get_lnames().front()
                     : !opt->get_snames().empty() ? opt->get_snames().front()
                                                  : opt->get_name(true, false);
  // Names whose kind says more than the name: a file to write or read, a git ref, a URL.
  static const std::map<std::string, std::string> kinds{
      {"output", "FILE"}, {"rules", "FILE"},     {"config", "FILE"},   {"log", "FILE"},
      {"onto", "REF"},    {"host", "USER@HOST"}, {"index-url", "URL"}, {"extra-index-url", "URL"}};
  if (auto it = kinds.find(name); it != kinds.end()) return it->second;
  for (auto& c : name) c = static_cast<char>(c == '_' ? '-' : std::toupper(static_cast<unsigned char>(c)));
  return name;
}

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override {
    // `--no-llm{false}`: CLI11 shows a flag's default value in braces; the name is enough.
    static const std::regex braces(R"(\{[^}]*\})");
    return std::regex_replace(CLI::Formatter::make_option_name(opt, is_positional), braces, "");
  }
  std::string make_option_opts(const CLI::Option* opt) const override {
    auto text = CLI::Formatter::make_option_opts(opt);
    static const std::regex file_like(R"(\bTEXT:(FILE|DIR|PATH)\b)");
    static const std::regex number(R"(\b(INT|UINT|FLOAT|NUMBER)\b)");
    static const std::regex word(R"(\bTEXT\b)");
    text = std::regex_replace(text, file_like, "$1");
    text = std::regex_replace(text, number, "N");
    return std::regex_replace(text, word, metavar_of(opt));
  }
};

template <class T>
void add_repo(CLI::App* cmd, T& path, bool positional, const std::string& what) {
  CLI::Option* pos = nullptr;
  if (positional) pos = cmd->add_option("path", path, what)->type_name("PATH");
  auto* c = cmd->add_option(positional ? "-C" : "-C,--repo", path,
                            positional ? "The repository, as git -C (the same as PATH)" : what)
                ->type_name("PATH");
  if (pos) c->excludes(pos);
}

}  // namespace

void add_filter_options(CLI::App* cmd, scan::SiteFilter& f) {
  cmd->add_option("--select", f.select,
                  "Only these rules: an id, a prefix (py.) or a glob (py.cuda-*); repeatable, or a,b")
      ->type_name("RULE")
      ->delimiter(',');
  cmd->add_option("--exclude", f.exclude, "Leave out these rules (as --select); counted as suppressed")
      ->type_name("RULE")
      ->delimiter(',');
  cmd->add_option("--select-path", f.select_paths, "Only these files: a folder or a path glob (src/**/*.py)")
      ->type_name("GLOB")
      ->delimiter(',');
  cmd->add_option("--exclude-path", f.exclude_paths, "Leave out these files (as --select-path)")
      ->type_name("GLOB")
      ->delimiter(',');
}

std::shared_ptr<CLI::Formatter> help_formatter() { return std::make_shared<HelpFormatter>(); }

void add_repo_option(CLI::App* cmd, std::string& path, bool positional, const std::string& what) {
  add_repo(cmd, path, positional, what);
}

void add_repo_option(CLI::App* cmd, std::filesystem::path& path, bool positional, const std::string& what) {
  add_repo(cmd, path, positional, what);
}

}  // namespace kcat::cli
