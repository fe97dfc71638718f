// CUDA C++ extensions as plan items (issue 17 item 3): found in setup.py / CMakeLists.txt, their
// build handled by the repository's own switch or reported, their kernels and their oracle listed.
#include "kcat/plan/extensions.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"
#include "kcat/core/text.h"
#include "kcat/patch/ref_fallback.h"
#include "kcat/plan/plan.h"

namespace kcat::plan {
namespace {

constexpr size_t kMaxBytes = 2u << 20;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    auto nl = text.find('\n', start);
    auto end = nl == std::string::npos ? text.size() : nl;
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

size_t indent_of(const std::string& line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i;
}

std::string base_name(const std::string& rel) {
  auto slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

std::string dir_of(const std::string& rel) {
  auto slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash + 1);
}

bool is_cu(const std::string& p) { return p.ends_with(".cu") || p.ends_with(".cuh"); }

// The right-hand sides of every `name = ...` in the text, and of the names they use, three levels
// deep: what a condition's variables were computed from.
std::string resolved(const std::vector<std::string>& lines, const std::string& expr) {
  static const RE2 ident(R"(([A-Za-z_]\w*))");
  std::string out = expr;
  std::set<std::string> seen;
  std::string frontier = expr;
  for (int depth = 0; depth < 3 && !frontier.empty(); ++depth) {
    std::string next;
    re2::StringPiece in(frontier);
    std::string name;
    while (RE2::FindAndConsume(&in, ident, &name)) {
      if (!seen.insert(name).second) continue;
      RE2 assign("^\\s*" + name + "\\s*=\\s*(.+)$");
      for (const auto& l : lines) {
        std::string rhs;
        if (RE2::FullMatch(l, assign, &rhs) && rhs[0] != '=') next += " " + rhs;
      }
    }
    out += next;
    frontier = next;
  }
  return out;
}

// `if [not] NAME:` where NAME = os.getenv("V", "D") == "X" (or os.environ.get): the switch.
ExtensionBuild env_switch(const std::vector<std::string>& lines, const std::string& cond, size_t cond_line) {
  static const RE2 simple(R"(^\s*(not\s+)?([A-Za-z_]\w*)\s*$)");
  std::string negated, name;
  if (!RE2::FullMatch(cond, simple, &negated, &name)) return {};
  RE2 assign(
      "^\\s*" + name +
      R"(\s*=\s*os\.(?:getenv|environ\.get)\(\s*["']([\w.-]+)["']\s*,\s*["']([^"']*)["']\s*\)\s*==\s*["']([^"']*)["']\s*$)");
  for (const auto& l : lines) {
    std::string var, dflt, value;
    if (!RE2::FullMatch(l, assign, &var, &dflt, &value)) continue;
    bool is_set_default = dflt == value;
    bool builds_by_default = negated.empty() ? is_set_default : !is_set_default;
    auto where = fmt::format("`if {}:` (line {}), {} from {}", trim(cond), cond_line + 1, name, var);
    if (!builds_by_default) {
      // The CUDA build needs the variable: set to `value` when not negated, else to anything else.
      if (!negated.empty()) return {};  // "set it to anything but X" names no value to print
      return {"off-by-default", var + "=" + value,
              "the CUDA sources are built only when " + var + "=" + value + " is set (" + where +
                  "): a default install skips them, nothing to change"};
    }
    if (negated.empty()) return {};  // skipping needs "anything but X": not a documented value
    return {"switch", var + "=" + value,
            "the repository's own switch skips the CUDA build (" + where + "): set " + var + "=" + value +
                " for pip install on the NPU host; no edit"};
  }
  return {};
}

}  // namespace

