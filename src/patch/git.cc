#include "kcat/patch/git.h"

#include <fmt/format.h>
#include <git2.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "kcat/core/error.h"

namespace kcat::patch {

namespace {

std::string last_error() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

// A full disk (or quota) under libgit2 is an I/O error, not a git one: the run stops with the
// disk-full hint and the step in progress is put back, never recorded as failed.
bool disk_full(const git_error* e) {
  if (!e || e->klass != GIT_ERROR_OS || !e->message) return false;
  std::string_view m = e->message;
  return m.find(std::strerror(ENOSPC)) != std::string_view::npos ||
         m.find(std::strerror(EDQUOT)) != std::string_view::npos;
}

void check(int rc, const std::string& what, const std::string& where = {}) {
  if (rc >= 0) return;
  throw Error(disk_full(git_error_last()) ? ErrorKind::Io : ErrorKind::Git, what + ": " + last_error(),
              where);
}

template <class T, void (*Free)(T*)>
struct Owned {
  T* p = nullptr;
  Owned() = default;
  explicit Owned(T* x) : p(x) {}
  ~Owned() {
    if (p) Free(p);
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  T** out() { return &p; }
  T* get() const { return p; }
};

using Reference = Owned<git_reference, git_reference_free>;
using Commit = Owned<git_commit, git_commit_free>;
using Tree = Owned<git_tree, git_tree_free>;
using Index = Owned<git_index, git_index_free>;
using Signature = Owned<git_signature, git_signature_free>;
using StatusList = Owned<git_status_list, git_status_list_free>;
using Revwalk = Owned<git_revwalk, git_revwalk_free>;
using Diff = Owned<git_diff, git_diff_free>;
using Object = Owned<git_object, git_object_free>;

std::string oid_str(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

// A commit kcat writes: the person's name as author, kcat as committer.
void sign(Signature& author, Signature& committer, const std::string& name, const std::string& email) {
  check(git_signature_now(author.out(), name.c_str(), email.c_str()),
        "bad author '" + name + " <" + email + ">'");
  check(git_signature_now(committer.out(), "kcat", "kcat@localhost"), "bad committer");
}

// The message, then its trailer block ("Kcat-Run: ..." lines) after a blank line.
std::string with_trailers(std::string msg, const std::map<std::string, std::string>& trailers) {
  if (!trailers.empty()) {
    msg += "\n\n";
    for (auto& [k, v] : trailers) msg += k + ": " + v + "\n";
  }
  return msg;
}

}  // namespace

struct GitRepo::Impl {
  git_repository* repo = nullptr;
  std::string pinned;  // pin_branch
  Impl() { git_libgit2_init(); }
  ~Impl() {
    if (repo) git_repository_free(repo);
    git_libgit2_shutdown();
  }

  git_oid resolve(const std::string& spec) const {
    Object obj;
    check(git_revparse_single(obj.out(), repo, spec.c_str()), "cannot resolve '" + spec + "'");
    Object peeled;
    check(git_object_peel(peeled.out(), obj.get(), GIT_OBJECT_COMMIT), "'" + spec + "' is not a commit");
    return *git_object_id(peeled.get());
  }

