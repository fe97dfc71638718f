#!/usr/bin/env python3
"""Render OUT_DIR/<repo>/verdicts.tsv (verdicts.py) as the markdown tables of docs/accuracy.md.

Repositories with at most SMALL edits get one row per edit; larger ones group identical mechanical
edits (same verdict, class, reason and rewritten token) with a count and their file:line list.
Usage: render.py OUT_DIR [repo ...]      per-repository tables
       render.py OUT_DIR --totals         the totals table (verdicts per repository, % of edits)"""
import collections
import os
import re
import sys

SMALL = 45
ORDER = ["nanoGPT", "llama", "whisper", "LLaVA", "timm", "LLaMA-Factory", "litgpt", "mamba", "extension-cpp"]
VERDICTS = ["right", "pointless", "wrong", "harmful"]


def token(before, after):
    """The rewritten part of a line, widened to whole dotted names: 'torch.cuda.device' -> 'torch.npu.device'."""
    if not before:
        return after if len(after) < 60 else after[:57] + "..."
    p = 0
    while p < min(len(before), len(after)) and before[p] == after[p]:
        p += 1
    s = 0
    while s < min(len(before), len(after)) - p and before[-1 - s] == after[-1 - s]:
        s += 1
    lo = p
    while lo > 0 and re.match(r"[\w.]", before[lo - 1]):
        lo -= 1
    def hi(t):
        e = len(t) - s
        while e < len(t) and re.match(r"[\w.(]", t[e]):
            e += 1
            if t[e - 1] == "(":
                break
        return e
    b, a = before[lo:hi(before)], after[lo:hi(after)]
    return f"{b} -> {a}" if len(b) + len(a) < 90 else f"{b[:40]}... -> {a[:40]}..."


def esc(t):
    return t.replace("|", "\\|").replace("`", "'")


def render(out, repo):
    rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, repo, "verdicts.tsv"))]
    c = collections.Counter(r[4] for r in rows)
    n = len(rows)
    lines = [f"Edits: {n} (" + ", ".join(f"{v} {c[v]}" for v in VERDICTS) + ")", ""]
    if n <= SMALL:
        lines += ["| file:line | before -> after | verdict | why |", "|---|---|---|---|"]
        for f, ln, b, a, v, cls, why in rows:
            ba = f"`{esc(b)}` -> `{esc(a)}`" if b else f"+ `{esc(a)}`"
            lines.append(f"| {f}:{ln} | {ba} | **{v}**{' ' + cls if cls else ''} | {esc(why)} |")
    else:
        groups = collections.OrderedDict()
        for f, ln, b, a, v, cls, why in rows:
            key = (v, cls, why, token(b, a))
            groups.setdefault(key, []).append(f"{f}:{ln}")
        lines += ["| n | rewrite | verdict | why | sites |", "|---:|---|---|---|---|"]
        for (v, cls, why, tok), sites in sorted(groups.items(), key=lambda kv: (VERDICTS.index(kv[0][0]) * -1, -len(kv[1]))):
            # compress sites: file:l1,l2,...
            per = collections.OrderedDict()
            for s_ in sites:
                f, l = s_.rsplit(":", 1)
                per.setdefault(f, []).append(l)
            st = "; ".join(f"{f}:{','.join(ls)}" for f, ls in per.items())
            lines.append(f"| {len(sites)} | `{esc(tok)}` | **{v}**{' ' + cls if cls else ''} | {esc(why)} | {st} |")
    return "\n".join(lines), c, n


def totals(out, repos):
    T, TI = collections.Counter(), collections.Counter()
    print("| repository | edits | right | pointless | wrong | harmful | of which `import torch_npu` (r/p/w/h) |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in repos:
        rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(out, r, "verdicts.tsv"))]
        c = collections.Counter(x[4] for x in rows)
        ci = collections.Counter(x[4] for x in rows if x[3] == "import torch_npu")
        T.update(c)
        TI.update(ci)
        n = len(rows) or 1
        print(f"| {r} | {len(rows)} | " + " | ".join(f"{c[v]} ({100 * c[v] / n:.0f}%)" for v in VERDICTS)
              + " | " + "/".join(str(ci[v]) for v in VERDICTS) + " |")
    n, ni = sum(T.values()), sum(TI.values())
    print(f"| **all** | **{n}** | " + " | ".join(f"**{T[v]} ({100 * T[v] / n:.1f}%)**" for v in VERDICTS)
          + " | " + "/".join(str(TI[v]) for v in VERDICTS) + " |")
    m = n - ni
    print(f"| all, without the {ni} `import torch_npu` lines | {m} | "
          + " | ".join(f"{T[v] - TI[v]} ({100 * (T[v] - TI[v]) / m:.1f}%)" for v in VERDICTS) + " | |")


if __name__ == "__main__":
    out = sys.argv[1]
    if sys.argv[2:] == ["--totals"]:
        totals(out, [r for r in ORDER if os.path.exists(os.path.join(out, r, "verdicts.tsv"))])
        sys.exit(0)
    repos = sys.argv[2:] or [r for r in ORDER if os.path.exists(os.path.join(out, r, "verdicts.tsv"))]
    for r in repos:
        text, c, n = render(out, r)
        print(f"### {r}\n\n{text}\n")