ExtensionBuild setup_py_build(const std::string& text, size_t line) {
  auto lines = split_lines(text);
  if (line >= lines.size()) return {"unknown", "", "no such line"};
  static const RE2 ternary(R"(CUDAExtension\s+if\s+(.+?)\s+else\b)");
  static const RE2 header(
      R"(^\s*(if|elif|else|for|while|with|def|class|try|except|finally)\b(.*):\s*(#.*)?$)");
  std::string cond;
  size_t cond_line = line;
  if (!RE2::PartialMatch(lines[line], ternary, &cond)) {
    // The enclosing blocks, upwards: the first `if` one is the condition.
    size_t ind = indent_of(lines[line]);
    for (size_t i = line; i-- > 0 && ind > 0;) {
      auto t = trim(lines[i]);
      if (t.empty() || t[0] == '#' || t[0] == ')' || t[0] == ']' || t[0] == '}') continue;
      if (indent_of(lines[i]) >= ind) continue;
      ind = indent_of(lines[i]);
      std::string kw, rest;
      if (!RE2::FullMatch(lines[i], header, &kw, &rest, static_cast<void*>(nullptr))) continue;
      if (kw == "if") {
        cond = trim(rest);
        cond_line = i;
        break;
      }
      if (kw == "elif" || kw == "else")
        return {"unknown", "",
                fmt::format("built in an `{}` branch (line {}): kcat does not guess its condition; a person "
                            "makes the CUDA build conditional",
                            kw, i + 1)};
    }
  }
  if (cond.empty())
    return {"unconditional", "",
            fmt::format(
                "CUDAExtension built unconditionally (line {}), no switch in setup.py: kcat does not edit "
                "the build (a wrong edit is worse than a missed one); a person builds it only when CUDA "
                "is present (torch.cuda.is_available() and CUDA_HOME), and the package falls back",
                line + 1)};
  auto from = resolved(lines, cond);
  if (from.find("torch.cuda.is_available()") != std::string::npos ||
      from.find("CUDA_HOME") != std::string::npos)
    return {"cuda-detected", "",
            fmt::format("the CUDA sources are built only when CUDA is present (`{}`, line {}, from "
                        "torch.cuda.is_available() / CUDA_HOME): nothing to change on the NPU host",
                        cond, cond_line + 1)};
  if (auto sw = env_switch(lines, cond, cond_line); !sw.how.empty()) return sw;
  return {"unknown", "",
          fmt::format("built under `{}` (line {}), which kcat cannot read as a documented switch: a person "
                      "checks that a build on the NPU host skips the CUDA sources",
                      cond, cond_line + 1)};
}

namespace {

struct RepoText {
  std::string rel;
  std::string text;
};

std::vector<RepoText> read_files(const std::filesystem::path& root) {
  std::vector<RepoText> out;
  for (const auto& rel : repository_files(root)) {
    auto name = base_name(rel);
    bool want = rel.ends_with(".py") || is_cu(rel) || name == "CMakeLists.txt" || rel.ends_with(".cmake");
    if (!want) continue;
    std::error_code ec;
    if (std::filesystem::file_size(root / rel, ec) > kMaxBytes || ec) continue;
    try {
      out.push_back({rel, read_file(root / rel)});
    } catch (const Error&) {
    }
  }
  return out;
}

std::vector<std::string> string_literals(const std::string& s) {
  static const RE2 lit(R"(["']([^"'\n]+)["'])");
  std::vector<std::string> out;
  re2::StringPiece in(s);
  std::string v;
  while (RE2::FindAndConsume(&in, lit, &v)) out.push_back(v);
  return out;
}

void add_cu_files(CudaExtension& e, const std::vector<RepoText>& files, const std::string& base,
                  const std::vector<std::string>& listed) {
  std::set<std::string> cu, dirs;
  for (const auto& s : listed) {
    if (!is_cu(s) && !s.ends_with(".cpp") && !s.ends_with(".cc")) continue;
    auto rel = base + s;
    if (is_cu(s)) cu.insert(rel);
    dirs.insert(dir_of(rel));
  }
  // Headers of the listed folders (.cuh) belong to the same kernels.
  for (const auto& f : files)
    if (f.rel.ends_with(".cuh") && dirs.count(dir_of(f.rel))) cu.insert(f.rel);
  // Sources found at build time (glob): every .cu under the build file's folder.
  if (cu.empty())
    for (const auto& f : files)
      if (is_cu(f.rel) && f.rel.starts_with(base)) cu.insert(f.rel);
  e.cu_files.assign(cu.begin(), cu.end());
}

