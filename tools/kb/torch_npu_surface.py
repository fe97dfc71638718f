#!/usr/bin/env python3
"""Writes patches/torch_npu_surface.toml: the torch_npu API surface the gate checks added calls against
(issue 12, "a gate that checks meaning": a step that calls a torch_npu function that does not exist, or
passes a keyword it does not accept, is refused).

Sources, read from git checkouts (bare is fine) at the commits given:
  - op-plugin op_plugin/config/op_plugin_functions.yaml: every op of the custom, autograd, symint and
    quant sections that has an implementation (acl_op, op_api or sparse) for the torch version, as
    torchnpugen/gen_op_plugin_functions.py selects them; torch_npu exports each op of torch.ops.npu
    as torch_npu.<op> (Ascend/pytorch torch_npu/_init/core/_exports.py, _export_npu_ops).
  - Ascend/pytorch torch_npu/csrc/aten/npu_native_functions.yaml: torch_npu's own ops (custom and
    symint sections, e.g. npu_format_cast), registered in the same torch.ops.npu namespace.
  - Ascend/pytorch torch_npu/npu/__init__.py: the names torch.npu has (its __all__, every name the
    module binds at top level, and its submodules).

Usage:
  tools/kb/torch_npu_surface.py --op-plugin DIR --op-plugin-commit C --pytorch DIR --pytorch-commit C \
      --torch 2.9 > patches/torch_npu_surface.toml
Standard library only.
"""
import argparse
import ast
import re
import subprocess
import sys


