#!/usr/bin/env bash
# Accuracy review harness (issue 12, "Measure it"): run `kcat migrate` on every repository of
# tools/accuracy/corpus.tsv and keep, per repository, kcat's console output, its report
# (report.md / report.json), the whole diff and one patch per commit, so that a human review
# (docs/accuracy.md) can be redone with a newer binary and compared.
#
# Usage: tools/accuracy/run.sh CORPUS_DIR KCAT_BINARY OUT_DIR [NAME...]
#   CORPUS_DIR   holds one git repository per corpus.tsv name (made as below)
#   KCAT_BINARY  e.g. /work/notes/bin/kcat-base or build/release/src/cli/kcat
#   OUT_DIR      written: OUT_DIR/<name>/{console.txt,report.md,report.json,diff.patch,
#                edits.tsv (one row per edited line, edits.py), commits/NNNN-*.patch,stat.txt,exit},
#                OUT_DIR/summary.tsv
#
# Review: tools/accuracy/verdicts.py OUT_DIR CORPUS_DIR applies the baseline reviewer's rules to
# every edit (stops on an edit no rule covers) and tools/accuracy/render.py OUT_DIR prints the
# per-repository tables and totals of docs/accuracy.md. The corpus stays on kcat/<target> after a
# run, which verdicts.py needs.
#   NAME...      only these repositories (default: all of corpus.tsv)
# KCAT_CORPUS_TSV=tools/accuracy/heldout.tsv runs the held-out corpus instead (repositories no fix
# was tuned on: read once with a new binary, then they join the review corpus).
#
# The script fetches nothing. The corpus is made once, per corpus.tsv row, with the session's
# `fetch` tool (source "github:<upstream>") which returns a bare git dir, then
#   tools/accuracy/export.sh <bare git dir> CORPUS_DIR <name>
# (git archive HEAD | tar x fails on snapshots that lack files >= 4 MiB; export.sh skips them)
# which makes CORPUS_DIR/<name> a one-commit repository whose message is "base: <upstream commit>".
# The run checks that commit against corpus.tsv (a moved upstream is reported, not hidden).
#
# Each run first resets the repository to its base commit (branch corpus-base), deletes the
# kcat/<target> branch and removes untracked files (.kcat/), so runs are repeatable. The
# migration is offline: --no-llm, --no-optimize.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${1:?corpus dir} kcat=${2:?kcat binary} out=${3:?output dir}
shift 3
target=${KCAT_TARGET:-ascend-a2}
kcat=$(realpath "$kcat")
mkdir -p "$out"
out=$(realpath "$out")
summary=$out/summary.tsv
printf 'name\tupstream\tcommit\texit\tcommits\tfiles\tinsertions\tdeletions\tseconds\tkcat_summary\n' >"$summary"
while IFS=$'\t' read -r name upstream commit _why; do
  [[ -z $name || $name == \#* ]] && continue
  if (($#)) && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
  repo=$corpus/$name
  if [[ ! -d $repo/.git ]]; then
    echo "missing $repo (see the header for how to make it)" >&2
    printf '%s\t%s\t%s\tmissing\n' "$name" "$upstream" "$commit" >>"$summary"
    continue
  fi
  root=$(git -C "$repo" rev-list --max-parents=0 HEAD | tail -1)
  got=$(git -C "$repo" log -1 --format=%s "$root" | sed -n 's/^base: //p')
  if [[ -n $got && $got != "$commit" ]]; then
    echo "warning: $name is at upstream $got, corpus.tsv says $commit" >&2
  fi
  git -C "$repo" checkout -q -f -B corpus-base "$root"
  git -C "$repo" branch -q -D "kcat/$target" 2>/dev/null
  git -C "$repo" clean -q -fdx
  o=$out/$name
  rm -rf "$o"
  mkdir -p "$o/commits"
  start=$(date +%s)
  (cd "$repo" && "$kcat" migrate . --target "$target" --no-llm --no-optimize \
    --author "kcat-accuracy <kcat@localhost>") >"$o/console.txt" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  echo "$rc" >"$o/exit"
  run=$(ls -td "$repo"/.kcat/runs/*/ 2>/dev/null | head -1)
  if [[ -n $run ]]; then
    cp "$run/report.md" "$run/report.json" "$o/" 2>/dev/null
  fi
  if git -C "$repo" rev-parse -q --verify "kcat/$target" >/dev/null; then
    git -C "$repo" diff "$root..kcat/$target" >"$o/diff.patch"
    git -C "$repo" diff --stat=200 "$root..kcat/$target" >"$o/stat.txt"
    git -C "$repo" format-patch -q -o "$o/commits" "$root..kcat/$target" >/dev/null
    python3 "$here/edits.py" "$o/diff.patch" >"$o/edits.tsv"
    ncommits=$(git -C "$repo" rev-list --count "$root..kcat/$target")
    read -r files ins del < <(git -C "$repo" diff --shortstat "$root..kcat/$target" |
      awk '{f=$1; i=0; d=0; for (k=1;k<=NF;k++) { if ($k ~ /^insertion/) i=$(k-1); if ($k ~ /^deletion/) d=$(k-1) } print f+0, i+0, d+0}')
  else
    ncommits=0 files=0 ins=0 del=0
  fi
  line=$(grep -m1 -E '^ *found [0-9]+' "$o/console.txt" | sed 's/^ *//')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$upstream" "$commit" "$rc" \
    "$ncommits" "${files:-0}" "${ins:-0}" "${del:-0}" "$secs" "$line" >>"$summary"
  echo "$name: exit $rc, $ncommits commits, ${files:-0} files, +${ins:-0} -${del:-0} (${secs}s): $line"
done <"${KCAT_CORPUS_TSV:-$here/corpus.tsv}"
