// libgit2, loaded when kcat first calls it rather than when kcat starts: libgit2 and the TLS,
// SSH and Kerberos libraries it pulls in are 15 of the shared libraries kcat would otherwise map
// at every start, ~7 ms of it (docs/PERFORMANCE.md) -- a fifth of a warm `kcat scan`.
//
// kcat's code calls libgit2 as usual (<git2.h>); kcat is not linked with it. Each function kcat
// uses is defined here with the header's exact signature (the compiler checks it against the
// declaration) and forwards to libgit2's own, looked up on its first call. A function missing
// here is a link error naming it: add one line below.
#include <git2.h>

#include <cstring>
#include <string>

#include "kcat/core/fault.h"
#include "kcat/core/shared_library.h"

namespace {

kcat::SharedLibrary &libgit2() {
  static kcat::SharedLibrary lib(
      KCAT_LIBGIT2_SONAME, "kcat's git work (branches, commits, .gitignore)",
      "install libgit2 (Debian: apt install libgit2-dev, as tools/install.sh does)");
  return lib;
}

// An injected failure, set as libgit2 sets one on a full disk.
int injected_failure(const char *name, int err) {
  std::string msg = std::string(name) + ": " + std::strerror(err);
  git_error_set_str(GIT_ERROR_OS, msg.c_str());
  return GIT_ERROR;
}

}  // namespace

