"""Shared pieces of the NPU benchmark harnesses (vllm_throughput.py, hf_generate.py).

Nothing here imports torch, vllm or transformers: argument parsing, prompt loading, the JSON
result line and the token-id dumps must work (and be tested) on a machine without them.
"""

import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import struct
import sys

# A fixed prompt set, so that two runs (or two harnesses) measure the same work.
DEFAULT_PROMPTS = [
    "Explain the difference between a process and a thread in three sentences.",
    "Write a short poem about the sea at night.",
    "Summarize the causes of the First World War.",
    "What is the capital of Australia, and why was it chosen?",
    "Translate into French: The weather is nice today, let's go for a walk.",
    "List five practical tips for writing readable Python code.",
    "Describe how a transformer language model generates text, step by step.",
    "Give a recipe for a simple tomato soup.",
]

# DeepSeek-OCR-2's document prompt, verbatim from deepseek-ai/DeepSeek-OCR-2 README.md
# ("Transformers-Inference") and DeepSeek-OCR2-master/DeepSeek-OCR2-hf/run_dpsk_ocr2.py.
OCR2_PROMPT = "<image>\n<|grounding|>Convert the document to markdown. "

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_ENVIRONMENT = 3  # as kcat: the machine is not in a usable state (a package is missing)


class HarnessError(Exception):
    def __init__(self, message, code=EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def emit(obj):
    """The one result line on stdout: a JSON object on a single line."""
    line = json.dumps(obj, separators=(", ", ": "), allow_nan=False, default=str)
    assert "\n" not in line
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(harness, message, code=EXIT_FAILURE, **extra):
    sys.stderr.write(f"{harness}: error: {message}\n")
    emit({"harness": harness, "error": message, "exit_code": code, **extra})
    sys.exit(code)


class Parser(argparse.ArgumentParser):
    """argparse that also reports a usage error as a JSON line (exit 2), like every other failure."""

    def __init__(self, harness, **kw):
        super().__init__(**kw)
        self.harness = harness

    def error(self, message):
        self.print_usage(sys.stderr)
        fail(self.harness, message, EXIT_USAGE, kind="usage")


def add_model_and_prompts(parser):
    """The arguments both harnesses take the same way: the model and the prompt set."""
    parser.add_argument("--model", required=True, help="model directory or hub id")
    parser.add_argument("--prompts", help="file: one prompt per line, or a JSON list (default: 8 built-in prompts; "
                                          "with --image, the DeepSeek-OCR-2 document prompt)")


def _whole_number(text, minimum, requirement):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    if v < minimum:
        raise argparse.ArgumentTypeError(f"{requirement}, got {v}")
    return v


def positive_int(text):
    return _whole_number(text, 1, "must be at least 1")


def non_negative_int(text):
    return _whole_number(text, 0, "must be 0 or more")


def json_object(text):
    try:
        v = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON ({e.msg} at column {e.colno}): {text!r}")
    if not isinstance(v, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object such as '{{\"architectures\": [\"X\"]}}', got {text!r}")
    return v


def load_prompts(path):
    """A JSON list of strings (or of {"prompt": ...}), or one prompt per non-empty line."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as e:
        raise HarnessError(f"cannot read the prompts file {path}: {e.strerror}", EXIT_USAGE)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise HarnessError(f"{path}:{e.lineno}: the prompts file starts with '[' but is not valid JSON: {e.msg}",
                               EXIT_USAGE)
        prompts = []
        for i, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("prompt"), str):
                item = item["prompt"]
            if not isinstance(item, str):
                raise HarnessError(f"{path}: item {i} is not a string (or an object with a \"prompt\" string)",
                                   EXIT_USAGE)
            prompts.append(item)
    else:
        prompts = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if not prompts:
        raise HarnessError(f"{path}: no prompts in the file", EXIT_USAGE)
    return prompts


def take(prompts, n):
    """n prompts, cycling through the list: the same requests every run."""
    return [prompts[i % len(prompts)] for i in range(n)]


def check_file(path, what):
    if path is not None and not os.path.isfile(path):
        raise HarnessError(f"{what} {path} does not exist or is not a file", EXIT_USAGE)


def check_model(path):
    # A hub id ("org/name") is allowed; something that looks like a local path must exist.
    looks_local = path.startswith(("/", "./", "../", "~"))
    if looks_local and not os.path.exists(os.path.expanduser(path)):
        raise HarnessError(f"model directory {path} does not exist", EXIT_USAGE)


def versions(*packages):
    out = {}
    for p in packages:
        try:
            out[p] = importlib.metadata.version(p.replace("_", "-"))
        except importlib.metadata.PackageNotFoundError:
            try:
                out[p] = importlib.metadata.version(p)
            except importlib.metadata.PackageNotFoundError:
                out[p] = None
    return out


# The environment variables that change what a run measures (the tutorial's VLLM_*, TASK_QUEUE_ENABLE,
# PYTORCH_NPU_ALLOC_CONF, the device selection); recorded with every result.
PROVENANCE_ENV = ("ASCEND_", "VLLM_", "HCCL_", "TASK_QUEUE_ENABLE", "PYTORCH_NPU_ALLOC_CONF", "CUDA_VISIBLE_DEVICES",
                  "TOKENIZERS_PARALLELISM", "OMP_NUM_THREADS")
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD")


def provenance(seed, argv=None):
    """Where a number comes from: the exact command, when it started (UTC), the seed, the machine,
    the Python and the environment variables that change the run (never one that names a secret)."""
    argv = sys.argv if argv is None else argv
    return {
        "command": shlex.join([sys.executable] + list(argv)),
        "started_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "seed": seed,
        "host": platform.node(),
        "python": platform.python_version(),
        "env": {k: v for k, v in sorted(os.environ.items())
                if k.startswith(PROVENANCE_ENV) and not any(w in k.upper() for w in _SECRET_WORDS)},
    }


def _first_line_value(path, key):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(key + "="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


def machine(ascend_home=None, run=None):
    """What the machine says about its NPUs, recorded beside every number: `npu-smi info` (its text,
    or null where there is no npu-smi), the CANN toolkit version and the driver version, read where
    `kcat doctor` reads them (src/env/doctor.cc layout_probe_command: <home>/ascend-toolkit/latest or
    <home>/cann-*, *-linux/ascend_toolkit_install.info "version=", <home>/driver/version.info
    "Version="). `run` stands in for subprocess.run in tests."""
    import glob
    import shutil
    import subprocess

    home = ascend_home or "/usr/local/Ascend"  # kcat doctor's default --ascend-home
    run = run or subprocess.run
    smi = None
    if shutil.which("npu-smi"):
        try:
            r = run(["npu-smi", "info"], capture_output=True, text=True, timeout=60)
            smi = (r.stdout or "") + (r.stderr or "")
        except (OSError, subprocess.TimeoutExpired) as e:
            smi = f"npu-smi info failed: {e}"
    toolkits = [os.path.join(home, "ascend-toolkit", "latest"), os.path.join(home, "cann")]
    toolkits += sorted(glob.glob(os.path.join(home, "cann-*")), reverse=True)
    cann = None
    for tk in (t for t in toolkits if os.path.isdir(t)):
        for info in glob.glob(os.path.join(tk, "*-linux", "ascend_toolkit_install.info")) + \
                [os.path.join(tk, "ascend_toolkit_install.info")]:
            cann = cann or _first_line_value(info, "version")
        if cann:
            break
    return {"npu_smi": smi, "cann": cann,
            "driver": _first_line_value(os.path.join(home, "driver", "version.info"), "Version"),
            "ascend_home": home}


PAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def split_pages(directory, warmup):
    """The page images of a directory, sorted by name, split into (warm-up pages, timed pages): the
    serving harness and the baseline read the same directory the same way, so they time the same pages."""
    if not os.path.isdir(directory):
        raise HarnessError(f"--pages {directory} is not a directory of page images", EXIT_USAGE)
    names = sorted(n for n in os.listdir(directory) if n.lower().endswith(PAGE_SUFFIXES))
    pages = [os.path.abspath(os.path.join(directory, n)) for n in names]
    if len(pages) <= warmup:
        raise HarnessError(f"--pages {directory}: {len(pages)} page image(s), but --warmup-pages {warmup} leaves "
                           "none to time; add pages", EXIT_USAGE)
    return pages[:warmup], pages[warmup:]


# The stack a harness measures when its result does not say: vLLM's harnesses run the installed
# vLLM's own model class (the vllm-ascend route), hf_generate.py without --repo the weights' remote code.
DEFAULT_STACKS = {"vllm-serve": "native", "vllm": "native", "transformers": "transformers"}


def page_set(result):
    """The SHA-256 of every page (or of the one image) a result timed, sorted and without repeats: the
    pinned page set two results must share to be compared. None for text prompts."""
    pages = result.get("pages")
    if isinstance(pages, dict):
        pages = pages.get("timed")
    if pages:
        return sorted({p["sha256"] for p in pages if p})
    image = result.get("image")
    return [image["sha256"]] if isinstance(image, dict) and image.get("sha256") else None


def side(result, role, path=None):
    """Who a result is: before or after, its harness, its stack and the repository commit it ran."""
    harness = result.get("harness")
    return {"role": role, "file": path, "harness": harness,
            "stack": result.get("stack") or DEFAULT_STACKS.get(harness), "repo_commit": result.get("repo_commit"),
            "output_tokens_per_s": result.get("output_tokens_per_s")}


def _name(s):
    return f"{s['stack']}" + (f"@{s['repo_commit'][:12]}" if s.get("repo_commit") else "")


def check_like(after, before):
    """Refuses two results that did not do the same work: different page sets, or output lengths that
    differ or are unknown (a run that stopped where the model stopped)."""
    a_pages, b_pages = page_set(after), page_set(before)
    if a_pages != b_pages:
        def show(p):
            return "no pages" if p is None else f"{len(p)} page(s) " + ", ".join(h[:12] for h in p[:4]) + \
                (", ..." if len(p) > 4 else "")
        raise HarnessError(f"the two results timed different page sets (after: {show(a_pages)}; before: "
                           f"{show(b_pages)}): run both with the same --pages DIR and --warmup-pages", EXIT_USAGE)
    a_len, b_len = after.get("output_len"), before.get("output_len")
    if a_len is None or a_len != b_len:
        raise HarnessError(f"output lengths differ (after {a_len}, before {b_len}; null: the length was not fixed): "
                           "run both with the same --output-len (hf_generate.py forces it on generate())", EXIT_USAGE)


def ratios(after, before, after_path=None, before_path=None):
    """after over before, each side labelled (before/after, stack, commit), on the same page set and
    output length only (check_like). A serving sweep (vllm_serve_bench.py) over a one-at-a-time
    baseline gives two ratios that answer different questions and are never merged into one
    "x times faster"; two results of one kind give one."""
    base = before.get("output_tokens_per_s")
    if not isinstance(base, (int, float)) or base <= 0:
        raise HarnessError("the before result has no positive output_tokens_per_s")
    check_like(after, before)
    b, a = side(before, "before", before_path), side(after, "after", after_path)
    base_batch = before.get("batch", 1)
    out = {"before": b, "after": a, "caveats": []}
    if "sweep" in after:
        one = after.get("output_tokens_per_s_at_concurrency_1")
        best = after.get("output_tokens_per_s")
        out["same_concurrency"] = None if one is None else {
            "ratio": round(one / base, 3),
            "label": f"after: vLLM serving ({_name(a)}) at concurrency 1 / before: {_name(b)} at batch {base_batch}: "
                     "output tok/s, one request in flight on each side"}
        out["throughput_at_concurrency"] = None if best is None else {
            "ratio": round(best / base, 3),
            "label": f"after: vLLM serving ({_name(a)}) at concurrency {after.get('at_concurrency')} (its best in the "
                     f"sweep) / before: {_name(b)} at batch {base_batch}: output tok/s, what serving gains by batching"}
        if base_batch != 1 and one is not None:
            out["caveats"].append(f"the before run used batch {base_batch}, not 1: the same-concurrency ratio is not "
                                  "one request against one")
    else:
        after_batch = after.get("batch", 1)
        out["same_harness"] = {
            "ratio": round(after["output_tokens_per_s"] / base, 3) if after.get("output_tokens_per_s") else None,
            "label": f"after: {_name(a)} / before: {_name(b)}: output tok/s, {after.get('harness')} at batch "
                     f"{after_batch} over {before.get('harness')} at batch {base_batch}"}
        if after_batch != base_batch:
            out["caveats"].append(f"batch differs (after {after_batch}, before {base_batch})")
    ngram = before.get("no_repeat_ngram_size")
    if ngram and "sweep" in after:
        out["caveats"].append(f"the before run blocked repeated {ngram}-grams; the serving side blocks none unless "
                              "its serve command loads an n-gram logits processor (hf_generate.py "
                              "--no-repeat-ngram-size 0 matches a route without one)")
    return out


def file_digest(path):
    """{"path", "sha256", "bytes"} of an input file (the page image), so a result names what it read."""
    if not path:
        return None
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"path": path, "sha256": h.hexdigest(), "bytes": os.path.getsize(path)}


def git_state(checkout):
    """(commit, dirty) of a checkout; (None, None) where git cannot say (not a repository, no git)."""
    import subprocess

    def git(*a):
        r = subprocess.run(["git", "-C", checkout, *a], capture_output=True, text=True, timeout=60)
        return r.stdout.strip() if r.returncode == 0 else None

    try:
        commit = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    return commit, (None if status is None else bool(status))


def split_class(spec):
    """MODULE.CLASS (an auto_map value may be "other/repo--MODULE.CLASS") as (module, class)."""
    module, _, cls = spec.split("--")[-1].rpartition(".")
    if not module or not cls:
        raise HarnessError(f"--model-class {spec}: expected MODULE.CLASS such as modeling_x.XForCausalLM", EXIT_USAGE)
    return module, cls


_SKIP_DIRS = {".git", "build", "dist", "node_modules", "__pycache__", ".venv", "venv"}


def repo_code(repo, module, cls, code_dir=None):
    """Where a model class lives in a repository checkout (--repo): the directory holding its module
    (--code-dir, or the one directory of the checkout that has it), the checkout's commit and whether it
    has uncommitted edits, and the SHA-256 of every Python file of that directory (what the faithful run
    executed). Nothing is imported here."""
    checkout = os.path.abspath(os.path.expanduser(repo))
    if not os.path.isdir(checkout):
        raise HarnessError(f"--repo {repo} is not a directory (a checkout of the model's repository)", EXIT_USAGE)
    rel = module.replace(".", os.sep) + ".py"
    if code_dir:
        where = os.path.normpath(os.path.join(checkout, code_dir))
        if not os.path.isfile(os.path.join(where, rel)):
            raise HarnessError(f"--code-dir {code_dir}: no {rel} in {where}", EXIT_USAGE)
    else:
        hits = []
        for d, dirs, _ in os.walk(checkout):
            dirs[:] = sorted(x for x in dirs if x not in _SKIP_DIRS)
            if os.path.isfile(os.path.join(d, rel)):
                hits.append(d)
        if len(hits) != 1:
            found = ", ".join(os.path.relpath(h, checkout) for h in hits) if hits else "nowhere"
            raise HarnessError(f"--repo {repo}: {rel} (the module of {module}.{cls}) is in {found}; name the "
                               "directory with --code-dir", EXIT_USAGE)
        where = hits[0]
    import glob

    files = sorted(glob.glob(os.path.join(where, "**", "*.py"), recursive=True))
    calls_cuda = False
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        calls_cuda = calls_cuda or ".cuda(" in text or "torch.cuda." in text
    commit, dirty = git_state(checkout)
    return {"checkout": checkout, "commit": commit, "dirty": dirty, "code_dir": where, "module": module, "class": cls,
            "calls_cuda": calls_cuda,
            "files": [dict(file_digest(f), path=os.path.relpath(f, checkout)) for f in files]}


def repo_class(code):
    """The model class from the checkout's files (repo_code's answer): their directory becomes a package
    (so the files' relative imports resolve among themselves) and is put on sys.path (so do their
    absolute ones, as when the repository's scripts run from that directory)."""
    import importlib
    import types

    pkg = "kcat_repo_code"
    if pkg not in sys.modules:
        mod = types.ModuleType(pkg)
        mod.__path__ = [code["code_dir"]]
        sys.modules[pkg] = mod
        sys.path.insert(0, code["code_dir"])
    module = importlib.import_module(f"{pkg}.{code['module']}")
    cls = getattr(module, code["class"], None)
    if cls is None:
        raise HarnessError(f"{os.path.join(code['code_dir'], code['module'].replace('.', os.sep))}.py defines no "
                           f"{code['class']}; name the class with --model-class MODULE.CLASS", EXIT_USAGE)
    return cls


def repo_summary(code):
    """What a result says about the checkout it ran (repo_code without the internal keys)."""
    return None if not code else {k: code[k] for k in ("checkout", "commit", "dirty", "code_dir", "module", "class",
                                                       "files")}


def require(harness, module, hint):
    """Imports a package or fails with a JSON error line naming it (exit 3)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        fail(harness, f"{module} is not importable ({e}); {hint}", EXIT_ENVIRONMENT, missing=module)


@contextlib.contextmanager
def stdout_to_stderr():
    """Sends everything the libraries print (vLLM logs to stdout, model code prints its output) to
    stderr -- file descriptor 1 itself, so worker processes are covered too -- so that stdout carries
    the result line alone."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def rectangular(rows, pad=-1):
    width = max((len(r) for r in rows), default=0)
    return [list(r) + [pad] * (width - len(r)) for r in rows], width


def dump_token_ids(path, rows):
    """Writes token ids as int64 [requests, max_len] (-1 pads short rows) to .npy or .safetensors
    (tensor "token_ids"), the formats `kcat compare` reads. Pure Python: no numpy needed."""
    data, width = rectangular(rows)
    shape = [len(data), width]
    payload = b"".join(struct.pack("<" + "q" * width, *r) for r in data) if width else b""
    if path.endswith(".npy"):
        header = "{'descr': '<i8', 'fortran_order': False, 'shape': (%d, %d), }" % tuple(shape)
        header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
        blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + payload
    elif path.endswith(".safetensors"):
        meta = json.dumps({"token_ids": {"dtype": "I64", "shape": shape, "data_offsets": [0, len(payload)]}},
                          separators=(",", ":")).encode()
        meta += b" " * ((8 - len(meta) % 8) % 8)
        blob = struct.pack("<Q", len(meta)) + meta + payload
    else:
        raise HarnessError(f"--dump {path}: use a .npy or .safetensors file name", EXIT_USAGE)
    with open(path, "wb") as f:
        f.write(blob)


def check_dump(path):
    if path is not None and not path.endswith((".npy", ".safetensors")):
        raise HarnessError(f"--dump {path}: use a .npy or .safetensors file name", EXIT_USAGE)


def throughput(harness, model, token_ids, elapsed, **extra):
    """The result line both harnesses print: output tokens and requests per second over the
    measured run, computed the same way so that their ratio means something, then `extra`."""
    out_tokens = sum(len(t) for t in token_ids)
    return {
        "harness": harness,
        "model": model,
        "output_tokens": out_tokens,
        "num_requests": len(token_ids),
        "elapsed_s": round(elapsed, 6),
        "output_tokens_per_s": rate(out_tokens, elapsed),
        "requests_per_s": rate(len(token_ids), elapsed),
        **extra,
    }


def rate(n, seconds):
    return round(n / seconds, 3) if seconds > 0 else None


def main(harness, build_parser, plan, run, argv=None):
    """The harnesses' entry point: parse, plan (--dry-run prints the plan), run, one JSON line out.
    A failure is a JSON line with "error" and a non-zero exit, never a number."""
    args = build_parser().parse_args(argv)
    try:
        p = plan(args)
        if args.dry_run:
            emit(p)
            return 0
        emit(run(p))
        return 0
    except HarnessError as e:
        fail(harness, str(e), e.code)
    except Exception as e:  # the run failed: say so as a JSON line
        fail(harness, f"{type(e).__name__}: {e}", EXIT_FAILURE, model=getattr(args, "model", None))
