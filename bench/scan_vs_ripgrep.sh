#!/usr/bin/env bash
# kcat scan against ripgrep over the same files of a large repository, in the same run.
#   bench/scan_vs_ripgrep.sh REPO [RUNS]      (REPO e.g. a checkout of microsoft/DeepSpeed)
# Prints the median wall time of: ripgrep with an equivalent CUDA pattern, a cold kcat scan
# (--no-cache), a warm kcat scan (cache filled), their ratios, and kcat's peak RSS.
set -euo pipefail
repo="$(realpath "${1:?usage: bench/scan_vs_ripgrep.sh REPO [RUNS]}")"
runs="${2:-7}"
root="$(cd "$(dirname "$0")/.." && pwd)"
kcat="${KCAT:-$root/build/release/src/kcat}"
export KCAT_DATA_DIR="$root/patches"
command -v rg >/dev/null || { echo "needs ripgrep (apt-get install ripgrep)" >&2; exit 3; }

# The same file kinds kcat scans, and the literals its rules prefilter on.
globs=(-g '*.py' -g '*.pyi' -g '*.ipynb' -g '*.cu' -g '*.cuh' -g '*.cpp' -g '*.cc' -g '*.cxx' -g '*.h' -g '*.hpp'
       -g '*.c' -g 'requirements*.txt' -g 'pyproject.toml' -g 'environment.yml' -g 'CMakeLists.txt' -g '*.cmake'
       -g 'Dockerfile*' -g '*.sh')
pattern='cuda|CUDA|nccl|NCCL|nvidia|NVIDIA|cudnn|nvcc|cublas|flash_attn|flash_attention|xformers|apex|triton|__global__|<<<|nvtx|bitsandbytes|cupy|pynvml'

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_runs() {  # command... -> median seconds
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
  done | median
}

rg_t=$(time_runs rg -c --no-ignore-vcs "${globs[@]}" -e "$pattern" "$repo")
cold_t=$(time_runs "$kcat" scan "$repo" --no-cache --format json --exit-zero)
"$kcat" scan "$repo" --format json --exit-zero >/dev/null 2>&1   # fill the cache
warm_t=$(time_runs "$kcat" scan "$repo" --format json --exit-zero)
rss_kb=$(/usr/bin/time -f '%M' "$kcat" scan "$repo" --no-cache --format json --exit-zero 2>&1 >/dev/null | tail -1)
findings=$("$kcat" scan "$repo" --format json --exit-zero | python3 -c 'import json,sys; d=json.load(sys.stdin)["summary"]; print(d["total"], d["blocking"], d["files_seen"], d["files_parsed"])')
rm -rf "$repo/.kcat"

printf 'repo %s (%s runs each, median)\n' "$repo" "$runs"
printf 'machine: %s cores, %s\n' "$(nproc)" "$(lscpu | sed -n 's/^Model name: *//p')"
printf 'ripgrep            %.3f s\n' "$rg_t"
printf 'kcat scan (cold)   %.3f s   %.2fx ripgrep   (goal: within 12x)\n' "$cold_t" "$(echo "$cold_t / $rg_t" | bc -l)"
printf 'kcat scan (warm)   %.3f s   %.2fx ripgrep   (goal: within 1.5x)\n' "$warm_t" "$(echo "$warm_t / $rg_t" | bc -l)"
printf 'kcat peak RSS      %.1f MiB (goal: under 150)\n' "$(echo "$rss_kb / 1024" | bc -l)"
printf 'findings total/blocking, files seen/parsed: %s\n' "$findings"
