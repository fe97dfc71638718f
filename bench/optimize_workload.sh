#!/usr/bin/env bash
# The optimize loop on the CPU workload of tests/fixtures/optimize: what each recipe measured, kept
# or reverted, and the final speed-up over the unoptimized baseline (the peer) in the same run.
#   bench/optimize_workload.sh [KCAT] [RUNS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
kcat="${1:-$root/build/release/src/kcat}"
runs="${2:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/tests/fixtures/optimize/workload/." "$work/"
cp -r "$root/tests/fixtures/optimize/recipes" "$work/team-recipes"
cat > "$work/kcat.toml" <<TOML
[build]
command = "cc -O2 -o wl workload.c -lm"
[bench]
command = "./wl --tokens 6000 --dump out.npy"
metric = 'throughput: ([0-9.]+)'
unit = "tok/s"
runs = $runs
target_speedup = 4
[optimize]
output = "out.npy"
rtol = 1e-3
atol = 1e-4
recipe_dirs = ["team-recipes"]
recipes = ["small-tiles", "approximate-mean", "fused-rmsnorm", "dispatch-batch"]
TOML
(cd "$work" && git init -q && git add -A && git -c user.name=bench -c user.email=bench@localhost commit -qm workload)
start=$(date +%s.%N)
"$kcat" optimize "$work" --log-format json 2>/dev/null | tail -1 > "$work/out.json" || true
end=$(date +%s.%N)
python3 - "$work/out.json" "$start" "$end" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"{'#':>2} {'recipe':<18} {'outcome':<9} {'median tok/s':>13} {'CV':>6} {'x baseline':>10}  reason")
for it in j["iterations"]:
    st = it["stats"] or {}
    print(f"{it['index']:>2} {it['recipe'] or 'baseline':<18} {it['outcome']:<9} {st.get('median', 0):>13.0f} "
          f"{st.get('cv', 0) * 100:>5.1f}% {it['speedup']:>9.2f}x  {it['reason'][:70]}")
print(f"stop: {j['stop_reason']}; best / baseline = {j.get('speedup', 0):.2f}x; wall {float(sys.argv[3]) - float(sys.argv[2]):.1f} s")
PY