void add_kernels(CudaExtension& e, const std::vector<RepoText>& files) {
  static const RE2 global(
      R"(__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?(?:static\s+|inline\s+)*void\s+(\w+))");
  for (const auto& f : files) {
    if (!std::binary_search(e.cu_files.begin(), e.cu_files.end(), f.rel)) continue;
    re2::StringPiece in(f.text);
    std::string k;
    while (RE2::FindAndConsume(&in, global, &k)) e.kernels.push_back(f.rel + ":" + k);
  }
}

bool is_test_file(const std::string& rel) {
  auto name = base_name(rel);
  return name.starts_with("test_") || name.ends_with("_test.py") || rel.starts_with("tests/") ||
         rel.starts_with("test/") || rel.find("/tests/") != std::string::npos;
}

bool has_word(const std::string& text, const std::string& word) {
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    bool left = at == 0 || !(std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_');
    size_t end = at + word.size();
    bool right =
        end >= text.size() || !(std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_');
    if (left && right) return true;
  }
  return false;
}

// The oracle: the repository's pure-PyTorch references (`*_ref`, `ref_*`, `reference_*`) named after
// the extension (its name without _cuda/_C/_ext), or defined in a test that imports its package;
// the tests that call one of them; the Python files that import or call the module.
void add_oracle(CudaExtension& e, const std::vector<RepoText>& files) {
  auto top = e.name.substr(0, e.name.find('.'));
  auto last = e.name.substr(e.name.rfind('.') + 1);
  std::string stem = e.name.find('.') != std::string::npos ? top : e.name;
  for (const char* suffix : {"_cuda", "_cpp", "_ext", "_C"})
    if (stem.size() > std::strlen(suffix) && stem.ends_with(suffix))
      stem.resize(stem.size() - std::strlen(suffix));
  // A name kcat made up (no name= found: "setup.py:12") or too short to mean anything names no reference.
  bool by_name = stem.size() >= 3 && e.name.find(':') == std::string::npos;
  static const RE2 def(R"((?m)^\s*def\s+(\w+_ref|ref_\w+|reference_\w+)\s*\()");
  // The extension's name is repository text: quoted, and an invalid pattern is not logged.
  RE2::Options quiet;
  quiet.set_log_errors(false);
  const RE2 imports_top("(?m)^\\s*(import|from)\\s+" + RE2::QuoteMeta(top) + "\\b", quiet);
  const RE2 imports_last("(?m)^\\s*(import\\s+" + RE2::QuoteMeta(last) +
                             "\\b|from\\s+\\S+\\s+import\\s+.*\\b" + RE2::QuoteMeta(last) + "\\b)",
                         quiet);
  std::map<std::string, std::string> refs;  // name -> file
  for (const auto& f : files) {
    if (!f.rel.ends_with(".py")) continue;
    bool imports_pkg = is_test_file(f.rel) && e.name.find('.') != std::string::npos && !top.empty() &&
                       RE2::PartialMatch(f.text, imports_top);
    re2::StringPiece in(f.text);
    std::string name;
    while (RE2::FindAndConsume(&in, def, &name))
      if ((by_name && name.find(stem) != std::string::npos) || imports_pkg) refs.emplace(name, f.rel);
    bool uses = (!last.empty() && RE2::PartialMatch(f.text, imports_last)) ||
                (!top.empty() && f.text.find("torch.ops." + top + ".") != std::string::npos);
    if (uses && !is_test_file(f.rel)) e.users.push_back(f.rel);
  }
  for (const auto& [name, file] : refs) e.references.push_back(name + " (" + file + ")");
  for (const auto& f : files) {
    if (!f.rel.ends_with(".py") || !is_test_file(f.rel)) continue;
    for (const auto& [name, file] : refs)
      if (has_word(f.text, name)) {
        e.tests.push_back(f.rel);
        break;
      }
  }
}

// Each CUDAExtension of a setup script, as patch::cuda_extension_calls reads it (the one reader,
// which the reference fallback's built_extensions uses too).
void setup_py_extensions(const RepoText& f, const std::vector<RepoText>& files,
                         std::vector<CudaExtension>& out) {
  auto base = dir_of(f.rel);
  for (auto& call : patch::cuda_extension_calls(f.text)) {
    CudaExtension e;
    e.build_file = f.rel;
    e.line = call.line;
    e.name = call.name.empty() ? f.rel + ":" + std::to_string(e.line) : call.name;
    add_cu_files(e, files, base, call.literals);
    e.build = setup_py_build(f.text, static_cast<size_t>(call.line - 1));
    add_kernels(e, files);
    add_oracle(e, files);
    out.push_back(std::move(e));
  }
}

void cmake_extensions(const RepoText& f, const std::vector<RepoText>& files,
                      std::vector<CudaExtension>& out) {
  static const RE2 cuda(
      R"((?i)(enable_language\s*\(\s*CUDA|project\s*\([^)]*\bCUDA\b|find_package\s*\(\s*CUDAToolkit|find_package\s*\(\s*CUDA\b|cuda_add_library|\.cu\b))");
  auto lines = split_lines(f.text);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto t = trim(lines[i]);
    if (t.empty() || t[0] == '#' || !RE2::PartialMatch(lines[i], cuda)) continue;
    CudaExtension e;
    e.build_file = f.rel;
    e.line = static_cast<int>(i + 1);
    e.name = f.rel;
    auto base = dir_of(f.rel);
    add_cu_files(e, files, base, string_literals(f.text));
    std::set<std::string> cu(e.cu_files.begin(), e.cu_files.end());
    static const RE2 bare(R"(([\w./-]+\.cuh?)\b)");
    re2::StringPiece in(f.text);
    std::string s;
    while (RE2::FindAndConsume(&in, bare, &s))
      if (std::any_of(files.begin(), files.end(), [&](const RepoText& x) { return x.rel == base + s; }))
        cu.insert(base + s);
    e.cu_files.assign(cu.begin(), cu.end());
    e.build = {
        "unknown", "",
        fmt::format("CMake CUDA target ({} line {}): kcat does not edit CMake; a person makes CUDA optional "
                    "(include(CheckLanguage), check_language(CUDA), enable_language(CUDA) only when "
                    "CMAKE_CUDA_COMPILER is found) so the C++ parts build on the NPU host",
                    f.rel, i + 1)};
    add_kernels(e, files);
    add_oracle(e, files);
    out.push_back(std::move(e));
    return;  // one item per CMakeLists.txt: its first CUDA declaration
  }
}

}  // namespace

