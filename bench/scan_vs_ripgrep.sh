#!/usr/bin/env bash
# kcat scan against ripgrep over the same files of a large repository, in the same run.
#   bench/scan_vs_ripgrep.sh REPO [RUNS]      (REPO e.g. a checkout of microsoft/DeepSpeed)
# Prints the median wall and CPU time of: ripgrep with an equivalent CUDA pattern, a cold kcat scan
# (--no-cache), a warm kcat scan (cache filled), their ratios, and kcat's peak RSS.
set -euo pipefail
repo="$(realpath "${1:?usage: bench/scan_vs_ripgrep.sh REPO [RUNS]}")"
runs="${2:-7}"
root="$(cd "$(dirname "$0")/.." && pwd)"
kcat="${KCAT:-$root/build/release/src/kcat}"
export KCAT_DATA_DIR="$root/patches"
command -v rg >/dev/null || { echo "needs ripgrep (apt-get install ripgrep)" >&2; exit 3; }

rm -rf "$repo/.kcat"   # caches of an earlier run would make the first scans below warm

# The same file kinds kcat scans, and the literals its rules prefilter on.
globs=(-g '*.py' -g '*.pyi' -g '*.ipynb' -g '*.cu' -g '*.cuh' -g '*.cpp' -g '*.cc' -g '*.cxx' -g '*.h' -g '*.hpp'
       -g '*.c' -g 'requirements*.txt' -g 'pyproject.toml' -g 'environment.yml' -g 'CMakeLists.txt' -g '*.cmake'
       -g 'Dockerfile*' -g '*.sh')
pattern='cuda|CUDA|nccl|NCCL|nvidia|NVIDIA|cudnn|nvcc|cublas|flash_attn|flash_attention|xformers|apex|triton|__global__|<<<|nvtx|bitsandbytes|cupy|pynvml'

# Median wall time and median CPU time (user + system, all threads) of RUNS runs: "WALL CPU".
# CPU time is the steadier figure when other work shares the machine.
time_runs() {  # command... -> "wall cpu" in seconds
  python3 - "$runs" "$@" <<'PY'
import resource, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
walls, cpus = [], []
for _ in range(runs):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1 = time.perf_counter(); r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    walls.append(t1 - t0)
    cpus.append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
median = lambda a: sorted(a)[(len(a) - 1) // 2]
print(f"{median(walls):.4f} {median(cpus):.4f}")
PY
}

# Both honour .gitignore (in a git work tree; elsewhere neither has one to honour).
read -r rg_t rg_cpu < <(time_runs rg -c "${globs[@]}" -e "$pattern" "$repo")
read -r cold_t cold_cpu < <(time_runs "$kcat" scan "$repo" --no-cache --format json --exit-zero)
# Fill the caches. The walk cache (docs/scan.md) keeps a walk only when what it read is older than
# two seconds, and the first scan has just made .kcat/ in the root: scan again after that, so the
# warm runs measure the steady state of a tree scanned before and unchanged since.
"$kcat" scan "$repo" --format json --exit-zero >/dev/null 2>&1
read -r first_warm_t _ < <(runs=1 time_runs "$kcat" scan "$repo" --format json --exit-zero)
sleep 2.5
"$kcat" scan "$repo" --format json --exit-zero >/dev/null 2>&1
read -r warm_t warm_cpu < <(time_runs "$kcat" scan "$repo" --format json --exit-zero)
rss_kb=$(/usr/bin/time -f '%M' "$kcat" scan "$repo" --no-cache --format json --exit-zero 2>&1 >/dev/null | tail -1)
findings=$("$kcat" scan "$repo" --no-cache --format json --exit-zero | python3 -c 'import json,sys; d=json.load(sys.stdin)["summary"]; print(d["total"], d["blocking"], d["files_seen"], d["files_parsed"])')
rm -rf "$repo/.kcat"

git_tree=no; git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1 && git_tree=yes
printf 'repo %s (%s runs each, median; git work tree: %s)\n' "$repo" "$runs" "$git_tree"
printf 'machine: %s cores, %s\n' "$(nproc)" "$(lscpu | sed -n 's/^Model name: *//p')"
ratio() { echo "$1 / $2" | bc -l; }
printf '                   wall (median)               CPU user+sys (median)\n'
printf 'ripgrep            %.3f s                     %.3f s\n' "$rg_t" "$rg_cpu"
printf 'kcat scan (cold)   %.3f s  %5.2fx ripgrep     %.3f s  %5.2fx   (goal: within 12x)\n' \
  "$cold_t" "$(ratio "$cold_t" "$rg_t")" "$cold_cpu" "$(ratio "$cold_cpu" "$rg_cpu")"
printf 'kcat scan (warm)   %.3f s  %5.2fx ripgrep     %.3f s  %5.2fx   (goal: within 1.5x)\n' \
  "$warm_t" "$(ratio "$warm_t" "$rg_t")" "$warm_cpu" "$(ratio "$warm_cpu" "$rg_cpu")"
printf 'kcat scan (warm, first after the cold one: findings from the per-file cache, output rendered)  %.3f s  %5.2fx ripgrep\n' \
  "$first_warm_t" "$(ratio "$first_warm_t" "$rg_t")"
printf 'kcat peak RSS      %.1f MiB (goal: under 150)\n' "$(echo "$rss_kb / 1024" | bc -l)"
printf 'findings total/blocking, files seen/parsed: %s\n' "$findings"
