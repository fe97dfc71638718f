#!/usr/bin/env bash
# The nightly port, as one script both docs/ci/github-nightly.yml and docs/ci/gitlab-nightly.yml
# call (docs/ci.md): doctor, migrate (carried forward with --update once the branch exists),
# SARIF, JUnit and HTML, push of kcat/<target>, and one pull / merge request opened or updated.
#
#   tools/ci/kcat-nightly.sh --config FILE [--repo DIR] [--target T] [--base BRANCH]
#                            [--remote NAME] [--forge github|gitlab|none] [--out DIR] [--exit-zero]
#                            [-- MIGRATE-OPTIONS...]   (e.g. -- --max-minutes 90 --max-cost 5)
#
# --config   the job's own kcat.toml ([llm], [hooks], [bench], ...): the only trusted configuration
# --repo     the checkout of the upstream repository (default .), on the branch to port (--base)
# --base     the upstream branch (default: the branch checked out in --repo)
# --remote   where kcat/<target> is pushed (default origin; a fork's remote for a pull request)
# --forge    github (REST API at $GITHUB_API_URL, repository $GITHUB_REPOSITORY, token $GITHUB_TOKEN),
#            gitlab ($CI_API_V4_URL, project $CI_PROJECT_ID, token $GITLAB_TOKEN), or none;
#            default: github under GitHub Actions, gitlab under GitLab CI, else none
# --exit-zero  exit 0 where it would exit 1 (ported, work left): a green nightly that still pushes
#            the branch and updates the request; every other exit code stays
# --out      where doctor.json, kcat.sarif, kcat-junit.xml, kcat-report.html and pr.md go
#            (default kcat-out in the current directory)
# KCAT names the kcat binary (default: kcat on PATH). KCAT_PR_HEAD_OWNER: the fork's owner when
# --remote is a fork (GitHub's head=owner:branch).
#
# Exit: 0 ported and nothing blocking left; 1 ported and work left (the normal nightly result:
# the branch is pushed and the request updated all the same); anything else is kcat's own exit
# code (2 usage, 3 environment, 4 LLM, 5 budget, 6 loop, 130/143 interrupted; docs/cli.md) or 7
# when pushing or the forge's API failed. The bench runs only when `kcat doctor` says this runner
# has a ready NPU (exit 0 and "ready": true); otherwise the migration runs with --no-optimize.
set -uo pipefail

die() {
  echo "kcat-nightly: $*" >&2
  exit "${2:-2}"
}
say() { echo "kcat-nightly: $*" >&2; }

repo=. target=ascend-a2 config="" base="" remote=origin forge="" out="$PWD/kcat-out" exit_zero=no
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --repo) repo="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --base) base="$2"; shift 2 ;;
    --remote) remote="$2"; shift 2 ;;
    --forge) forge="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --exit-zero) exit_zero=yes; shift ;;
    --) shift; extra=("$@"); break ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ -n "$config" ]] || die "--config FILE is required: the job's own kcat.toml (docs/ci.md), never the repository's"
[[ -f "$config" ]] || die "--config $config: no such file"
if [[ -z "$forge" ]]; then
  if [[ -n "${GITHUB_ACTIONS:-}" ]]; then forge=github
  elif [[ -n "${GITLAB_CI:-}" ]]; then forge=gitlab
  else forge=none; fi