// A libgit2 function that writes (objects, the index, refs, the work tree) is also a write of the
// fault-injection suite (core/fault.h): when the injection names it, it fails before it runs, as
// libgit2 fails on a full disk (GIT_ERROR_OS, "No space left on device"), and kcat's own error
// handling takes it from there.
#define KCAT_GIT_WRITE(name, params, args)                                               \
  extern "C" int name params {                                                           \
    static const auto real = libgit2().function<int(*) params>(#name);                   \
    if (int err = kcat::fault::before_write(#name)) return injected_failure(#name, err); \
    return real args;                                                                    \
  }

#define KCAT_GIT(ret, name, params, args)                              \
  extern "C" ret name params {                                         \
    static const auto real = libgit2().function<ret(*) params>(#name); \
    return real args;                                                  \
  }

// One line per function: ret, name, (parameters as in <git2.h>), (their names).
// clang-format off
KCAT_GIT(void, git_annotated_commit_free, (git_annotated_commit *commit), (commit))
KCAT_GIT(int, git_annotated_commit_from_ref, (git_annotated_commit **out, git_repository *repo, const git_reference *ref), (out, repo, ref))
KCAT_GIT(int, git_annotated_commit_lookup, (git_annotated_commit **out, git_repository *repo, const git_oid *id), (out, repo, id))
KCAT_GIT_WRITE(git_branch_create, (git_reference **out, git_repository *repo, const char *branch_name, const git_commit *target, int force), (out, repo, branch_name, target, force))
KCAT_GIT(int, git_branch_lookup, (git_reference **out, git_repository *repo, const char *branch_name, git_branch_t branch_type), (out, repo, branch_name, branch_type))
KCAT_GIT_WRITE(git_checkout_tree, (git_repository *repo, const git_object *treeish, const git_checkout_options *opts), (repo, treeish, opts))
KCAT_GIT_WRITE(git_commit_amend, (git_oid *id, const git_commit *commit_to_amend, const char *update_ref, const git_signature *author, const git_signature *committer, const char *message_encoding, const char *message, const git_tree *tree), (id, commit_to_amend, update_ref, author, committer, message_encoding, message, tree))
KCAT_GIT_WRITE(git_commit_create, (git_oid *id, git_repository *repo, const char *update_ref, const git_signature *author, const git_signature *committer, const char *message_encoding, const char *message, const git_tree *tree, size_t parent_count, const git_commit *parents[]), (id, repo, update_ref, author, committer, message_encoding, message, tree, parent_count, parents))
KCAT_GIT(void, git_commit_free, (git_commit *commit), (commit))
KCAT_GIT(int, git_commit_lookup, (git_commit **commit, git_repository *repo, const git_oid *id), (commit, repo, id))
KCAT_GIT(const char *, git_commit_message, (const git_commit *commit), (commit))
KCAT_GIT(const char *, git_commit_summary, (git_commit *commit), (commit))
KCAT_GIT(int, git_commit_tree, (git_tree **tree_out, const git_commit *commit), (tree_out, commit))
KCAT_GIT(void, git_config_free, (git_config *cfg), (cfg))
KCAT_GIT(int, git_config_get_string, (const char **out, const git_config *cfg, const char *name), (out, cfg, name))
KCAT_GIT(const void *, git_blob_rawcontent, (const git_blob *blob), (blob))
KCAT_GIT(git_object_size_t, git_blob_rawsize, (const git_blob *blob), (blob))
KCAT_GIT(void, git_diff_free, (git_diff *diff), (diff))
KCAT_GIT(const git_diff_delta *, git_diff_get_delta, (const git_diff *diff, size_t idx), (diff, idx))
KCAT_GIT(size_t, git_diff_num_deltas, (const git_diff *diff), (diff))
KCAT_GIT(int, git_diff_print, (git_diff *diff, git_diff_format_t format, git_diff_line_cb print_cb, void *payload), (diff, format, print_cb, payload))
KCAT_GIT(int, git_diff_tree_to_tree, (git_diff **diff, git_repository *repo, git_tree *old_tree, git_tree *new_tree, const git_diff_options *opts), (diff, repo, old_tree, new_tree, opts))
KCAT_GIT(int, git_diff_tree_to_workdir_with_index, (git_diff **diff, git_repository *repo, git_tree *old_tree, const git_diff_options *opts), (diff, repo, old_tree, opts))
KCAT_GIT(const git_error *, git_error_last, (void), ())
KCAT_GIT(int, git_error_set_str, (int error_class, const char *string), (error_class, string))
KCAT_GIT(int, git_ignore_path_is_ignored, (int *ignored, git_repository *repo, const char *path), (ignored, repo, path))
KCAT_GIT_WRITE(git_index_add_all, (git_index *index, const git_strarray *pathspec, unsigned int flags, git_index_matched_path_cb callback, void *payload), (index, pathspec, flags, callback, payload))
KCAT_GIT_WRITE(git_index_add_bypath, (git_index *index, const char *path), (index, path))
KCAT_GIT(void, git_index_conflict_iterator_free, (git_index_conflict_iterator *iterator), (iterator))
KCAT_GIT(int, git_index_conflict_iterator_new, (git_index_conflict_iterator **iterator_out, git_index *index), (iterator_out, index))
KCAT_GIT(int, git_index_conflict_next, (const git_index_entry **ancestor_out, const git_index_entry **our_out, const git_index_entry **their_out, git_index_conflict_iterator *iterator), (ancestor_out, our_out, their_out, iterator))
KCAT_GIT(void, git_index_free, (git_index *index), (index))
KCAT_GIT(int, git_index_has_conflicts, (const git_index *index), (index))
KCAT_GIT_WRITE(git_index_update_all, (git_index *index, const git_strarray *pathspec, git_index_matched_path_cb callback, void *payload), (index, pathspec, callback, payload))
KCAT_GIT_WRITE(git_index_write, (git_index *index), (index))
KCAT_GIT_WRITE(git_index_write_tree, (git_oid *out, git_index *index), (out, index))
KCAT_GIT(int, git_libgit2_init, (void), ())
KCAT_GIT(int, git_libgit2_version, (int *major, int *minor, int *rev), (major, minor, rev))
KCAT_GIT(int, git_libgit2_shutdown, (void), ())
KCAT_GIT(int, git_graph_descendant_of, (git_repository *repo, const git_oid *commit, const git_oid *ancestor), (repo, commit, ancestor))
KCAT_GIT(int, git_merge_base, (git_oid *out, git_repository *repo, const git_oid *one, const git_oid *two), (out, repo, one, two))
KCAT_GIT(void, git_message_trailer_array_free, (git_message_trailer_array *arr), (arr))
KCAT_GIT(int, git_message_trailers, (git_message_trailer_array *arr, const char *message), (arr, message))
KCAT_GIT(void, git_object_free, (git_object *object), (object))
KCAT_GIT(const git_oid *, git_object_id, (const git_object *obj), (obj))
KCAT_GIT(int, git_object_lookup, (git_object **object, git_repository *repo, const git_oid *id, git_object_t type), (object, repo, id, type))
KCAT_GIT(int, git_object_lookup_bypath, (git_object **out, const git_object *treeish, const char *path, git_object_t type), (out, treeish, path, type))
KCAT_GIT(int, git_object_peel, (git_object **peeled, const git_object *object, git_object_t target_type), (peeled, object, target_type))
KCAT_GIT(int, git_odb_hash, (git_oid *out, const void *data, size_t len, git_object_t type), (out, data, len, type))
KCAT_GIT(char *, git_oid_tostr, (char *out, size_t n, const git_oid *id), (out, n, id))
KCAT_GIT(void, git_patch_free, (git_patch *patch), (patch))
KCAT_GIT(int, git_patch_from_buffers, (git_patch **out, const void *old_buffer, size_t old_len, const char *old_as_path, const void *new_buffer, size_t new_len, const char *new_as_path, const git_diff_options *opts), (out, old_buffer, old_len, old_as_path, new_buffer, new_len, new_as_path, opts))
KCAT_GIT(size_t, git_patch_num_hunks, (const git_patch *patch), (patch))
KCAT_GIT(int, git_patch_print, (git_patch *patch, git_diff_line_cb print_cb, void *payload), (patch, print_cb, payload))
KCAT_GIT_WRITE(git_rebase_abort, (git_rebase *rebase), (rebase))
KCAT_GIT_WRITE(git_rebase_commit, (git_oid *id, git_rebase *rebase, const git_signature *author, const git_signature *committer, const char *message_encoding, const char *message), (id, rebase, author, committer, message_encoding, message))
KCAT_GIT_WRITE(git_rebase_finish, (git_rebase *rebase, const git_signature *signature), (rebase, signature))
KCAT_GIT(void, git_rebase_free, (git_rebase *rebase), (rebase))
KCAT_GIT_WRITE(git_rebase_init, (git_rebase **out, git_repository *repo, const git_annotated_commit *branch, const git_annotated_commit *upstream, const git_annotated_commit *onto, const git_rebase_options *opts), (out, repo, branch, upstream, onto, opts))
KCAT_GIT_WRITE(git_rebase_next, (git_rebase_operation **operation, git_rebase *rebase), (operation, rebase))
KCAT_GIT(void, git_reference_free, (git_reference *ref), (ref))
KCAT_GIT(int, git_reference_is_branch, (const git_reference *ref), (ref))
KCAT_GIT_WRITE(git_reference_create, (git_reference **out, git_repository *repo, const char *name, const git_oid *id, int force, const char *log_message), (out, repo, name, id, force, log_message))
KCAT_GIT(int, git_reference_lookup, (git_reference **out, git_repository *repo, const char *name), (out, repo, name))
KCAT_GIT_WRITE(git_reference_set_target, (git_reference **out, git_reference *ref, const git_oid *id, const char *log_message), (out, ref, id, log_message))
KCAT_GIT(int, git_reference_name_to_id, (git_oid *out, git_repository *repo, const char *name), (out, repo, name))
KCAT_GIT(const char *, git_reference_shorthand, (const git_reference *ref), (ref))
KCAT_GIT(const char *, git_reference_symbolic_target, (const git_reference *ref), (ref))
KCAT_GIT(int, git_repository_config_snapshot, (git_config **out, git_repository *repo), (out, repo))
KCAT_GIT(void, git_repository_free, (git_repository *repo), (repo))
KCAT_GIT(int, git_repository_head, (git_reference **out, git_repository *repo), (out, repo))
KCAT_GIT(int, git_repository_index, (git_index **out, git_repository *repo), (out, repo))
KCAT_GIT_WRITE(git_repository_init, (git_repository **out, const char *path, unsigned is_bare), (out, path, is_bare))
KCAT_GIT(int, git_repository_is_bare, (const git_repository *repo), (repo))
KCAT_GIT(int, git_repository_open_ext, (git_repository **out, const char *path, unsigned int flags, const char *ceiling_dirs), (out, path, flags, ceiling_dirs))
KCAT_GIT_WRITE(git_repository_set_head, (git_repository *repo, const char *refname), (repo, refname))
KCAT_GIT(const char *, git_repository_workdir, (const git_repository *repo), (repo))
KCAT_GIT_WRITE(git_reset_default, (git_repository *repo, const git_object *target, const git_strarray *pathspecs), (repo, target, pathspecs))
KCAT_GIT(int, git_repository_state, (git_repository *repo), (repo))
KCAT_GIT(int, git_rebase_open, (git_rebase **out, git_repository *repo, const git_rebase_options *opts), (out, repo, opts))
KCAT_GIT_WRITE(git_reset, (git_repository *repo, const git_object *target, git_reset_t reset_type, const git_checkout_options *checkout_opts), (repo, target, reset_type, checkout_opts))
KCAT_GIT(int, git_revparse_single, (git_object **out, git_repository *repo, const char *spec), (out, repo, spec))
KCAT_GIT(void, git_revwalk_free, (git_revwalk *walk), (walk))
KCAT_GIT(int, git_revwalk_hide, (git_revwalk *walk, const git_oid *commit_id), (walk, commit_id))
KCAT_GIT(int, git_revwalk_new, (git_revwalk **out, git_repository *repo), (out, repo))
KCAT_GIT(int, git_revwalk_next, (git_oid *out, git_revwalk *walk), (out, walk))
KCAT_GIT(int, git_revwalk_push, (git_revwalk *walk, const git_oid *id), (walk, id))
KCAT_GIT(int, git_revwalk_sorting, (git_revwalk *walk, unsigned int sort_mode), (walk, sort_mode))
KCAT_GIT(void, git_signature_free, (git_signature *sig), (sig))
KCAT_GIT(int, git_signature_now, (git_signature **out, const char *name, const char *email), (out, name, email))
KCAT_GIT(const git_status_entry *, git_status_byindex, (git_status_list *statuslist, size_t idx), (statuslist, idx))
KCAT_GIT(size_t, git_status_list_entrycount, (git_status_list *statuslist), (statuslist))
KCAT_GIT(void, git_status_list_free, (git_status_list *statuslist), (statuslist))
KCAT_GIT(int, git_status_list_new, (git_status_list **out, git_repository *repo, const git_status_options *opts), (out, repo, opts))
KCAT_GIT(void, git_tree_free, (git_tree *tree), (tree))
KCAT_GIT(int, git_tree_lookup, (git_tree **out, git_repository *repo, const git_oid *id), (out, repo, id))
KCAT_GIT_WRITE(git_worktree_add, (git_worktree **out, git_repository *repo, const char *name, const char *path, const git_worktree_add_options *opts), (out, repo, name, path, opts))
KCAT_GIT(void, git_worktree_free, (git_worktree *wt), (wt))
KCAT_GIT(const char *, git_repository_path, (const git_repository *repo), (repo))
KCAT_GIT(const char *, git_repository_commondir, (const git_repository *repo), (repo))
KCAT_GIT(int, git_branch_is_checked_out, (const git_reference *branch), (branch))
KCAT_GIT_WRITE(git_checkout_head, (git_repository *repo, const git_checkout_options *opts), (repo, opts))
KCAT_GIT(const git_index_entry *, git_index_get_bypath, (git_index *index, const char *path, int stage), (index, path, stage))
KCAT_GIT(const git_index_entry *, git_index_get_byindex, (git_index *index, size_t n), (index, n))
KCAT_GIT(size_t, git_index_entrycount, (const git_index *index), (index))
KCAT_GIT(int, git_index_read, (git_index *index, int force), (index, force))
KCAT_GIT(const char *, git_reference_name, (const git_reference *ref), (ref))
KCAT_GIT(int, git_repository_head_for_worktree, (git_reference **out, git_repository *repo, const char *name), (out, repo, name))
KCAT_GIT(void, git_strarray_dispose, (git_strarray *array), (array))
KCAT_GIT(int, git_worktree_list, (git_strarray *out, git_repository *repo), (out, repo))
KCAT_GIT(int, git_worktree_lookup, (git_worktree **out, git_repository *repo, const char *name), (out, repo, name))
KCAT_GIT(const char *, git_worktree_path, (const git_worktree *wt), (wt))
// clang-format on
