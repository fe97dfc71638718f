#!/usr/bin/env python3
"""Build a local package index of metadata-only wheels, so pip's real resolver can run offline.

The families come from kcat's cited knowledge (patches/versions/*.toml): torch, torch-npu (requiring
its torch), torchvision / torchaudio (requiring the torch they are built for), vllm-ascend (requiring
what its requirements.txt pins at that tag), transformers (requiring the tokenizers range of its
release), tokenizers, triton-ascend, numpy 1.x and 2.x. Every other package a requirements file names
gets one wheel at a version its specifier admits, with no dependencies. `--extra` adds packages by
hand: --extra 'foo==1.0:torch==2.1.0;numpy<2'.

Usage: make_index.py --patches DIR --out DIR [--requirements FILE ...] [--extra SPEC ...]
Standard library only, plus pip's vendored `packaging` (present wherever pip is).
"""
import argparse
import os
import re
import sys
import tomllib
import zipfile

from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.specifiers import SpecifierSet
from pip._vendor.packaging.utils import canonicalize_name
from pip._vendor.packaging.version import InvalidVersion, Version


class Index:
    def __init__(self, out):
        self.out = out
        self.have = {}  # (canonical name, version) -> requires
        os.makedirs(out, exist_ok=True)

    def add(self, name, version, requires=()):
        try:
            v = Version(version)
        except InvalidVersion:
            return
        version = v.public  # a wheel's local part (+cpu, +git...) is not what pip compares here
        key = (canonicalize_name(name), version)
        if key in self.have:
            return
        self.have[key] = list(requires)
        dist = re.sub(r"[-_.]+", "_", name)
        info = f"{dist}-{version}.dist-info"
        path = os.path.join(self.out, f"{dist}-{version}-py3-none-any.whl")
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
        wheel = "Wheel-Version: 1.0\nGenerator: kcat-make-index\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        with zipfile.ZipFile(path, "w") as z:
            z.writestr(f"{info}/METADATA", meta)
            z.writestr(f"{info}/WHEEL", wheel)
            z.writestr(f"{info}/RECORD", f"{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")

    def names(self):
        return {n for n, _ in self.have}


def load(patches, name):
    with open(os.path.join(patches, "versions", name), "rb") as f:
        return tomllib.load(f)


def public(v):
    try:
        return Version(v).public
    except InvalidVersion:
        return None


def build_families(idx, patches, pinned_torch):
    npu = load(patches, "torch_npu.toml")
    va = load(patches, "vllm_ascend.toml")
    fam = load(patches, "families.toml")
    torches = set(pinned_torch)
    for r in npu.get("torch_npu", []):
        torches.add(r["torch"])
        if public(r["torch_npu"]):
            idx.add("torch-npu", r["torch_npu"], [f"torch=={r['torch']}"])
    for r in va.get("vllm_ascend", []):
        torches.add(r["torch"])
        if public(r["torch_npu"]):
            idx.add("torch-npu", r["torch_npu"], [f"torch=={r['torch']}"])
    for t in sorted(torches, key=lambda s: Version(s)):
        idx.add("torch", t)
        tv = Version(t)
        row = next((f for f in fam.get("torch", []) if f["torch"] == f"{tv.major}.{tv.minor}"), None)
        if not row:
            continue
        # torchvision 0.(minor+15).patch and torchaudio minor.patch are built for exactly this torch
        idx.add("torchvision", f"0.{tv.minor + 15}.{tv.micro}", [f"torch=={t}"])
        if tv.minor >= 11:
            idx.add("torchaudio", "2.11.0", ["torch>=2.11"])
        else:
            idx.add("torchaudio", f"2.{tv.minor}.{tv.micro}", [f"torch=={t}"])
    notes = {n["vllm_ascend"]: n["requires"] for n in va.get("vllm_ascend_note", [])}
    for r in va.get("vllm_ascend", []):
        req = notes.get(r["vllm_ascend"]) or [f"torch=={r['torch']}", f"torch-npu=={public(r['torch_npu'])}"]
        idx.add("vllm-ascend", r["vllm_ascend"], req)
        for q in req:
            rq = Requirement(q)
            if canonicalize_name(rq.name) == "triton-ascend":
                for s in rq.specifier:
                    idx.add("triton-ascend", s.version)
    rows = fam.get("tokenizers", [])
    transformers = {"4.44.2", "4.46.3", "4.48.3", "4.57.6", "5.5.3", "5.5.4"}
    for n in notes.values():
        for q in n:
            rq = Requirement(q)
            if canonicalize_name(rq.name) == "transformers":
                transformers |= {s.version for s in rq.specifier if s.operator in ("==", ">=")}
    for t in sorted(transformers, key=Version):
        tok = [r["tokenizers"] for r in rows if Version(t) in SpecifierSet(r["transformers"])]
        idx.add("transformers", t, [f"tokenizers{tok[0]}"] if tok else [])
    for v in ["0.19.1", "0.20.3", "0.21.1", "0.22.1", "0.23.0"]:
        idx.add("tokenizers", v)
    for v in ["1.26.4", "2.2.6"]:
        idx.add("numpy", v)


