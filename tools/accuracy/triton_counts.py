"""Issue 17 (Triton on triton-ascend): Triton kernels, launches and py.triton-ascend-* checks in a
`kcat scan --format json --show-info` output; with a migrate report.json, the codemod edits made in
files holding Triton code and the sites triton-kernel-port keeps. Usage: triton_counts.py scan.json [report.json]"""
import json, sys, collections
scan = json.load(open(sys.argv[1]))
F = [f for f in scan["findings"]]
triton_files = {f["file"] for f in F if f["rule"] in ("py.triton", "py.triton-launch")}
kernels = [f for f in F if f["rule"] == "py.triton" and f["matched"].endswith("jit")]
print("files with Triton code:", len(triton_files))
print("@triton.jit kernels:", len(kernels), "in", len({f['file'] for f in kernels}), "files")
print("py.triton findings (jit/autotune/heuristics):", sum(f["rule"] == "py.triton" for f in F))
print("py.triton-launch findings:", sum(f["rule"] == "py.triton-launch" for f in F))
c = collections.Counter(f["rule"] for f in F if f["rule"].startswith("py.triton-ascend"))
files = collections.defaultdict(set)
for f in F:
    if f["rule"].startswith("py.triton-ascend"): files[f["rule"]].add(f["file"])
for r, n in sorted(c.items()):
    print(f"  {r}: {n} sites in {len(files[r])} files")
if len(sys.argv) > 2:
    rep = json.load(open(sys.argv[2]))
    t = rep["totals"]
    print("totals:", t)
    fixed = [s for s in rep["sites"] if s["status"] == "fixed" and s["how"] not in ("recipe:triton-kernel-port",) and s["finding"]["file"] in triton_files]
    print("codemod edits in Triton files:", len(fixed), collections.Counter(s["finding"]["rule"] for s in fixed).most_common(8))
    kept = [s for s in rep["sites"] if s["how"] == "recipe:triton-kernel-port"]
    print("sites kept by triton-kernel-port:", len(kept))
    left = collections.Counter((s["finding"]["rule"], s["finding"]["severity"]) for s in rep["sites"] if s["status"] == "left" and s["finding"]["rule"].startswith("py.triton"))
    print("Triton sites left:", dict(left))
