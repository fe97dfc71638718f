#include "kcat/patch/codemod.h"

#include <cstring>
#include <map>
#include <set>

#include "kcat/core/fs.h"
#include "kcat/scan/parser.h"

namespace kcat::patch {

namespace {

bool is(TSNode n, const char* t) { return !ts_node_is_null(n) && std::strcmp(ts_node_type(n), t) == 0; }

bool imports_torch(std::string_view stmt_text) {
  // `import torch`, `import torch.nn as nn`, `from torch import nn` — not `import torchvision`.
  for (auto prefix : {"import torch", "from torch"}) {
    if (stmt_text.rfind(prefix, 0) == 0) {
      auto rest = stmt_text.substr(std::strlen(prefix));
      if (rest.empty() || rest[0] == ' ' || rest[0] == '.' || rest[0] == ',' || rest[0] == '\n' ||
          rest[0] == '\r') {
        return true;
      }
    }
  }
  return false;
}

std::string eol_of(const std::string& bytes) {
  auto p = bytes.find('\n');
  return p != std::string::npos && p > 0 && bytes[p - 1] == '\r' ? "\r\n" : "\n";
}

// The categories whose codemods make the code name the NPU (torch.npu, .npu(), 'npu', 'hccl').
const std::set<std::string>& npu_categories() {
  static const std::set<std::string> s = {"device-call", "cuda-api", "amp", "dist-backend", "cuda-graph"};
  return s;
}

bool parse_language_is_python(const std::string& file) {
  auto ext = std::filesystem::path(file).extension();
  return ext == ".py" || ext == ".pyi";
}

}  // namespace

bool is_build_file(const std::string& file, std::string_view bytes) {
  auto name = std::filesystem::path(file).filename().string();
  if (name == "setup.py" || name == "build.py" || name == "build_ext.py") return true;
  for (auto needle : {"import setuptools", "from setuptools", "torch.utils.cpp_extension", "from distutils",
                      "import distutils", "from skbuild", "import skbuild"}) {
    if (bytes.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

std::vector<Edit> insert_after_torch_import(const std::string& file, const std::string& bytes,
                                            const std::vector<std::string>& lines,
                                            bool require_torch_import) {
  auto tree = scan::parse("python", bytes);
  TSNode root = ts_tree_root_node(tree.get());
  std::set<std::string> present;
  TSNode anchor{};
  TSNode last_preamble{};  // docstring and __future__ imports must stay first
  bool anchor_found = false;
  for (uint32_t i = 0; i < ts_node_named_child_count(root); ++i) {
    TSNode c = ts_node_named_child(root, i);
    auto text = std::string(scan::node_text(c, bytes));
    if (is(c, "import_statement") || is(c, "import_from_statement") || is(c, "future_import_statement")) {
      present.insert(text);
      if (is(c, "future_import_statement")) last_preamble = c;
      if (!anchor_found && imports_torch(text)) {
        anchor = c;
        anchor_found = true;
      }
    } else if (i == 0 && is(c, "expression_statement") && ts_node_named_child_count(c) == 1 &&
               is(ts_node_named_child(c, 0), "string")) {
      last_preamble = c;
    }
  }
  std::vector<std::string> missing;
  for (auto& l : lines) {
    if (!present.count(l)) missing.push_back(l);
  }
  if (missing.empty()) return {};
  if (!anchor_found) {
    if (require_torch_import) return {};
    anchor = last_preamble;
  }
  auto eol = eol_of(bytes);
  std::string block;
  for (auto& l : missing) block += l + eol;
  uint32_t at = 0;
  if (!ts_node_is_null(anchor)) {
    at = ts_node_end_byte(anchor);
    // after the rest of the anchor's line (a trailing comment) and its line ending
    while (at < bytes.size() && bytes[at] != '\n') ++at;
    if (at < bytes.size()) {
      ++at;
    } else {
      block = eol + block;
    }
  } else if (bytes.rfind("#!", 0) == 0) {
    auto nl = bytes.find('\n');
    at = nl == std::string::npos ? static_cast<uint32_t>(bytes.size()) : static_cast<uint32_t>(nl + 1);
  } else if (bytes.rfind("\xEF\xBB\xBF", 0) == 0) {
    at = 3;
  }
  return {Edit{file, at, at, block, "import-torch-npu"}};
}

namespace {

// The report of a file that got NPU names but no `import torch_npu` (see codemod_patch).
Finding no_torch_import(const Finding& first_edit) {
  Finding f = first_edit;
  f.rule_id = "patch.torch-npu-import";
  f.category = "import";
  f.severity = Severity::Warning;
  f.codemod.clear();
  f.replacement.clear();
  f.message = "after the port this file names the NPU (" + first_edit.matched + " -> " +
              first_edit.replacement +
              "), but it imports no torch, so kcat did not insert `import torch_npu` here";
  f.action =
      "make sure torch_npu is imported before this code runs: `import torch_npu` in this file, or in "
      "every entry point that imports it (without it torch has no npu device and no .npu())";
  return f;
}

}  // namespace

Patch codemod_patch(const std::filesystem::path& root, const std::vector<Finding>& findings,
                    std::vector<Finding>* applied, std::vector<Finding>* unported) {
  Patch p;
  std::map<std::string, const Finding*> needs_torch_npu;  // file -> its first NPU-naming edit
  for (auto& f : findings) {
    bool compared = f.codemod == "replace-compared";
    if ((f.codemod != "replace" && f.codemod != "env-rename" && !compared) || f.replacement.empty()) continue;
    if (f.context != Context::Code) continue;
    p.edits.push_back(Edit{f.file, f.span.begin, f.span.end, f.replacement, f.rule_id, compared});
    if (applied) applied->push_back(f);
    if (parse_language_is_python(f.file) && npu_categories().count(f.category))
      needs_torch_npu.emplace(f.file, &f);
  }
  for (auto& [file, first] : needs_torch_npu) {
    auto bytes = read_file(root / file);
    if (is_build_file(file, bytes)) {
      // A build script also runs where torch_npu is not installed (an sdist, a CPU CI job): it
      // gets the import guarded, once.
      if (bytes.find("import torch_npu") != std::string::npos) continue;
      for (auto& e : insert_after_torch_import(
               file, bytes, {"try:", "    import torch_npu  # noqa: F401", "except ImportError:", "    pass"},
               true)) {
        p.edits.push_back(e);
      }
      continue;
    }
    auto edits = insert_after_torch_import(file, bytes, {"import torch_npu"}, true);
    // No `import torch` to put it after (a helper handed tensors by its callers): a person decides
    // where torch_npu is imported; the site is reported rather than left silent (issue 12).
    if (edits.empty() && bytes.find("import torch_npu") == std::string::npos && unported)
      unported->push_back(no_torch_import(*first));
    for (auto& e : edits) p.edits.push_back(e);
  }
  return p;
}

Patch shim_patch(const std::filesystem::path& root, const std::vector<std::string>& python_files) {
  Patch p;
  for (auto& file : python_files) {
    auto bytes = read_file(root / file);
    auto tree = scan::parse("python", bytes);
    TSNode r = ts_tree_root_node(tree.get());
    bool entry = false;
    for (uint32_t i = 0; i < ts_node_named_child_count(r) && !entry; ++i) {
      TSNode c = ts_node_named_child(r, i);
      if (!is(c, "if_statement")) continue;
      auto cond = scan::node_text(ts_node_child_by_field_name(c, "condition", 9), bytes);
      entry =
          cond.find("__name__") != std::string_view::npos && cond.find("__main__") != std::string_view::npos;
    }
    if (!entry) continue;
    for (auto& e : insert_after_torch_import(
             file, bytes, {"import torch_npu", "from torch_npu.contrib import transfer_to_npu"}, false)) {
      p.edits.push_back(e);
    }
  }
  return p;
}

}  // namespace kcat::patch