  // Before anything that writes the index, a ref or the work tree: HEAD is still the pinned branch.
  void ensure_on_pinned_branch(const GitRepo& self) const {
    if (pinned.empty()) return;
    auto now = self.current_branch();
    if (now == pinned) return;
    throw BranchMoved(ErrorKind::Git,
                      "HEAD moved from " + pinned + " to " + (now.empty() ? "a detached commit" : now) +
                          " during the run: kcat commits only on " + pinned + ", so it committed nothing",
                      self.workdir().string(),
                      "a hook or another program checked out another branch; `git checkout " + pinned +
                          "` and run `kcat migrate --resume`");
  }
};

GitRepo::GitRepo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GitRepo::GitRepo(GitRepo&&) noexcept = default;
GitRepo& GitRepo::operator=(GitRepo&&) noexcept = default;
GitRepo::~GitRepo() = default;

bool GitRepo::is_repository(const std::filesystem::path& path) {
  git_libgit2_init();
  git_repository* r = nullptr;
  bool ok = git_repository_open_ext(&r, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) == 0;
  if (r) git_repository_free(r);
  git_libgit2_shutdown();
  return ok;
}

GitRepo GitRepo::open(const std::filesystem::path& path) {
  auto impl = std::make_unique<Impl>();
  if (git_repository_open_ext(&impl->repo, path.c_str(), 0, nullptr) != 0) {
    impl->repo = nullptr;
    throw Error(
        ErrorKind::Environment, "not a git repository", path.string(),
        "kcat works on a git branch so every change can be reviewed and undone: run `git init` and commit, "
        "or pass --init to let kcat make the first commit");
  }
  if (git_repository_is_bare(impl->repo)) {
    throw Error(ErrorKind::Environment, "a bare repository has no work tree", path.string(),
                "clone it first");
  }
  return GitRepo(std::move(impl));
}

GitRepo GitRepo::init_with_initial_commit(const std::filesystem::path& path, const std::string& author_name,
                                          const std::string& author_email) {
  auto impl = std::make_unique<Impl>();
  check(git_repository_init(&impl->repo, path.c_str(), false), "git init failed", path.string());
  GitRepo repo(std::move(impl));
  repo.commit("Initial commit (made by kcat --init)", {}, {}, author_name, author_email);
  return repo;
}

std::filesystem::path GitRepo::workdir() const {
  const char* wd = git_repository_workdir(impl_->repo);
  return wd ? std::filesystem::path(wd) : std::filesystem::path();
}

std::string GitRepo::current_branch() const {
  Reference head;
  if (git_repository_head(head.out(), impl_->repo) != 0) {
    // An unborn branch: HEAD names it but it has no commit yet.
    Reference sym;
    if (git_reference_lookup(sym.out(), impl_->repo, "HEAD") == 0 &&
        git_reference_symbolic_target(sym.get())) {
      std::string t = git_reference_symbolic_target(sym.get());
      return t.rfind("refs/heads/", 0) == 0 ? t.substr(11) : t;
    }
    return {};
  }
  if (!git_reference_is_branch(head.get())) return {};
  return git_reference_shorthand(head.get());
}

std::string GitRepo::head_id() const {
  git_oid oid;
  if (git_reference_name_to_id(&oid, impl_->repo, "HEAD") != 0) return {};
  return oid_str(&oid);
}

std::vector<std::string> GitRepo::dirty_files() const {
  git_status_options opts = GIT_STATUS_OPTIONS_INIT;
  opts.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
  opts.flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
  StatusList list;
  check(git_status_list_new(list.out(), impl_->repo, &opts), "git status failed");
  std::vector<std::string> out;
  for (size_t i = 0; i < git_status_list_entrycount(list.get()); ++i) {
    const git_status_entry* e = git_status_byindex(list.get(), i);
    if (e->status == GIT_STATUS_CURRENT || (e->status & GIT_STATUS_IGNORED) ||
        (e->status & GIT_STATUS_WT_NEW))
      continue;
    const git_diff_delta* d = e->head_to_index ? e->head_to_index : e->index_to_workdir;
    if (d && d->new_file.path) out.push_back(d->new_file.path);
  }
  return out;
}

bool GitRepo::branch_exists(const std::string& name) const {
  Reference ref;
  return git_branch_lookup(ref.out(), impl_->repo, name.c_str(), GIT_BRANCH_LOCAL) == 0;
}

void GitRepo::checkout_new_or_existing(const std::string& name, const std::string& from) {
  if (!branch_exists(name)) {
    auto oid = impl_->resolve(from.empty() ? "HEAD" : from);
    Commit c;
    check(git_commit_lookup(c.out(), impl_->repo, &oid), "cannot read commit");
    Reference ref;
    check(git_branch_create(ref.out(), impl_->repo, name.c_str(), c.get(), 0),
          "cannot create branch " + name);
  }
  checkout(name);
}

bool GitRepo::is_tracked(const std::string& path) const {
  Index index;
  check(git_repository_index(index.out(), impl_->repo), "cannot open the index");
  check(git_index_read(index.get(), 0), "cannot read the index");
  return git_index_get_bypath(index.get(), path.c_str(), 0) != nullptr;
}

std::vector<std::string> GitRepo::submodule_paths() const {
  Index index;
  check(git_repository_index(index.out(), impl_->repo), "cannot open the index");
  check(git_index_read(index.get(), 0), "cannot read the index");
  std::vector<std::string> out;
  for (size_t i = 0, n = git_index_entrycount(index.get()); i < n; ++i) {
    const git_index_entry* e = git_index_get_byindex(index.get(), i);
    if (e && e->mode == GIT_FILEMODE_COMMIT) out.push_back(e->path);
  }
  return out;
}

std::string GitRepo::checked_out_elsewhere(const std::string& branch) const {
  if (current_branch() == branch) return {};
  Reference ref;
  if (git_branch_lookup(ref.out(), impl_->repo, branch.c_str(), GIT_BRANCH_LOCAL) != 0) return {};
  if (git_branch_is_checked_out(ref.get()) != 1) return {};
  std::string where;
  git_strarray names{};
  if (git_worktree_list(&names, impl_->repo) == 0) {
    for (size_t i = 0; i < names.count && where.empty(); ++i) {
      Reference head;
      if (git_repository_head_for_worktree(head.out(), impl_->repo, names.strings[i]) != 0) continue;
      if (std::string(git_reference_name(head.get())) != "refs/heads/" + branch) continue;
      git_worktree* wt = nullptr;
      if (git_worktree_lookup(&wt, impl_->repo, names.strings[i]) == 0) {
        where = git_worktree_path(wt);
        git_worktree_free(wt);
      }
    }
    git_strarray_dispose(&names);
  }
  if (where.empty()) {
    // Not a linked work tree of this repository: the main one (this is a linked work tree).
    where = std::filesystem::path(git_repository_commondir(impl_->repo))
                .lexically_normal()
                .parent_path()
                .string();
  }
  return where;
}

void GitRepo::restore_from_head(const std::vector<std::string>& files) {
  if (files.empty()) return;
  std::vector<char*> paths;
  for (auto& f : files) paths.push_back(const_cast<char*>(f.c_str()));
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_FORCE | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
  opts.paths.strings = paths.data();
  opts.paths.count = paths.size();
  check(git_checkout_head(impl_->repo, &opts), "cannot restore files from HEAD");
}

void GitRepo::pin_branch(const std::string& branch) { impl_->pinned = branch; }

void GitRepo::checkout(const std::string& name) {
  auto elsewhere = checked_out_elsewhere(name);
  if (!elsewhere.empty()) {
    throw Error(ErrorKind::Environment,
                "the branch " + name + " is checked out in another work tree: " + elsewhere,
                workdir().string(),
                "work there, or remove that work tree (git worktree remove " + elsewhere +
                    "), or use another branch (--branch NAME)");
  }
  auto oid = impl_->resolve("refs/heads/" + name);
  Commit c;
  check(git_commit_lookup(c.out(), impl_->repo, &oid), "cannot read commit");
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  // An ignored file is the user's too: a branch that tracks the same path does not overwrite it.
  opts.checkout_strategy = GIT_CHECKOUT_SAFE | GIT_CHECKOUT_DONT_OVERWRITE_IGNORED;
  check(git_checkout_tree(impl_->repo, reinterpret_cast<git_object*>(c.get()), &opts),
        "cannot check out " + name + " (local changes would be overwritten?)");
  check(git_repository_set_head(impl_->repo, ("refs/heads/" + name).c_str()),
        "cannot switch HEAD to " + name);
}

std::string GitRepo::commit(const std::string& message, const std::map<std::string, std::string>& trailers,
                            const std::vector<std::string>& files, const std::string& author_name,
                            const std::string& author_email) {
  impl_->ensure_on_pinned_branch(*this);
  Index index;
  check(git_repository_index(index.out(), impl_->repo), "cannot open the index");
  if (files.empty()) {
    check(git_index_add_all(index.get(), nullptr, GIT_INDEX_ADD_DEFAULT, nullptr, nullptr), "git add failed");
    check(git_index_update_all(index.get(), nullptr, nullptr, nullptr), "git add -u failed");
  } else {
    for (auto& f : files) check(git_index_add_bypath(index.get(), f.c_str()), "git add failed", f);
  }
  check(git_index_write(index.get()), "cannot write the index");
  git_oid tree_id;
  check(git_index_write_tree(&tree_id, index.get()), "cannot write the tree");
  Tree tree;
  check(git_tree_lookup(tree.out(), impl_->repo, &tree_id), "cannot read the tree");
  Signature author, committer;
  sign(author, committer, author_name, author_email);
  const std::string msg = with_trailers(message, trailers);
  Commit parent;
  git_oid head;
  bool has_parent = git_reference_name_to_id(&head, impl_->repo, "HEAD") == 0;
  if (has_parent) check(git_commit_lookup(parent.out(), impl_->repo, &head), "cannot read HEAD");
  const git_commit* parents[] = {parent.get()};
  git_oid id;
  check(git_commit_create(&id, impl_->repo, "HEAD", author.get(), committer.get(), nullptr, msg.c_str(),
                          tree.get(), has_parent ? 1 : 0, has_parent ? parents : nullptr),
        "git commit failed");
  return oid_str(&id);
}

std::string GitRepo::add_trailers_to_head(const std::map<std::string, std::string>& trailers) {
  impl_->ensure_on_pinned_branch(*this);
  git_oid head;
  check(git_reference_name_to_id(&head, impl_->repo, "HEAD"), "HEAD has no commit");
  Commit c;
  check(git_commit_lookup(c.out(), impl_->repo, &head), "cannot read HEAD");
  std::string msg = git_commit_message(c.get());
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  // Join an existing trailer block (the last paragraph made of "Key: value" lines) or start one.
  auto para = msg.rfind("\n\n");
  bool has_block = para != std::string::npos && msg.find(": ", para) != std::string::npos &&
                   msg.substr(para + 2).find("Kcat-") == 0;
  msg += has_block ? "\n" : "\n\n";
  for (auto& [k, v] : trailers) msg += k + ": " + v + "\n";
  Signature committer;
  check(git_signature_now(committer.out(), "kcat", "kcat@localhost"), "bad committer");
  git_oid id;
  check(git_commit_amend(&id, c.get(), "HEAD", nullptr, committer.get(), nullptr, msg.c_str(), nullptr),
        "git commit --amend failed");
  return oid_str(&id);
}

std::string GitRepo::squash_onto(const std::string& base, const std::string& message,
                                 const std::map<std::string, std::string>& trailers,
                                 const std::string& author_name, const std::string& author_email) {
  impl_->ensure_on_pinned_branch(*this);
  auto base_id = impl_->resolve(base);
  auto head_id = impl_->resolve("HEAD");
  // Only the step's own commits are squashed: a base the branch no longer descends from (the
  // branch was reset or rebased under the step) would fold unrelated history into one commit.
  int descends = git_graph_descendant_of(impl_->repo, &head_id, &base_id);
  check(descends, "cannot compare " + base + " with HEAD");
  if (descends == 0) {
    throw BranchMoved(
        ErrorKind::Git,
        "cannot squash the step: its base " + base + " is not an ancestor of " + current_branch() +
            " (now at " + oid_str(&head_id) + "), so the branch was moved under the step; " +
            "nothing was squashed",
        workdir().string(),
        "see where it went with `git reflog " + current_branch() + "`; the step's commits are unchanged");
  }
  Commit parent, head;
  check(git_commit_lookup(parent.out(), impl_->repo, &base_id), "cannot read commit " + base);
  check(git_commit_lookup(head.out(), impl_->repo, &head_id), "cannot read HEAD");
  Tree tree;
  check(git_commit_tree(tree.out(), head.get()), "cannot read HEAD's tree");
  Signature author, committer;
  sign(author, committer, author_name, author_email);
  const std::string msg = with_trailers(message, trailers);
  const git_commit* parents[] = {parent.get()};
  git_oid id;
  check(git_commit_create(&id, impl_->repo, nullptr, author.get(), committer.get(), nullptr, msg.c_str(),
                          tree.get(), 1, parents),
        "git commit failed");
  Reference head_ref, moved;
  check(git_repository_head(head_ref.out(), impl_->repo), "HEAD is not a branch");
  check(git_reference_set_target(moved.out(), head_ref.get(), &id, "kcat: one commit for the step"),
        "cannot move the branch to the squashed commit");
  return oid_str(&id);
}

std::string GitRepo::set_ref(const std::string& name, const std::string& id, const std::string& log_message) {
  auto oid = impl_->resolve(id);
  for (int n = 1; n < 1000; ++n) {
    auto want = n == 1 ? name : name + "-" + std::to_string(n);
    Reference ref;
    int rc = git_reference_create(ref.out(), impl_->repo, want.c_str(), &oid, 0, log_message.c_str());
    if (rc == GIT_EEXISTS) continue;
    check(rc, "cannot write the reference " + want);
    return want;
  }
  throw Error(ErrorKind::Git, "cannot write the reference " + name + ": 999 of that name exist",
              workdir().string(), "delete old ones: git for-each-ref " + name + "*");
}

void GitRepo::reset_hard(const std::string& id) {
  impl_->ensure_on_pinned_branch(*this);
  auto oid = impl_->resolve(id);
  Object obj;
  check(git_object_lookup(obj.out(), impl_->repo, &oid, GIT_OBJECT_COMMIT), "cannot read commit " + id);
  git_checkout_options opts = GIT_CHECKOUT_OPTIONS_INIT;
  opts.checkout_strategy = GIT_CHECKOUT_FORCE;
  check(git_reset(impl_->repo, obj.get(), GIT_RESET_HARD, &opts), "git reset --hard failed");
}

std::vector<CommitInfo> GitRepo::log(const std::string& from, const std::string& until, size_t max) const {
  Revwalk walk;
  check(git_revwalk_new(walk.out(), impl_->repo), "cannot walk history");
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL);
  auto start = impl_->resolve(from);
  check(git_revwalk_push(walk.get(), &start), "cannot walk history");
  if (!until.empty()) {
    auto stop = impl_->resolve(until);
    check(git_revwalk_hide(walk.get(), &stop), "cannot walk history");
  }
  std::vector<CommitInfo> out;
  git_oid oid;
  while (out.size() < max && git_revwalk_next(&oid, walk.get()) == 0) {
    Commit c;
    check(git_commit_lookup(c.out(), impl_->repo, &oid), "cannot read commit");
    CommitInfo info;
    info.id = oid_str(&oid);
    info.message = git_commit_message(c.get());
    info.summary = git_commit_summary(c.get()) ? git_commit_summary(c.get()) : "";
    git_message_trailer_array arr{};
    if (git_message_trailers(&arr, info.message.c_str()) == 0) {
      for (size_t i = 0; i < arr.count; ++i) info.trailers[arr.trailers[i].key] = arr.trailers[i].value;
      git_message_trailer_array_free(&arr);
    }
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<std::string> GitRepo::changed_files(const std::string& from, const std::string& to) const {
  Tree trees[2];
  const std::string* specs[2] = {&from, &to};
  for (int i = 0; i < 2; ++i) {
    auto oid = impl_->resolve(*specs[i]);
    Commit c;
    check(git_commit_lookup(c.out(), impl_->repo, &oid), "cannot read commit", *specs[i]);
    check(git_commit_tree(trees[i].out(), c.get()), "cannot read tree", *specs[i]);
  }
  Diff d;
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  check(git_diff_tree_to_tree(d.out(), impl_->repo, trees[0].get(), trees[1].get(), &opts),
        "git diff failed");
  std::vector<std::string> out;
  for (size_t i = 0; i < git_diff_num_deltas(d.get()); ++i) {
    const git_diff_delta* delta = git_diff_get_delta(d.get(), i);
    if (delta->status != GIT_DELTA_DELETED && delta->new_file.path) out.push_back(delta->new_file.path);
  }
  return out;
}

std::optional<std::string> GitRepo::file_at(const std::string& commit, const std::string& path) const {
  auto oid = impl_->resolve(commit);
  Commit c;
  check(git_commit_lookup(c.out(), impl_->repo, &oid), "cannot read commit", commit);
  Tree t;
  check(git_commit_tree(t.out(), c.get()), "cannot read tree", commit);
  Object o;
  if (git_object_lookup_bypath(o.out(), reinterpret_cast<const git_object*>(t.get()), path.c_str(),
                               GIT_OBJECT_BLOB) != 0) {
    return std::nullopt;
  }
  auto* blob = reinterpret_cast<const git_blob*>(o.get());
  return std::string(static_cast<const char*>(git_blob_rawcontent(blob)),
                     static_cast<size_t>(git_blob_rawsize(blob)));
}

std::string GitRepo::diff(const std::string& from, const std::string& to) const {
  auto a = impl_->resolve(from);
  Commit ca;
  check(git_commit_lookup(ca.out(), impl_->repo, &a), "cannot read commit");
  Tree ta;
  check(git_commit_tree(ta.out(), ca.get()), "cannot read tree");
  Diff d;
  git_diff_options opts = GIT_DIFF_OPTIONS_INIT;
  if (to.empty()) {
    check(git_diff_tree_to_workdir_with_index(d.out(), impl_->repo, ta.get(), &opts), "git diff failed");
  } else {
    auto b = impl_->resolve(to);
    Commit cb;
    check(git_commit_lookup(cb.out(), impl_->repo, &b), "cannot read commit");
    Tree tb;
    check(git_commit_tree(tb.out(), cb.get()), "cannot read tree");
    check(git_diff_tree_to_tree(d.out(), impl_->repo, ta.get(), tb.get(), &opts), "git diff failed");
  }
  std::string out;
  git_diff_print(
      d.get(), GIT_DIFF_FORMAT_PATCH,
      [](const git_diff_delta*, const git_diff_hunk*, const git_diff_line* l, void* payload) {
        auto* s = static_cast<std::string*>(payload);
        if (l->origin == GIT_DIFF_LINE_CONTEXT || l->origin == GIT_DIFF_LINE_ADDITION ||
            l->origin == GIT_DIFF_LINE_DELETION) {
          s->push_back(l->origin);
        }
        s->append(l->content, l->content_len);
        return 0;
      },
      &out);
  return out;
}

GitRepo GitRepo::add_worktree(const std::string& name, const std::filesystem::path& path,
                              const std::string& branch) {
  std::error_code ec;
  if (std::filesystem::exists(path / ".git", ec)) return open(path);
  if (!branch_exists(branch)) {
    auto oid = impl_->resolve("HEAD");
    Commit c;
    check(git_commit_lookup(c.out(), impl_->repo, &oid), "cannot read HEAD");
    Reference created;
    check(git_branch_create(created.out(), impl_->repo, branch.c_str(), c.get(), 0),
          "cannot create branch " + branch);
  }
  Reference ref;
  check(git_branch_lookup(ref.out(), impl_->repo, branch.c_str(), GIT_BRANCH_LOCAL),
        "cannot find branch " + branch);
  std::filesystem::create_directories(path.parent_path(), ec);
  git_worktree_add_options opts = GIT_WORKTREE_ADD_OPTIONS_INIT;
  opts.ref = ref.get();
  git_worktree* wt = nullptr;
  check(git_worktree_add(&wt, impl_->repo, name.c_str(), path.c_str(), &opts), "cannot add a work tree",
        path.string());
  git_worktree_free(wt);
  return open(path);
}

size_t GitRepo::rebase_onto(const std::string& branch, const std::string& onto,
                            const std::function<void()>& each) {
  Reference branch_ref;
  check(git_branch_lookup(branch_ref.out(), impl_->repo, branch.c_str(), GIT_BRANCH_LOCAL),
        "no branch " + branch);
  auto onto_id = impl_->resolve(onto);
  git_annotated_commit* branch_ac = nullptr;
  git_annotated_commit* onto_ac = nullptr;
  check(git_annotated_commit_from_ref(&branch_ac, impl_->repo, branch_ref.get()), "cannot read " + branch);
  if (git_annotated_commit_lookup(&onto_ac, impl_->repo, &onto_id) != 0) {
    git_annotated_commit_free(branch_ac);
    check(-1, "cannot read " + onto);
  }
  git_rebase_options opts = GIT_REBASE_OPTIONS_INIT;
  git_rebase* rb = nullptr;
  int rc = git_rebase_init(&rb, impl_->repo, branch_ac, onto_ac, nullptr, &opts);
  git_annotated_commit_free(branch_ac);
  git_annotated_commit_free(onto_ac);
  check(rc, "cannot start the rebase of " + branch + " onto " + onto);
  Signature committer;
  check(git_signature_now(committer.out(), "kcat", "kcat@localhost"), "bad committer");
  size_t replayed = 0;
  git_rebase_operation* op = nullptr;
  while ((rc = git_rebase_next(&op, rb)) == 0) {
    Index index;
    check(git_repository_index(index.out(), impl_->repo), "cannot open the index");
    if (git_index_has_conflicts(index.get())) {
      std::string files;
      git_index_conflict_iterator* it = nullptr;
      const git_index_entry *anc, *ours, *theirs;
      if (git_index_conflict_iterator_new(&it, index.get()) == 0) {
        while (git_index_conflict_next(&anc, &ours, &theirs, it) == 0) {
          const git_index_entry* e = ours ? ours : theirs ? theirs : anc;
          if (e) files += (files.empty() ? "" : ", ") + std::string(e->path);
        }
        git_index_conflict_iterator_free(it);
      }
      git_rebase_abort(rb);
      git_rebase_free(rb);
      throw Error(
          ErrorKind::Git, "the migration does not replay cleanly onto " + onto + ": conflict in " + files,
          workdir().string(),
          "upstream changed the same lines; run `kcat migrate --target ...` on a new branch (--branch) "
          "from the new upstream, or resolve with git rebase");
    }
    git_oid id;
    int crc = git_rebase_commit(&id, rb, nullptr, committer.get(), nullptr, nullptr);
    if (crc == GIT_EAPPLIED) continue;  // upstream already has this change
    if (crc < 0) {
      std::string msg = last_error();
      git_rebase_abort(rb);
      git_rebase_free(rb);
      throw Error(ErrorKind::Git, "rebase failed: " + msg, workdir().string());
    }
    ++replayed;
    if (each) each();
  }
  if (rc != GIT_ITEROVER) {
    std::string msg = last_error();
    git_rebase_abort(rb);
    git_rebase_free(rb);
    throw Error(ErrorKind::Git, "rebase failed: " + msg, workdir().string());
  }
  rc = git_rebase_finish(rb, committer.get());
  git_rebase_free(rb);
  check(rc, "cannot finish the rebase");
  return replayed;
}

std::pair<std::string, std::string> GitRepo::configured_identity() const {
  git_config* cfg = nullptr;
  std::pair<std::string, std::string> out;
  if (git_repository_config_snapshot(&cfg, impl_->repo) != 0) return out;
  const char* v = nullptr;
  if (git_config_get_string(&v, cfg, "user.name") == 0 && v) out.first = v;
  if (git_config_get_string(&v, cfg, "user.email") == 0 && v) out.second = v;
  git_config_free(cfg);
  return out;
}

std::string GitRepo::merge_base(const std::string& a, const std::string& b) const {
  auto x = impl_->resolve(a);
  auto y = impl_->resolve(b);
  git_oid base;
  check(git_merge_base(&base, impl_->repo, &x, &y), "no common ancestor of " + a + " and " + b);
  return oid_str(&base);
}

bool GitRepo::rebase_in_progress() const {
  int st = git_repository_state(impl_->repo);
  return st == GIT_REPOSITORY_STATE_REBASE || st == GIT_REPOSITORY_STATE_REBASE_MERGE ||
         st == GIT_REPOSITORY_STATE_REBASE_INTERACTIVE;
}

std::string GitRepo::abort_rebase() {
  git_rebase_options opts = GIT_REBASE_OPTIONS_INIT;
  git_rebase* rb = nullptr;
  check(git_rebase_open(&rb, impl_->repo, &opts), "cannot open the rebase in progress", workdir().string());
  int rc = git_rebase_abort(rb);
  git_rebase_free(rb);
  check(rc, "cannot abort the rebase in progress", workdir().string());
  return current_branch();
}

void GitRepo::unstage(const std::vector<std::string>& files) {
  if (files.empty()) return;
  std::vector<char*> paths;
  for (auto& f : files) paths.push_back(const_cast<char*>(f.c_str()));
  git_strarray spec{paths.data(), paths.size()};
  auto oid = impl_->resolve("HEAD");
  Object obj;
  check(git_object_lookup(obj.out(), impl_->repo, &oid, GIT_OBJECT_COMMIT), "cannot read HEAD");
  check(git_reset_default(impl_->repo, obj.get(), &spec), "cannot reset the index");
}

std::filesystem::path GitRepo::common_dir() const { return git_repository_commondir(impl_->repo); }

std::filesystem::path GitRepo::git_dir() const { return git_repository_path(impl_->repo); }

}  // namespace kcat::patch
