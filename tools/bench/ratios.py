#!/usr/bin/env python3
"""The serving sweep against the transformers baseline, as two labelled ratios, one JSON line:

    python3 ratios.py serve.json baseline.json

serve.json is vllm_serve_bench.py's result line, baseline.json hf_generate.py's (run with the same
--pages). "same_concurrency": vLLM at concurrency 1 over the baseline, one request in flight on each
side. "throughput_at_concurrency": vLLM at the concurrency where its sweep peaked over the same
baseline, what serving gains by batching. Each ratio says what it divides; differences that make
them unlike (output lengths, batch, pages) are listed under "caveats".
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
            hc.fail(HARNESS, "expected SERVE_RESULT.json BASELINE_RESULT.json", hc.EXIT_USAGE)
        return 0
    try:
        serving, baseline = load(argv[0], "serving"), load(argv[1], "baseline")
        hc.emit(dict(hc.ratios(serving, baseline), serving=argv[0], baseline=argv[1]))
    except hc.HarnessError as e:
        hc.fail(HARNESS, str(e), e.code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