std::vector<CudaExtension> find_cuda_extensions(const std::filesystem::path& root) {
  auto files = read_files(root);
  std::vector<CudaExtension> out;
  for (const auto& f : files) {
    auto name = base_name(f.rel);
    if (name == "setup.py") setup_py_extensions(f, files, out);
    if (name == "CMakeLists.txt") cmake_extensions(f, files, out);
  }
  return out;
}

namespace {

// "csrc/selective_scan/*.cu" when every .cu file is in one folder, else the count.
std::string cu_summary(const CudaExtension& e) {
  std::set<std::string> dirs;
  size_t cu = 0;
  for (const auto& f : e.cu_files)
    if (f.ends_with(".cu")) {
      ++cu;
      dirs.insert(dir_of(f));
    }
  if (cu == 0) return "its CUDA sources";
  if (dirs.size() == 1) return fmt::format("{}*.cu ({} files)", *dirs.begin(), cu);
  return fmt::format("{} .cu files", cu);
}

std::string joined(const std::vector<std::string>& v, size_t max) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < max; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > max) out += fmt::format(", and {} more", v.size() - max);
  return out;
}

}  // namespace

std::string extension_needs(const CudaExtension& e, bool have_llm, bool have_host) {
  std::string oracle;
  if (e.references.empty()) {
    oracle =
        "no oracle found (no *_ref / reference_* function named after it): a person names the reference "
        "and the test that checks it before an agent may port it";
  } else {
    oracle = "oracle " + joined(e.references, 3);
    oracle += e.tests.empty() ? " (no test calls it)" : " + " + joined(e.tests, 3);
  }
  std::string missing;
  if (!have_llm) missing += "an LLM (--llm or [llm])";
  if (!have_host) missing += std::string(missing.empty() ? "" : " and ") + "an Atlas host ([remote])";
  std::string who =
      missing.empty() ? "the agent's kernel task (LLM and Atlas host configured)" : "needs " + missing;
  return fmt::format(
      "{} to port {}: {}; the port (Ascend C or torch_npu operators) is kept only when kcat compare matches "
      "the "
      "reference within the dtype's tolerance and it is faster than the reference fallback",
      who, cu_summary(e), oracle);
}

