#!/usr/bin/env python3
"""List every edit of a kcat diff (diff.patch from run.sh) as TSV: file, line (new side), before, after.

One row per changed line: removed and added lines of a hunk are paired in order; an added line with
no removed partner has an empty `before` (an insertion, e.g. `import torch_npu`); a new file is one
row (`<new file, N lines>`). Usage: edits.py OUT_DIR/<name>/diff.patch > edits.tsv
"""
import re
import sys


def edits(lines):
    path, new_file, new_no = None, False, 0
    minus, plus = [], []

    def flush():
        rows = []
        for i in range(max(len(minus), len(plus))):
            old = minus[i][1] if i < len(minus) else ""
            new, no = (plus[i][1], plus[i][0]) if i < len(plus) else ("<deleted>", minus[i][0])
            rows.append((path, no, old.strip(), new.strip()))
        minus.clear()
        plus.clear()
        return rows

    out = []
    count = 0
    for line in lines:
        if line.startswith("diff --git"):
            out += flush()
            if new_file and path:
                out.append((path, 1, "", f"<new file, {count} lines>"))
            path, new_file, count = line.split(" b/", 1)[1].strip(), False, 0
        elif line.startswith("new file mode"):
            new_file = True
        elif line.startswith("@@"):
            out += flush()
            new_no = int(re.match(r"@@ -\d+(?:,\d+)? \+(\d+)", line).group(1))
        elif line.startswith(("---", "+++")):
            continue
        elif line.startswith("-"):
            minus.append((new_no, line[1:]))
        elif line.startswith("+"):
            if new_file:
                count += 1
            else:
                plus.append((new_no, line[1:]))
            new_no += 1
        else:
            out += flush()
            new_no += 1
    out += flush()
    if new_file and path:
        out.append((path, 1, "", f"<new file, {count} lines>"))
    return out


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        for p, n, old, new in edits(f.read().splitlines()):
            print(f"{p}\t{n}\t{old}\t{new}".replace("\r", ""))
