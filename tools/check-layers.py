#!/usr/bin/env python3
"""Checks that includes between layers point downwards only.

The layers and their dependencies are read from the kcat_layer(...) lines of src/CMakeLists.txt.
Every `#include "kcat/<other>/..."` in src/<layer>/ and include/kcat/<layer>/ must name the layer
itself or a layer it depends on (directly or through other layers); cli/ is the program on top and
may include any layer. Prints each upward include and exits 1 if there is one.

  tools/check-layers.py            the check (run by tools/dev.sh test)
  tools/check-layers.py --unused   also list the DEPS edges A -> B where nothing in src/A or
                                   include/kcat/A includes kcat/B/, with the layers A includes that
                                   only those edges reach (tests/ link what they need themselves)
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAYER_RE = re.compile(r"^\s*kcat_layer\(\s*(\w+)([^)]*)\)", re.M)
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"kcat/(\w+)/', re.M)


def read_layers():
    with open(os.path.join(ROOT, "src", "CMakeLists.txt"), encoding="utf-8") as f:
        text = f.read()
    layers = {}
    for m in LAYER_RE.finditer(text):
        deps, section = [], None
        for word in m.group(2).split():
            if word in ("DEPS", "LIBS"):
                section = word
            elif section == "DEPS":
                deps.append(word)
        layers[m.group(1)] = deps
    return layers


def closure(layers, name, skip_edge=None):
    seen, todo = set(), [name]
    while todo:
        cur = todo.pop()
        for d in layers.get(cur, []):
            if (cur, d) == skip_edge or d in seen:
                continue
            seen.add(d)
            todo.append(d)
    return seen


def includes_of(dirs):
    """{(file, line number, included layer)} for the files under `dirs`."""
    out = []
    for d in dirs:
        for base, _, files in os.walk(os.path.join(ROOT, d)):
            for fn in sorted(files):
                if not fn.endswith((".cc", ".h")):
                    continue
                path = os.path.join(base, fn)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for m in INCLUDE_RE.finditer(text):
                    line = text.count("\n", 0, m.start()) + 1
                    out.append((os.path.relpath(path, ROOT), line, m.group(1)))
    return out


def main():
    layers = read_layers()
    if not layers:
        print("check-layers: no kcat_layer lines in src/CMakeLists.txt", file=sys.stderr)
        return 2
    bad = 0
    for name, deps in layers.items():
        for d in deps:
            if d not in layers:
                print(f"src/CMakeLists.txt: {name} depends on unknown layer {d}")
                bad += 1
        allowed = closure(layers, name) | {name}
        for path, line, inc in includes_of([f"src/{name}", f"include/kcat/{name}"]):
            if inc not in allowed:
                print(f"{path}:{line}: layer {name} includes kcat/{inc}/ "
                      f"(not among its dependencies: {', '.join(sorted(allowed - {name})) or 'none'})")
                bad += 1
    if "--unused" in sys.argv[1:]:
        for name, deps in layers.items():
            used = {inc for _, _, inc in includes_of([f"src/{name}", f"include/kcat/{name}"])}
            used.discard(name)
            unused = [d for d in deps if d not in used]
            if not unused:
                continue
            kept = dict(layers)
            kept[name] = [d for d in deps if d in used]
            lost = used - closure(kept, name)
            print(f"unused: {name} -> {', '.join(unused)}" +
                  (f" (without them, depend on {', '.join(sorted(lost))} directly)" if lost else ""))
    if bad:
        print(f"check-layers: {bad} include(s) against the layer order of src/CMakeLists.txt",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