fi
case "$forge" in github|gitlab|none) ;; *) die "--forge must be github, gitlab or none" ;; esac
kcat="${KCAT:-kcat}"
command -v "$kcat" >/dev/null || die "no kcat at '$kcat': install it first (cmake --install build --prefix ...)" 3
config="$(realpath "$config")"
mkdir -p "$out" && out="$(realpath "$out")"
cd "$repo" || die "--repo $repo: not a directory"
git rev-parse --git-dir >/dev/null 2>&1 || die "--repo $repo: not a git checkout" 3
# Reports written inside the checkout (GitLab keeps artifacts there) are not the code to port.
top="$(git rev-parse --show-toplevel)"
case "$out/" in
  "$top"/*)
    exclude="$(git rev-parse --git-path info/exclude)"
    mkdir -p "$(dirname "$exclude")"
    grep -qxF "/${out#"$top"/}/" "$exclude" 2>/dev/null || echo "/${out#"$top"/}/" >>"$exclude" ;;
esac
[[ -n "$base" ]] || base="$(git symbolic-ref --quiet --short HEAD)" ||
  die "HEAD is detached: name the upstream branch with --base BRANCH"
branch="kcat/$target"
[[ "$base" != "$branch" ]] || die "the checkout is on $branch itself: check out the upstream branch, or pass --base BRANCH"
run_kcat() { "$kcat" --ci --config "$config" "$@"; }
finish() { # the run's exit code: 1 (work left) becomes 0 with --exit-zero
  if [[ $1 -eq 1 && $exit_zero == yes ]]; then exit 0; fi
  exit "$1"
}

# 1. Does this runner have a ready NPU? Only then does the bench (the optimize phase) run.
run_kcat doctor --format json >"$out/doctor.json"
doctor_rc=$?
npu=no
if [[ $doctor_rc -eq 0 ]] && python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("ready") else 1)' "$out/doctor.json"; then
  npu=yes
fi
say "NPU ready: $npu (kcat doctor exit $doctor_rc; $out/doctor.json)"

# 2. The branch as the remote has it (a fresh checkout has no local kcat/<target>).
# A local kcat/<target> from an earlier night on this runner may lack what was pushed since (a
# reviewer's commits): it is brought up to the remote's first, and the push below names the exact
# commit it expects to replace, so nothing pushed in between is overwritten.
git fetch --quiet "$remote" "+refs/heads/$branch:refs/remotes/$remote/$branch" 2>/dev/null || true
lease=""
if git show-ref --verify --quiet "refs/remotes/$remote/$branch"; then
  lease="$(git rev-parse "refs/remotes/$remote/$branch")"
  if ! git show-ref --verify --quiet "refs/heads/$branch"; then
    git branch --quiet "$branch" "$lease"
  elif ! git merge-base --is-ancestor "$lease" "refs/heads/$branch"; then
    git merge-base --is-ancestor "refs/heads/$branch" "$lease" ||
      die "the local $branch and $remote's have both moved since they last met: merge or reset one of them by hand" 7
    if [[ "$(git symbolic-ref --quiet --short HEAD || true)" == "$branch" ]]; then
      git merge --quiet --ff-only "$lease" || die "cannot bring $branch up to $remote's" 7
    else
      git update-ref "refs/heads/$branch" "$lease"
    fi
    say "$branch brought up to $remote's ($lease)"
  fi
fi

# 3. Port. Exit 1 is "ported, work left": the normal result, never a reason to run again.
args=(migrate . --target "$target" --log-format json)
git show-ref --verify --quiet "refs/heads/$branch" && args+=(--update --onto "$base")
[[ $npu == yes ]] || args+=(--no-optimize)
args+=(${extra[@]+"${extra[@]}"})
run_kcat "${args[@]}" >"$out/migrate.txt"
rc=$?
cat "$out/migrate.txt"
if [[ $rc -ne 0 && $rc -ne 1 ]]; then
  say "kcat migrate failed with exit $rc (docs/cli.md#exit-codes): nothing is pushed"
  exit $rc
fi

# 4. What is left, for code scanning (SARIF), the CI's test view (JUnit) and people (HTML).
run_kcat scan . --format sarif -o "$out/kcat.sarif" --exit-zero || die "kcat scan failed" $?
run_kcat report -C . --format junit -o "$out/kcat-junit.xml" || die "kcat report (junit) failed" $?
run_kcat report -C . --format html -o "$out/kcat-report.html" || die "kcat report (html) failed" $?
run_kcat report -C . --format markdown -o "$out/pr.md" || die "kcat report (markdown) failed" $?

# 5. Push the branch (rewritten by --update: the lease refuses to overwrite someone else's push).
git push --quiet --force-with-lease="refs/heads/$branch:$lease" "$remote" "refs/heads/$branch:refs/heads/$branch" ||
  die "git push $remote $branch failed (or $remote's $branch moved since it was fetched)" 7
say "pushed $branch to $remote"
# Steps the agent did not finish are kept on refs/kcat/attempts/... for review: they go with the
# branch, or they would be lost with this checkout. A forge that refuses such refs costs a warning.
if [[ -n "$(git for-each-ref refs/kcat/attempts/)" ]]; then
  git push --quiet "$remote" "refs/kcat/attempts/*:refs/kcat/attempts/*" ||
    say "warning: could not push refs/kcat/attempts/* to $remote; the unfinished agent steps stay on this runner"
fi
git rev-parse "refs/heads/$branch" >"$out/branch-sha"  # code scanning attaches the SARIF to this commit

# 6. One open pull / merge request from the branch, created once and updated every night after.
title="kcat: port to $target"
api() { # METHOD URL [JSON]: prints the response body; fails on an HTTP error
  local auth
  if [[ $forge == github ]]; then auth="Authorization: Bearer ${GITHUB_TOKEN:-}"; else auth="PRIVATE-TOKEN: ${GITLAB_TOKEN:-}"; fi
  curl --silent --show-error --fail -X "$1" -H "$auth" -H "Accept: application/json" \
    -H "Content-Type: application/json" ${3:+--data "$3"} "$2"
}
json_body() { # KEY=FILE pairs and KEY=VALUE pairs as one JSON object (python3: no jq needed)
  python3 - "$@" <<'PY'
import json, sys
d = {}
for a in sys.argv[1:]:
    k, v = a.split("=", 1)
    d[k] = open(v[1:]).read() if v.startswith("@") else v
print(json.dumps(d))
PY
}
first() { python3 -c 'import json,sys; l=json.load(sys.stdin); print(l[0][sys.argv[1]] if l else "")' "$1"; }
case "$forge" in
  none) say "no forge: the branch is pushed, open the request yourself"; finish $rc ;;
  github)
    [[ -n "${GITHUB_REPOSITORY:-}" ]] || die "GITHUB_REPOSITORY (owner/name) is not set" 7
    url="${GITHUB_API_URL:-https://api.github.com}/repos/$GITHUB_REPOSITORY/pulls"
    owner="${KCAT_PR_HEAD_OWNER:-${GITHUB_REPOSITORY%%/*}}"
    existing="$(api GET "$url?state=open&head=$owner:$branch&base=$base" | first number)" ||
      die "the GitHub API failed listing pull requests" 7
    if [[ -z "$existing" ]]; then
      api POST "$url" "$(json_body title="$title" head="$branch" base="$base" body="@$out/pr.md")" >/dev/null ||
        die "the GitHub API failed creating the pull request" 7
      say "opened a pull request from $branch into $base"
    else
      api PATCH "$url/$existing" "$(json_body title="$title" body="@$out/pr.md")" >/dev/null ||
        die "the GitHub API failed updating pull request #$existing" 7
      say "updated pull request #$existing"
    fi ;;
  gitlab)
    [[ -n "${CI_PROJECT_ID:-}" && -n "${CI_API_V4_URL:-}" ]] || die "CI_API_V4_URL and CI_PROJECT_ID are not set" 7
    url="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests"
    existing="$(api GET "$url?state=opened&source_branch=$branch&target_branch=$base" | first iid)" ||
      die "the GitLab API failed listing merge requests" 7
    if [[ -z "$existing" ]]; then
      api POST "$url" "$(json_body title="$title" source_branch="$branch" target_branch="$base" description="@$out/pr.md")" >/dev/null ||
        die "the GitLab API failed creating the merge request" 7
      say "opened a merge request from $branch into $base"
    else
      api PUT "$url/$existing" "$(json_body title="$title" description="@$out/pr.md")" >/dev/null ||
        die "the GitLab API failed updating merge request !$existing" 7
      say "updated merge request !$existing"
    fi ;;
esac
finish $rc
