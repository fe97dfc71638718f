#!/usr/bin/env bash
# Fetch the pinned tree-sitter grammars from the npm registry into DEST, verify each tarball
# against the integrity hash in tools/grammars.lock, and unpack it to DEST/<name>/.
# Re-running is cheap: a grammar whose stamp matches the lock line is left alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-$here/../build/grammars}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
command -v npm >/dev/null || { echo "fetch-grammars: npm is required (apt-get install npm)" >&2; exit 3; }
while read -r name version integrity; do
  case "$name" in ''|'#'*) continue ;; esac
  stamp="$dest/$name/.kcat-stamp"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$name $version $integrity" && -f "$dest/$name/src/parser.c" ]]; then
    continue
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null 2>npm.err) || {
    echo "fetch-grammars: npm pack $name@$version failed:" >&2; cat "$tmp/npm.err" >&2; exit 3; }
  tgz="$tmp/$name-$version.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [[ "$got" != "$integrity" ]]; then
    echo "fetch-grammars: integrity mismatch for $name@$version" >&2
    echo "  expected $integrity" >&2
    echo "  got      $got" >&2
    exit 3
  fi
  rm -rf "$dest/$name"
  mkdir -p "$dest/$name"
  tar xzf "$tgz" -C "$dest/$name" --strip-components=1 package/src package/LICENSE 2>/dev/null ||
    tar xzf "$tgz" -C "$dest/$name" --strip-components=1 package/src
  echo "$name $version $integrity" > "$stamp"
  rm -rf "$tmp"; trap - EXIT
  echo "fetch-grammars: $name@$version verified and unpacked"
done < "$here/grammars.lock"