def candidates(spec):
    out = []
    for s in spec:
        v = s.version.rstrip(".*").rstrip(".")
        try:
            base = Version(v)
        except InvalidVersion:
            continue
        out.append(str(base))
        rel = list(base.release) + [0] * (3 - len(base.release))
        out.append(".".join(map(str, rel[:2] + [rel[2] + 1])))
        out.append(".".join(map(str, [rel[0], rel[1] + 1, 0])))
        if rel[-1] > 0:
            out.append(".".join(map(str, rel[:-1] + [rel[-1] - 1])))
        if rel[1] > 0:
            out.append(".".join(map(str, [rel[0], rel[1] - 1, 0])))
        if rel[0] > 0:
            out.append(f"{rel[0] - 1}.99.0")
    return out + ["1.0.0", "0.1.0", "2.0.0", "99.0.0"]


def requirement_lines(path):
    with open(path) as f:
        for raw in f:
            line = re.sub(r"(^|\s)#.*$", "", raw).strip()
            if not line or line.startswith("-"):
                continue
            try:
                yield Requirement(line)
            except InvalidRequirement:
                print(f"make_index: not a requirement, skipped: {line}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patches", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--requirements", action="append", default=[])
    ap.add_argument("--extra", action="append", default=[])
    a = ap.parse_args()
    idx = Index(a.out)
    reqs = [r for p in a.requirements for r in requirement_lines(p)]
    for e in a.extra:
        spec, _, deps = e.partition(":")
        r = Requirement(spec)
        v = next(iter(r.specifier)).version
        idx.add(r.name, v, [d for d in deps.split(";") if d])
    pinned_torch = [s.version for r in reqs if canonicalize_name(r.name) == "torch" for s in r.specifier
                    if s.operator == "==" and "*" not in s.version]
    build_families(idx, a.patches, pinned_torch)
    # transformers releases outside the representative set get a wheel at the version asked for,
    # with the tokenizers range of its cited row; torch's family never does (a missing pairing must
    # stay a conflict)
    fillable = {"transformers", "tokenizers", "numpy", "triton-ascend"}
    rows = load(a.patches, "families.toml").get("tokenizers", [])
    for r in reqs:
        name = canonicalize_name(r.name)
        if r.url:
            continue
        existing = [v for (n, v) in idx.have if n == name]
        if existing and (name not in fillable or any(r.specifier.contains(v, prereleases=True) for v in existing)):
            continue
        for c in candidates(r.specifier):
            if r.specifier.contains(c, prereleases=True):
                deps = []
                if name == "transformers":
                    deps = [f"tokenizers{t['tokenizers']}" for t in rows if Version(c) in SpecifierSet(t["transformers"])][:1]
                idx.add(r.name, c, deps)
                break
        else:
            print(f"make_index: no version for {r}", file=sys.stderr)
    print(f"make_index: {len(idx.have)} wheels in {a.out}")


if __name__ == "__main__":
    main()