def git_show(repo, commit, path):
    return subprocess.run(["git", "--git-dir", repo, "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def git_ls(repo, commit, path):
    out = subprocess.run(["git", "--git-dir", repo, "ls-tree", "--name-only", f"{commit}:{path}"], check=True,
                         capture_output=True, text=True).stdout
    return out.split()


def versions(value, all_version):
    """torchnpugen/op_codegen_utils.py get_version, on the yaml's text form."""
    value = value.strip()
    if not value:
        return []
    if value.startswith("["):
        a, b = [x.strip() for x in value.strip("[]").split(",")]
        start = all_version.index(a)
        return all_version[start:] if b == "newest" else all_version[start:all_version.index(b) + 1]
    if value == "all_version":
        return list(all_version)
    return [x.strip() for x in value.split(",")]


def ops(yaml_text, version):
    all_version = None
    section = None
    entries = []
    cur = None
    for line in yaml_text.splitlines():
        if line.startswith("all_version:"):
            all_version = [x.strip() for x in line.split(":", 1)[1].strip().strip("[]").split(",")]
            continue
        m = re.match(r"^([a-z_]+):\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^  - func: (.*)$", line)
        if m:
            cur = {"section": section, "func": m.group(1)}
            entries.append(cur)
            continue
        m = re.match(r"^    (acl_op|op_api|sparse): (.*)$", line)
        if m and cur is not None:
            cur[m.group(1)] = m.group(2)
    out = {}
    for e in entries:
        if e["section"] not in ("custom", "autograd", "symint", "quant"):
            continue
        have = set()
        for k in ("acl_op", "op_api", "sparse"):
            have.update(versions(e.get(k, ""), all_version))
        if version not in have:
            continue
        m = re.match(r"^([A-Za-z0-9_]+)(\.[A-Za-z0-9_]+)?\((.*)\)\s*->", e["func"])
        if not m:
            continue
        out.setdefault(m.group(1), []).append(m.group(3))
    return out


def native_ops(yaml_text):
    """torch_npu's own ops (torch_npu/csrc/aten/npu_native_functions.yaml, its custom and symint
    sections): registered in the same torch.ops.npu namespace as op-plugin's, for this torch_npu."""
    out = {}
    section = None
    for line in yaml_text.splitlines():
        m = re.match(r"^([a-z_]+):", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^  - func: ([A-Za-z0-9_]+)(\.[A-Za-z0-9_]+)?\((.*)\)\s*->", line)
        if m and section in ("custom", "symint"):
            out.setdefault(m.group(1), []).append(m.group(3))
    return out


def python_assigned_ops(repo, commit):
    """`torch_npu.npu_X = ...` in torch_npu's own Python (its onnx wrappers, inductor passes): names
    whose signature is the wrapper's, recorded as "..." (any arguments)."""
    out = subprocess.run(["git", "--git-dir", repo, "grep", "-ohE", r"torch_npu\.npu_[A-Za-z0-9_]+ = ", commit, "--",
                          "torch_npu/*.py"], capture_output=True, text=True).stdout
    return sorted({line.split(".", 1)[1].split(" ")[0] for line in out.splitlines() if line})


def npu_module_names(init_text, submodules):
    tree = ast.parse(init_text)
    names = set(submodules)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                if a.name != "*":
                    names.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    names.add(t.id)
                if isinstance(t, ast.Name) and t.id == "__all__" and isinstance(node.value, (ast.List, ast.Tuple)):
                    names.update(x.value for x in node.value.elts if isinstance(x, ast.Constant))
    return sorted(n for n in names if not n.startswith("__") or n == "__all__")


def toml_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--op-plugin", required=True)
    ap.add_argument("--op-plugin-commit", required=True)
    ap.add_argument("--pytorch", required=True)
    ap.add_argument("--pytorch-commit", required=True)
    ap.add_argument("--torch", required=True, help="torch major.minor of the stack, e.g. 2.9")
    a = ap.parse_args()
    version = "v" + ".".join(a.torch.split(".")[:2])
    table = ops(git_show(a.op_plugin, a.op_plugin_commit, "op_plugin/config/op_plugin_functions.yaml"), version)
    own = native_ops(git_show(a.pytorch, a.pytorch_commit, "torch_npu/csrc/aten/npu_native_functions.yaml"))
    for name, schemas in own.items():
        table.setdefault(name, []).extend(x for x in schemas if x not in table.get(name, []))
    for name in python_assigned_ops(a.pytorch, a.pytorch_commit):
        if name not in table:  # the onnx wrappers keep their op's parameters; only a new name is unknown
            table[name] = ["..."]
    subs = [re.sub(r"\.py$", "", n) for n in git_ls(a.pytorch, a.pytorch_commit, "torch_npu/npu")
            if n.endswith(".py") or "." not in n]
    npu = npu_module_names(git_show(a.pytorch, a.pytorch_commit, "torch_npu/npu/__init__.py"), subs)
    w = sys.stdout.write
    w("# The torch_npu API surface the gate checks a step's added calls against (issue 12): generated by\n")
    w("# tools/kb/torch_npu_surface.py; do not edit by hand.\n")
    w(f"# ops: Ascend/op-plugin@{a.op_plugin_commit}:op_plugin/config/op_plugin_functions.yaml, the ops\n")
    w(f"#   of its custom/autograd/symint/quant sections implemented for torch {version} (torchnpugen/\n")
    w("#   gen_op_plugin_functions.py); torch_npu exports every torch.ops.npu op as torch_npu.<op>\n")
    w(f"#   (Ascend/pytorch@{a.pytorch_commit}:torch_npu/_init/core/_exports.py, _export_npu_ops).\n")
    w(f"#   Also torch_npu's own ops: Ascend/pytorch@{a.pytorch_commit}:torch_npu/csrc/aten/\n")
    w("#   npu_native_functions.yaml (custom and symint sections), in the same torch.ops.npu namespace.\n")
    w("#   And the torch_npu.npu_X = ... assignments of its Python (schema \"...\": any arguments).\n")
    w(f"# npu_module: Ascend/pytorch@{a.pytorch_commit}:torch_npu/npu/__init__.py (__all__, its top-level\n")
    w("#   names, and the submodules of torch_npu/npu/).\n")
    w("# op-plugin's master may hold ops newer than the pinned torch_npu release: the check is lenient there.\n")
    w(f'torch = "{version}"\n')
    w(f'op_plugin_commit = "{a.op_plugin_commit}"\n')
    w(f'pytorch_commit = "{a.pytorch_commit}"\n')
    w("npu_module = [\n")
    for n in npu:
        w(f"  {toml_str(n)},\n")
    w("]\n\n[ops]\n")
    for name in sorted(table):
        w(f"{name} = [{', '.join(toml_str(s) for s in table[name])}]\n")


if __name__ == "__main__":
    main()