void add_extensions(Plan& plan, const std::vector<CudaExtension>& exts, bool have_llm, bool have_host) {
  int n = 0;
  for (const auto& s : plan.steps)
    if (s.phase == Phase::CustomKernelsBuild) ++n;
  auto at = std::find_if(plan.steps.begin(), plan.steps.end(),
                         [](const Step& s) { return s.phase == Phase::Performance; });
  size_t pos = static_cast<size_t>(at - plan.steps.begin());
  for (const auto& e : exts) {
    Step s;
    s.phase = Phase::CustomKernelsBuild;
    s.action = Action::Llm;
    s.recipe = "cuda-extension-port";
    s.id = fmt::format("{}-{}", to_string(s.phase), ++n);
    s.title = fmt::format("CUDA extension {} ({}:{}): {} .cu/.cuh files, {} kernels", e.name, e.build_file,
                          e.line, e.cu_files.size(), e.kernels.size());
    s.rationale = "Build: " + e.build.reason + ". Kernels: " + extension_needs(e, have_llm, have_host) + ".";
    if (!e.build.env.empty() && e.build.how == "switch") s.commands.push_back(e.build.env + " pip install .");
    s.risk = "high";
    s.extension = e;
    plan.steps.insert(plan.steps.begin() + static_cast<std::ptrdiff_t>(pos++), std::move(s));
  }
  if (!exts.empty())
    plan.notes.push_back(
        fmt::format("{} CUDA extension(s): each is one kernels-build item (its .cu files, kernels, build "
                    "switch and oracle); "
                    "the .cu findings stay in their file-level steps",
                    exts.size()));
}

std::string kernel_task(const CudaExtension& e, const std::string& contract) {
  if (e.references.empty()) return "";
  std::string out =
      contract + "\n\nExtension " + e.name + " (" + e.build_file + ":" + std::to_string(e.line) + ").";
  out += "\nCUDA sources: " + joined(e.cu_files, 12);
  if (!e.kernels.empty()) out += "\nKernels: " + joined(e.kernels, 12);
  if (!e.users.empty()) out += "\nCalled from: " + joined(e.users, 6);
  out += "\nReference (the oracle): " + joined(e.references, 6);
  out += "\nTests that check it: " + (e.tests.empty() ? std::string("none found") : joined(e.tests, 6));
  return out;
}

void to_json(nlohmann::json& j, const CudaExtension& e) {
  j = {{"name", e.name},
       {"build_file", e.build_file},
       {"line", e.line},
       {"cu_files", e.cu_files},
       {"kernels", e.kernels},
       {"build", {{"how", e.build.how}, {"env", e.build.env}, {"reason", e.build.reason}}},
       {"users", e.users},
       {"references", e.references},
       {"tests", e.tests}};
}

}  // namespace kcat::plan
