#!/usr/bin/env bash
# Time `kcat migrate` (offline, no LLM) on a fresh git copy of a large repository.
#   bench/migrate_large_repo.sh REPO [RUNS]     (REPO e.g. a checkout of microsoft/DeepSpeed)
set -euo pipefail
src="$(realpath "${1:?usage: bench/migrate_large_repo.sh REPO [RUNS]}")"
runs="${2:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
kcat="${KCAT:-$root/build/release/src/kcat}"
export KCAT_DATA_DIR="$root/patches"
times=()
for i in $(seq "$runs"); do
  work="$(mktemp -d)"
  cp -r "$src" "$work/repo"
  rm -rf "$work/repo/.kcat"
  (cd "$work/repo" && git init -q -b main && git add -A && git -c user.name=b -c user.email=b@b commit -qm base)
  t0=$(date +%s.%N)
  "$kcat" migrate "$work/repo" --target ascend-a2 --author "bench <b@b>" > "$work/out.txt" 2>&1 || true
  t1=$(date +%s.%N)
  times+=("$(echo "$t1 - $t0" | bc -l)")
  summary="$(grep -E 'found [0-9]+; fixed' "$work/out.txt" || true)"
  commits="$(cd "$work/repo" && git rev-list --count main..HEAD)"
  rm -rf "$work"
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
printf 'repo %s, %s runs\nmachine: %s cores, %s\n' "$src" "$runs" "$(nproc)" "$(lscpu | sed -n 's/^Model name: *//p')"
printf 'kcat migrate median %.2f s (goal: under 2 s); %s commits;%s\n' "$median" "$commits" "${summary#*:}"
