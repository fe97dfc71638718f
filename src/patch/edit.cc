#include "kcat/patch/edit.h"

#include <fmt/format.h>
#include <git2.h>

#include <algorithm>
#include <map>

#include "kcat/core/error.h"
#include "kcat/core/fs.h"

namespace kcat::patch {

std::string apply_edits(const std::string& bytes, std::vector<Edit> edits) {
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 0; i < edits.size(); ++i) {
    auto& e = edits[i];
    if (e.begin > e.end || e.end > bytes.size()) {
      throw Error(ErrorKind::Verify,
                  fmt::format("edit [{}, {}) is outside the file ({} bytes)", e.begin, e.end, bytes.size()),
                  e.file, "the file changed since it was scanned: scan again");
    }
    if (i > 0 && edits[i - 1].end > e.begin) {
      auto& p = edits[i - 1];
      throw Error(ErrorKind::Verify,
                  fmt::format("overlapping edits: [{}, {}) from {} and [{}, {}) from {}", p.begin, p.end,
                              p.origin, e.begin, e.end, e.origin),
                  e.file,
                  "two rules want to change the same bytes; disable one of them or fix the rule's span");
    }
  }
  std::string out;
  out.reserve(bytes.size() + 64);
  uint32_t pos = 0;
  for (auto& e : edits) {
    out.append(bytes, pos, e.begin - pos);
    out += e.replacement;
    pos = e.end;
  }
  out.append(bytes, pos, std::string::npos);
  return out;
}

bool creates_file(const std::vector<Edit>& edits) {
  return !edits.empty() &&
         std::all_of(edits.begin(), edits.end(), [](const Edit& e) { return e.begin == 0 && e.end == 0; });
}

std::vector<std::string> apply_patch(const std::filesystem::path& root, const Patch& patch) {
  std::map<std::string, std::vector<Edit>> by_file;
  for (auto& e : patch.edits) by_file[e.file].push_back(e);
  struct Change {
    std::filesystem::path path;
    std::string before, after;
    bool created = false;
  };
  std::vector<Change> changes;
  // Everything is read and computed before the first write: a bad edit leaves the tree as it was.
  for (auto& [file, edits] : by_file) {
    auto full = resolve_within(root, file);
    if (!full) {
      throw Error(ErrorKind::Verify, "refusing to edit a path outside the repository", file,
                  "edits must name files inside the repository");
    }
    bool created = !std::filesystem::exists(*full) && creates_file(edits);
    auto before = created ? std::string() : read_file(*full);
    auto after = apply_edits(before, edits);
    if (after != before || created) changes.push_back({*full, std::move(before), std::move(after), created});
  }
  std::vector<std::string> written;
  for (size_t i = 0; i < changes.size(); ++i) {
    try {
      write_file_atomic(changes[i].path, changes[i].after);
      written.push_back(relative_slash(root, changes[i].path));
    } catch (...) {
      for (size_t j = 0; j < i; ++j) {
        if (changes[j].created) {
          std::error_code ec;
          std::filesystem::remove(changes[j].path, ec);
        } else {
          write_file_atomic(changes[j].path, changes[j].before);
        }
      }
      throw;
    }
  }
  return written;
}

namespace {
int collect(const git_diff_delta*, const git_diff_hunk*, const git_diff_line* line, void* payload) {
  auto* out = static_cast<std::string*>(payload);
  if (line->origin == GIT_DIFF_LINE_CONTEXT || line->origin == GIT_DIFF_LINE_ADDITION ||
      line->origin == GIT_DIFF_LINE_DELETION) {
    out->push_back(line->origin);
  }
  out->append(line->content, line->content_len);
  return 0;
}
}  // namespace

std::string unified_diff(const std::string& file, const std::string& before, const std::string& after) {
  git_libgit2_init();
  git_patch* p = nullptr;
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  opts.context_lines = 3;
  auto a = "a/" + file;
  auto b = "b/" + file;
  std::string out;
  if (git_patch_from_buffers(&p, before.data(), before.size(), file.c_str(), after.data(), after.size(),
                             file.c_str(), &opts) == 0) {
    if (git_patch_num_hunks(p) > 0) {
      out = "--- " + a + "\n+++ " + b + "\n";
      git_patch_print(
          p,
          [](const git_diff_delta* d, const git_diff_hunk* h, const git_diff_line* l, void* payload) {
            if (l->origin == GIT_DIFF_LINE_FILE_HDR) return 0;
            return collect(d, h, l, payload);
          },
          &out);
    }
    git_patch_free(p);
  }
  git_libgit2_shutdown();
  return out;
}

}  // namespace kcat::patch
