#!/usr/bin/env bash
# How fast headless Chromium opens kcat's HTML reports: two (or more) report files, in the same run.
#   bench/html_report_load.sh RUNS A.html B.html ...
# Each file is copied with a probe appended whose load handler writes into the DOM: load (navigation
# start to the load event: read, parse, style, the page's own scripts) and layout (after forcing the
# page's layout, which the first paint needs). Chromium runs headless at 1366x768, the files
# alternated RUNS times; prints the medians per file, and the wall and CPU time (user + system,
# all its processes) of the whole browser, start-up included: give an empty page as one of the
# files to see the start-up alone. On a shared machine the CPU time is the steadier figure.
set -euo pipefail
runs="${1:?usage: bench/html_report_load.sh RUNS A.html B.html ...}"
shift
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
probe='<script>addEventListener("load",function(){var e=document.documentElement,t=performance.now();
e.setAttribute("data-probe-load",Math.round(t));void e.scrollHeight;void document.body.getBoundingClientRect();
e.setAttribute("data-probe-layout",Math.round(performance.now()));
e.setAttribute("data-probe-rows",document.querySelectorAll("tr").length);});</script>'
i=0
for f in "$@"; do
  cp "$f" "$work/$i.html"
  printf '%s\n' "$probe" >>"$work/$i.html"
  i=$((i + 1))
done
python3 - "$runs" "$chromium" "$work" "$@" <<'PY'
import re, resource, statistics, subprocess, sys, time
runs, chromium, work, files = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
res = {f: {"load": [], "layout": [], "wall": [], "cpu": []} for f in files}
for r in range(runs):
    for i, f in enumerate(files):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.perf_counter()
        out = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update", "--disable-sync",
                              f"--user-data-dir={work}/profile", "--window-size=1366,768",
                              "--dump-dom", f"file://{work}/{i}.html"],
                             capture_output=True, text=True, timeout=300).stdout
        wall = time.perf_counter() - t0; r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res[f]["cpu"].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
        m = {k: re.search(f'data-probe-{k}="(\\d+)"', out) for k in ("load", "layout", "rows")}
        if not m["load"]:
            sys.exit(f"{f}: the probe did not run")
        res[f]["load"].append(int(m["load"][1])); res[f]["layout"].append(int(m["layout"][1]))
        res[f]["wall"].append(wall); res[f]["rows"] = int(m["rows"][1])
for f in files:
    d = res[f]; load, layout, wall, cpu = (statistics.median(d[k]) for k in ("load", "layout", "wall", "cpu"))
    print(f"{f}: {d['rows']} <tr>; median load {load:.0f} ms, first layout {layout:.0f} ms, browser wall "
          f"{wall:.2f} s, browser CPU {cpu:.2f} s; load runs {d['load']}, CPU runs {[round(c, 2) for c in d['cpu']]}")
PY
