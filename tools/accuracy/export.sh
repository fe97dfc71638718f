#!/usr/bin/env bash
# Export the HEAD tree of a bare git dir (from the `fetch` tool) into CORPUS/NAME as a
# one-commit git repository. Blobs absent from the snapshot (files >= 4 MiB, LFS) are
# skipped and listed on stderr, which `git archive` cannot do (it stops at the first).
# Usage: tools/accuracy/export.sh GITDIR CORPUS NAME
set -euo pipefail
gitdir=$1 corpus=$2 name=$3
dest=$corpus/$name
[[ -e $dest ]] && { echo "$dest exists" >&2; exit 2; }
mkdir -p "$dest"
git --git-dir="$gitdir" ls-tree -r -z HEAD | while IFS= read -r -d '' line; do
  meta=${line%%$'\t'*} path=${line#*$'\t'}
  read -r mode type sha <<<"$meta"
  [[ $type == blob ]] || continue # submodules
  if ! git --git-dir="$gitdir" cat-file -e "$sha" 2>/dev/null; then
    echo "skipped (absent from snapshot): $path" >&2; continue
  fi
  mkdir -p "$dest/$(dirname "$path")"
  if [[ $mode == 120000 ]]; then
    ln -s "$(git --git-dir="$gitdir" cat-file blob "$sha")" "$dest/$path"
  else
    git --git-dir="$gitdir" cat-file blob "$sha" >"$dest/$path"
    if [[ $mode == 100755 ]]; then chmod +x "$dest/$path"; fi
  fi
done
cd "$dest"
git init -q -b main
git add -A
git -c user.name=corpus -c user.email=corpus@localhost commit -qm "base: $(git --git-dir="$gitdir" rev-parse HEAD)"
