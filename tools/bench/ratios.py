#!/usr/bin/env python3
"""An "after" result over a "before" result, labelled, one JSON line:

    python3 ratios.py AFTER.json BEFORE.json
    python3 ratios.py serve.json base.json        # the native route's serving sweep over the faithful baseline

Each file is a harness's result line (its last line is read). Results that timed different page sets
(SHA-256 of the pages) or whose output lengths differ or are unknown are refused (exit 2): they did not
do the same work. With a serving sweep (vllm_serve_bench.py) as AFTER, two ratios, never merged:
"same_concurrency" (vLLM at concurrency 1 over the before run, one request in flight on each side) and
"throughput_at_concurrency" (vLLM at the concurrency where its sweep peaked, what serving gains by
batching). Otherwise one, "same_harness" (e.g. hf_generate.py --repo on the migrated branch over the
same on the original commit). "before" and "after" name each side's harness, stack ("faithful": the
repository's own code; "native": the vllm-ascend route) and repository commit; "caveats" lists what
still differs (batch, n-gram blocking).
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_common as hc  # noqa: E402

HARNESS = "ratios"


def load(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        obj = json.loads(lines[-1]) if lines else None
    except OSError as e:
        raise hc.HarnessError(f"cannot read the {what} result {path}: {e.strerror}", hc.EXIT_USAGE)
    except json.JSONDecodeError as e:
        raise hc.HarnessError(f"{path}: the {what} result's last line is not JSON ({e.msg})", hc.EXIT_USAGE)
    if not isinstance(obj, dict):
        raise hc.HarnessError(f"{path}: no JSON object in the {what} result", hc.EXIT_USAGE)
    if "error" in obj:
        raise hc.HarnessError(f"{path}: the {what} run failed: {obj['error']}", hc.EXIT_USAGE)
    return obj


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] in ("-h", "--help"):
        sys.stderr.write(__doc__)
        if len(argv) != 2:
            hc.fail(HARNESS, "expected AFTER_RESULT.json BEFORE_RESULT.json", hc.EXIT_USAGE)
        return 0
    try:
        after, before = load(argv[0], "after"), load(argv[1], "before")
        hc.emit(hc.ratios(after, before, argv[0], argv[1]))
    except hc.HarnessError as e:
        hc.fail(HARNESS, str(e), e.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
