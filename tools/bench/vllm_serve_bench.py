#!/usr/bin/env python3
"""Online serving benchmark measured the way vllm-ascend's DeepSeek-OCR-2 anchor is measured: the
route's `vllm serve` command started verbatim, driven by vLLM's own client (`vllm bench serve`) over a
set of distinct page images, a concurrency sweep, one JSON line on stdout.

    python3 vllm_serve_bench.py --serve "vllm serve /models/DeepSeek-OCR-2 --served-model-name deepseekocr2 ..." \
        --pages /data/pages --concurrency 1,8,32,64 --output-len 256

What is measured and where each argument comes from:
- The server: the command given, verbatim (the route's `run`, vllm-ascend
  docs/source/tutorials/models/DeepSeekOCR2.md section 5.1). The harness refuses a command that keeps
  vLLM's caches on (`--no-enable-prefix-caching` and `--mm-processor-cache-gb 0` must be there, as in
  the tutorial; vLLM turns both on by default) unless --allow-caches says the caches are wanted.
- The client: `vllm bench serve` (vllm-project/vllm vllm/benchmarks/serve.py, add_cli_args, read at
  009e6d4a1cd6ba3fb2a9fc00f4ec06f5297232a1): --backend openai-chat, --endpoint /v1/chat/completions,
  --max-concurrency, --num-prompts, --ignore-eos, --temperature, --percentile-metrics,
  --metric-percentiles, --save-result, --save-detailed, --result-dir, --result-filename, --seed;
  the dataset flags come from vllm/benchmarks/datasets (--dataset-name sharegpt, --dataset-path,
  --sharegpt-output-len, --trust-remote-code; ShareGPTDataset.sample sends an entry's "image" path
  as a file:// image_url, which the tutorial's `--allowed-local-media-path /` lets the server read).
  Before anything starts, `vllm bench serve --help` must list every one of these flags: a vLLM that
  lacks one is a clear error, not a silently different measurement.
- Warm-up: vLLM's own --num-warmups repeats the first timed request, so the warm-up here is a
  separate, unrecorded client run over pages outside the timed set (the first --warmup-pages pages).
- Parsing: the saved result JSON's keys as serve.py writes them (main_async's result_json and
  benchmark()'s result: completed, failed, duration, total_input_tokens, total_output_tokens,
  output_throughput, total_token_throughput, request_throughput, p50_/p99_/mean_/median_ttft_ms,
  tpot, itl, e2el, max_concurrency, num_prompts).
- Cached tokens: the server's Prometheus counter vllm:prefix_cache_hits ("Prefix cache hits, in
  terms of number of cached tokens", vllm/v1/metrics/loggers.py; exposed as
  vllm:prefix_cache_hits_total), read from /metrics before and after each timed run. 0 is expected
  with the caches off; null when the server exposes no such counter.

- --client aisbench: AISBench (`ais_bench --mode perf`) instead of vLLM's client, with the request and
  dataset configs vllm-ascend's CI uses, rewritten as its tools/aisbench.py rewrites them, over the same
  pages in TextVQA's layout; its performance results are parsed into the same row schema (the section
  "The AISBench client" below cites each piece).

No NPU number is produced here unless the server runs on an NPU: the result records what the
server said about itself (its log) and the machine (npu-smi, CANN and driver files) beside the
numbers.
"""

import argparse
import csv
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_common as hc  # noqa: E402

HARNESS = "vllm-serve"

# The prompt of DeepSeek-OCR-2's document task (harness_common.OCR2_PROMPT) without the "<image>"
# placeholder: through the chat endpoint the image is a separate content part and the model's chat
# template places it.
CHAT_PROMPT = hc.OCR2_PROMPT.replace("<image>\n", "", 1)

# Every client flag the harness passes: checked against `vllm bench serve --help` before a run.
CLIENT_FLAGS = ("--backend", "--endpoint", "--host", "--port", "--model", "--served-model-name", "--dataset-name",
                "--dataset-path", "--sharegpt-output-len", "--num-prompts", "--max-concurrency", "--ignore-eos",
                "--temperature", "--percentile-metrics", "--metric-percentiles", "--save-result", "--save-detailed",
                "--result-dir", "--result-filename", "--seed", "--trust-remote-code", "--disable-tqdm")

REQUIRED_SERVE_FLAGS = {"--no-enable-prefix-caching": None, "--mm-processor-cache-gb": "0"}

def concurrency_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers such as 1,8,32, got {text!r}")
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"every concurrency must be at least 1, got {text!r}")
    return sorted(set(values))


def build_parser():
    p = hc.Parser(HARNESS, description="vllm serve + vllm bench serve over distinct pages (one JSON line on stdout).")
    p.add_argument("--serve", required=True, help="the route's `vllm serve ...` command, verbatim (one string)")
    p.add_argument("--pages", required=True, help="directory of page images (png/jpg/webp/bmp/tif); sorted by name, "
                                                  "the first --warmup-pages warm up, the rest are timed")
    p.add_argument("--warmup-pages", type=hc.non_negative_int, default=2,
                   help="pages used only to warm the server up, never timed (default 2)")
    p.add_argument("--concurrency", type=concurrency_list, default=[1, 8, 32],
                   help="the sweep: comma-separated client concurrencies (--max-concurrency), default 1,8,32")
    p.add_argument("--prompts-per-concurrency", type=hc.positive_int, default=8,
                   help="requests per timed run = this x the concurrency (default 8; at least 4, so the queue "
                        "stays full and the ramp-up and drain are a small part of the run)")
    p.add_argument("--output-len", type=hc.positive_int, default=256,
                   help="tokens per request (--sharegpt-output-len with --ignore-eos); default 256, as the anchor")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--prompt", default=CHAT_PROMPT, help="the text sent with every page (default: DeepSeek-OCR-2's "
                                                         "document prompt)")
    p.add_argument("--result-dir", help="where the dataset files, saved results and logs go (default: "
                                        "./kcat-serve-bench-<UTC time>)")
    p.add_argument("--host", default="127.0.0.1", help="the address the client reaches the server at")
    p.add_argument("--ready-timeout", type=hc.positive_int, default=1800,
                   help="seconds to wait for the server's /health (default 1800: model load and graph capture)")
    p.add_argument("--run-timeout", type=hc.positive_int, default=7200, help="seconds per client run (default 7200)")
    p.add_argument("--vllm", default="vllm", help="the vllm executable for the client (default: vllm on PATH)")
    p.add_argument("--client", default="vllm", choices=["vllm", "aisbench"],
                   help="vllm (default): `vllm bench serve`; aisbench: `ais_bench --mode perf` with the request and "
                        "dataset configs vllm-ascend's CI uses (vllm_api_stream_chat, textvqa_gen_base64)")
    p.add_argument("--aisbench-home", default=os.environ.get("BENCHMARK_HOME"),
                   help="with --client aisbench: the AISBench checkout (default $BENCHMARK_HOME, as vllm-ascend's CI)")
    p.add_argument("--ais-bench", default="ais_bench", help="the ais_bench executable (default: ais_bench on PATH)")
    p.add_argument("--allow-caches", action="store_true",
                   help="accept a serve command without --no-enable-prefix-caching / --mm-processor-cache-gb 0")
    p.add_argument("--stack", default="native", choices=["native", "faithful"],
                   help="the label of the result: native (default; vLLM's own model class, the vllm-ascend route) or "
                        "faithful (a serve command that runs the repository's own model code)")
    p.add_argument("--dry-run", action="store_true", help="print the plan (every command line) as JSON; start nothing")
    return p


def serve_options(argv):
    """The options of a `vllm serve` argv as {flag: value or None}; '--a=b' and '--a b' both count, and
    vLLM's underscore spellings (--max_model_len) are normalised to dashes."""
    out = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--"):
            name, eq, val = a.partition("=")
            name = "--" + name[2:].replace("_", "-")
            if eq:
                out[name] = val
            elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
                out[name] = argv[i + 1]
                i += 1
            else:
                out[name] = None
        i += 1
    return out


def parse_serve(command, allow_caches):
    """Checks the serve command and returns (argv, model, options)."""
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise hc.HarnessError(f"--serve: cannot split the command ({e}); quote it as one shell string", hc.EXIT_USAGE)
    if len(argv) < 3 or os.path.basename(argv[0]) != "vllm" or argv[1] != "serve" or argv[2].startswith("-"):
        raise hc.HarnessError("--serve must be a `vllm serve MODEL [options]` command, such as the route's `run` "
                              "line (kcat plan prints it)", hc.EXIT_USAGE)
    opts = serve_options(argv[3:])
    if not allow_caches:
        missing = [f"{k} {v}" if v else k for k, v in REQUIRED_SERVE_FLAGS.items()
                   if k not in opts or (v is not None and (opts[k] or "").strip() != v)]
        if missing:
            raise hc.HarnessError("--serve keeps vLLM's caches on (missing: " + ", ".join(missing) + "); vllm-ascend's "
                                  "DeepSeek-OCR-2 tutorial serves with --no-enable-prefix-caching and "
                                  "--mm-processor-cache-gb 0. Add them, or pass --allow-caches to measure with the "
                                  "caches on", hc.EXIT_USAGE)
    if "--port" in opts:
        try:
            int(opts["--port"])
        except (TypeError, ValueError):
            raise hc.HarnessError(f"--serve: --port {opts['--port']!r} is not a number", hc.EXIT_USAGE)
    return argv, argv[2], opts


def dataset(pages, prompt):
    """vLLM's ShareGPT format, one entry per page: the prompt as the human turn, a placeholder reply
    (its length is overridden by --sharegpt-output-len) and the page as "image"."""
    return [{"id": f"page-{i}", "image": path,
             "conversations": [{"from": "human", "value": prompt}, {"from": "gpt", "value": "(reply)"}]}
            for i, path in enumerate(pages)]


def client_command(args, model, served_name, port, dataset_path, num_prompts, concurrency, result_name):
    cmd = [args.vllm, "bench", "serve", "--backend", "openai-chat", "--endpoint", "/v1/chat/completions",
           "--host", args.host, "--port", str(port), "--model", model]
    if served_name:
        cmd += ["--served-model-name", served_name]
    cmd += ["--trust-remote-code", "--dataset-name", "sharegpt", "--dataset-path", dataset_path,
            "--sharegpt-output-len", str(args.output_len), "--num-prompts", str(num_prompts),
            "--max-concurrency", str(concurrency), "--ignore-eos", "--temperature", "0",
            "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,99",
            "--seed", str(args.seed), "--disable-tqdm", "--save-result", "--save-detailed",
            "--result-dir", args.result_dir, "--result-filename", result_name]
    return cmd


def plan(args):
    argv, model, opts = parse_serve(args.serve, args.allow_caches)
    warm, timed = hc.split_pages(args.pages, args.warmup_pages)
    if args.prompts_per_concurrency < 4:
        raise hc.HarnessError("--prompts-per-concurrency must be at least 4: with fewer requests than about four "
                              "times the concurrency the ramp-up and drain dominate the run", hc.EXIT_USAGE)
    if not args.result_dir:
        args.result_dir = os.path.abspath(time.strftime("kcat-serve-bench-%Y%m%dT%H%M%SZ", time.gmtime()))
    args.result_dir = os.path.abspath(args.result_dir)
    port = int(opts.get("--port") or 8000)  # vLLM's default port (vllm/entrypoints/openai/cli_args.py)
    served = opts.get("--served-model-name")
    timed_path = os.path.join(args.result_dir, "pages-timed.json")
    warm_path = os.path.join(args.result_dir, "pages-warmup.json")
    if args.client == "aisbench":
        return aisbench_plan(args, argv, model, opts, port, served, warm, timed)
    runs = []
    for c in args.concurrency:
        n = args.prompts_per_concurrency * c
        runs.append({"concurrency": c, "num_prompts": n, "result_file": os.path.join(args.result_dir, f"c{c}.json"),
                     "command": client_command(args, model, served, port, timed_path, n, c, f"c{c}.json")})
    warmup = None
    if warm:
        warmup = {"num_prompts": len(warm), "result_file": os.path.join(args.result_dir, "warmup.json"),
                  "command": client_command(args, model, served, port, warm_path, len(warm),
                                            max(args.concurrency), "warmup.json")}
    notes = []
    most = max(r["num_prompts"] for r in runs)
    if most > len(timed):
        notes.append(f"{most} requests over {len(timed)} distinct timed pages: pages repeat (vLLM's ShareGPT "
                     f"dataset oversamples); with both caches off a repeat costs the full work, but more distinct "
                     f"pages are closer to the anchor's dataset")
    return {
        "harness": HARNESS,
        "dry_run": True,
        "stack": args.stack,
        "serve": {"command": argv, "model": model, "port": port, "served_model_name": served,
                  "caches_off": "--no-enable-prefix-caching" in opts
                  and (opts.get("--mm-processor-cache-gb") or "").strip() == "0"},
        "pages": {"directory": os.path.abspath(args.pages), "warmup": warm, "timed": timed},
        "datasets": {"timed": timed_path, "warmup": warm_path},
        "output_len": args.output_len,
        "seed": args.seed,
        "prompt": args.prompt,
        "result_dir": args.result_dir,
        "host": args.host,
        "ready_timeout": args.ready_timeout,
        "run_timeout": args.run_timeout,
        "warmup": warmup,
        "runs": runs,
        "client": "vllm",
        "other_client": f"{args.ais_bench} is on PATH: --client aisbench measures with AISBench, as vllm-ascend's CI "
                        "does" if shutil.which(args.ais_bench) else None,
        "client_flags": list(CLIENT_FLAGS),
        "notes": notes,
    }


# ---------------------------------------------------------------------------------------------------
# The AISBench client (--client aisbench), as vllm-ascend's CI drives it (vllm-project/vllm-ascend
# @182b75ea84ff13ece27b57391331ef8935410aea): tools/aisbench.py AisbenchRunner reads the configs under
# $BENCHMARK_HOME/ais_bench/benchmark/configs (DATASET_CONF_DIR, REQUEST_CONF_DIR), rewrites the request
# config (_init_request_conf: model, host_port, host_ip, max_out_len, batch_size, trust_remote_code and,
# for performance, path, request_rate, temperature=0, ignore_eos=True) and the dataset config's path
# (_init_dataset_conf; textvqa reads <dataset>/textvqa_val.jsonl), then runs
# `ais_bench --models <request_conf> --datasets <dataset_conf> --mode perf --num-prompts N --debug`
# (_run_aisbench_task). The DeepSeek-OCR-2-like case (tests/e2e/weekly/single_node/configs/
# Qwen2.5-VL-7B-Instruct-EPD.yaml, "perf"): dataset vllm-ascend/textvqa-perf-1080p, request_conf
# vllm_api_stream_chat, dataset_conf textvqa/textvqa_gen_base64, max_out_len 256, batch_size = the
# concurrency. Here the rewritten configs go to a --config-dir of the result directory instead of the
# AISBench checkout (AISBench/benchmark@29c363e38e9d1560e6f19eff582f6117943b6a77
# ais_bench/benchmark/cli/config_manager.py _load_models_config / datasets: <config_dir>/models and
# <config_dir>/datasets are searched before the built-in configs; argument_parser.py: --config-dir,
# --work-dir, --mode perf, --num-prompts, --debug), and the dataset is the page set in TextVQA's layout
# (ais_bench/benchmark/datasets/textvqa.py TEXTVQADataset.load: one JSON line per question with
# question_id, image, question; answers in <stem>_annotations.json {"annotations": [{question_id,
# answers}]}).

AISBENCH_FLAGS = ("--config-dir", "--models", "--datasets", "--mode", "--num-prompts", "--work-dir", "--debug")
AISBENCH_REQUEST_CONF = os.path.join("models", "vllm_api", "vllm_api_stream_chat.py")
AISBENCH_DATASET_CONF = os.path.join("datasets", "textvqa", "textvqa_gen_base64.py")


def aisbench_configs(home):
    if not home:
        raise hc.HarnessError("--client aisbench needs the AISBench checkout: --aisbench-home DIR or $BENCHMARK_HOME "
                              "(vllm-ascend's CI clones github.com/AISBench/benchmark there)", hc.EXIT_USAGE)
    configs = os.path.join(os.path.abspath(home), "ais_bench", "benchmark", "configs")
    for rel in (AISBENCH_REQUEST_CONF, AISBENCH_DATASET_CONF):
        if not os.path.isfile(os.path.join(configs, rel)):
            raise hc.HarnessError(f"--aisbench-home {home}: no {os.path.join(configs, rel)} (the config vllm-ascend's "
                                  "CI runs with); is this an AISBench checkout?", hc.EXIT_USAGE)
    return configs


def aisbench_request_conf(text, fields):
    """vllm-ascend's _init_request_conf substitutions (performance case) on the request config text."""
    for key, value in fields.items():
        text = re.sub(rf"{key}=.*" if key not in ("host_port", "host_ip") else rf"{key}.*", f"{key}={value},", text)
    return text


def aisbench_plan(args, argv, model, opts, port, served, warm, timed):
    configs = aisbench_configs(args.aisbench_home)
    cfg_dir = os.path.join(args.result_dir, "aisbench-configs")
    data = {k: os.path.join(args.result_dir, f"pages-{k}", "textvqa_val.jsonl") for k in ("timed", "warmup")}

    def step(name, dataset_name, n, c):
        return {"concurrency": c, "num_prompts": n, "work_dir": os.path.join(args.result_dir, f"aisbench-{name}"),
                "request_conf": {"name": f"kcat_request_{name}", "fields": {
                    "model": json.dumps(served or model), "host_port": port, "host_ip": json.dumps(args.host),
                    "max_out_len": args.output_len, "batch_size": c, "trust_remote_code": True,
                    "path": json.dumps(model), "request_rate": 0, "temperature": 0, "ignore_eos": True}},
                "command": [args.ais_bench, "--config-dir", cfg_dir, "--models", f"kcat_request_{name}",
                            "--datasets", dataset_name, "--mode", "perf", "--num-prompts", str(n),
                            "--work-dir", os.path.join(args.result_dir, f"aisbench-{name}"), "--debug"]}

    runs = [step(f"c{c}", "kcat_textvqa_timed", args.prompts_per_concurrency * c, c) for c in args.concurrency]
    warmup = step("warmup", "kcat_textvqa_warmup", len(warm), max(args.concurrency)) if warm else None
    notes = ["AISBench's textvqa_gen_base64 template appends \" Answer the question using a single word or phrase.\" "
             "to the prompt, as in vllm-ascend's CI; with ignore_eos every request still generates --output-len tokens"]
    if max(r["num_prompts"] for r in runs) > len(timed):
        notes.append("more requests than timed pages: AISBench repeats the dataset's pages")
    return {
        "harness": HARNESS, "dry_run": True, "stack": args.stack, "client": "aisbench",
        "serve": {"command": argv, "model": model, "port": port, "served_model_name": served,
                  "caches_off": "--no-enable-prefix-caching" in opts
                  and (opts.get("--mm-processor-cache-gb") or "").strip() == "0"},
        "pages": {"directory": os.path.abspath(args.pages), "warmup": warm, "timed": timed},
        "aisbench": {"configs": configs, "config_dir": cfg_dir, "datasets": data},
        "output_len": args.output_len, "seed": args.seed, "prompt": args.prompt, "result_dir": args.result_dir,
        "host": args.host, "ready_timeout": args.ready_timeout, "run_timeout": args.run_timeout,
        "warmup": warmup, "runs": runs, "client_flags": list(AISBENCH_FLAGS), "notes": notes,
    }


def write_aisbench_inputs(p):
    """The page sets in TextVQA's layout and the rewritten configs, under the result directory."""
    a = p["aisbench"]
    for key, pages in (("timed", p["pages"]["timed"]), ("warmup", p["pages"]["warmup"])):
        os.makedirs(os.path.dirname(a["datasets"][key]), exist_ok=True)
        with open(a["datasets"][key], "w", encoding="utf-8") as f:
            for i, page in enumerate(pages):
                f.write(json.dumps({"question_id": i, "image": page, "question": p["prompt"]}) + "\n")
        with open(a["datasets"][key].replace(".jsonl", "_annotations.json"), "w", encoding="utf-8") as f:
            json.dump({"annotations": [{"question_id": i, "answers": [{"answer": ""}]} for i in range(len(pages))]}, f)
    with open(os.path.join(a["configs"], AISBENCH_DATASET_CONF), encoding="utf-8") as f:
        dataset_text = f.read()
    with open(os.path.join(a["configs"], AISBENCH_REQUEST_CONF), encoding="utf-8") as f:
        request_text = f.read()
    for sub in ("models", "datasets"):
        os.makedirs(os.path.join(a["config_dir"], sub), exist_ok=True)
    for key in ("timed", "warmup"):
        with open(os.path.join(a["config_dir"], "datasets", f"kcat_textvqa_{key}.py"), "w", encoding="utf-8") as f:
            f.write(re.sub(r"path=.*", f"path={json.dumps(a['datasets'][key])},", dataset_text))
    for step in p["runs"] + ([p["warmup"]] if p["warmup"] else []):
        conf = step["request_conf"]
        with open(os.path.join(a["config_dir"], "models", conf["name"] + ".py"), "w", encoding="utf-8") as f:
            f.write(aisbench_request_conf(request_text, conf["fields"]))


def _value(v):
    """A number of AISBench's results: 64, or "403.2 token/s", "40000.0 ms" (units added by
    base_perf_metric_calculator.py _add_units_to_common_metrics / _add_units_to_metrics)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    m = re.match(r"\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", str(v))
    return float(m.group(1)) if m else None


def parse_aisbench_result(work_dir):
    """One concurrency's row from AISBench's performance results: <work_dir>/<time>/performances/<model>/
    <dataset>.json (common metrics per stage, "total" for the whole run; summarizers/default_perf.py
    _dump_calculated_perf_data) and the .csv beside it (one row per metric and stage: "Performance
    Parameters", "Stage", then Average, Min, Max, Median, P75, P90, P99, N; _export_to_csv)."""
    found = sorted(glob.glob(os.path.join(work_dir, "*", "performances", "*", "*.json")))
    if len(found) != 1:
        raise hc.HarnessError(f"{work_dir}: expected one AISBench performance result (*/performances/*/*.json), "
                              f"found {len(found) or 'none'}")
    path = found[0]
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise hc.HarnessError(f"{path}: cannot read AISBench's result ({e})")

    def common(name, required=False):
        stages = data.get(name) if isinstance(data, dict) else None
        v = _value((stages or {}).get("total")) if isinstance(stages, dict) else None
        if v is None and required:
            raise hc.HarnessError(f"{path}: no number at \"{name}\" / \"total\" (is this AISBench's performance "
                                  "result?)")
        return v

    duration = common("Benchmark Duration", True)
    row = {"num_prompts": common("Total Requests"), "completed": common("Success Requests", True),
           "failed": common("Failed Requests"), "duration_s": round(duration / 1000.0, 6),
           "total_input_tokens": common("Total Input Tokens"), "total_output_tokens": common("Total Generated Tokens"),
           "output_tokens_per_s": common("Output Token Throughput", True),
           "total_tokens_per_s": common("Total Token Throughput", True),
           "requests_per_s": common("Request Throughput"), "result_file": path}
    stats = {"mean": "Average", "median": "Median", "p50": "Median", "p99": "P99"}
    try:
        with open(path[:-len(".json")] + ".csv", newline="", encoding="utf-8") as f:
            for rec in csv.DictReader(f):
                metric = (rec.get("Performance Parameters") or "").lower()
                if metric in ("ttft", "tpot", "itl", "e2el") and rec.get("Stage") == "total":
                    for stat, column in stats.items():
                        if _value(rec.get(column)) is not None:
                            row[f"{stat}_{metric}_ms"] = _value(rec[column])
    except OSError:
        pass  # the latencies stay absent; the throughput is in the JSON
    return row


# ---------------------------------------------------------------------------------------------------
# Parsing vLLM's saved result (keys as vllm/benchmarks/serve.py writes them).

LATENCY_KEYS = [f"{stat}_{m}_ms" for m in ("ttft", "tpot", "itl", "e2el") for stat in ("mean", "median", "p50", "p99")]


def parse_saved_result(path):
    """One concurrency's row from `vllm bench serve --save-result` JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise hc.HarnessError(f"vllm bench serve wrote no result file {path}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise hc.HarnessError(f"{path}:{e.lineno}: the saved result is not JSON ({e.msg})")
    if not isinstance(data, dict):
        raise hc.HarnessError(f"{path}: the saved result is not a JSON object")
    for key in ("completed", "duration", "output_throughput", "total_token_throughput"):
        if not isinstance(data.get(key), (int, float)) or isinstance(data.get(key), bool):
            raise hc.HarnessError(f"{path}: no number at \"{key}\" (is this a `vllm bench serve --save-result` file?)")
    row = {
        "concurrency": data.get("max_concurrency"),
        "num_prompts": data.get("num_prompts"),
        "completed": data["completed"],
        "failed": data.get("failed"),
        "duration_s": data["duration"],
        "total_input_tokens": data.get("total_input_tokens"),
        "total_output_tokens": data.get("total_output_tokens"),
        "output_tokens_per_s": data["output_throughput"],
        "total_tokens_per_s": data["total_token_throughput"],
        "requests_per_s": data.get("request_throughput"),
    }
    for key in LATENCY_KEYS:
        if key in data:
            row[key] = data[key]
    errors = [e for e in data.get("errors") or [] if e]
    if errors:
        row["first_error"] = str(errors[0])[:500]
    return row


def prefix_cache_hits(metrics_text):
    """The sum of vllm:prefix_cache_hits_total over every label set in a Prometheus text page; None when
    the page has no such counter."""
    total, seen = 0.0, False
    for line in metrics_text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(None, 1)[0]
        if name in ("vllm:prefix_cache_hits_total", "vllm:prefix_cache_hits"):
            try:
                total += float(line.rsplit(None, 1)[-1])
                seen = True
            except ValueError:
                continue
    return int(total) if seen else None


# ---------------------------------------------------------------------------------------------------
# Running.

def http_get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback / the bench host)
        return r.status, r.read().decode("utf-8", "replace")


def read_tail(path, limit=4000):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-limit:]
    except OSError:
        return ""


def wait_ready(server, base, deadline, log_path):
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise hc.HarnessError(f"vllm serve exited with status {server.returncode} before it was ready; "
                                  f"its log ({log_path}) ends:\n{read_tail(log_path)}")
        try:
            if http_get(base + "/health", timeout=5)[0] == 200:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise hc.HarnessError(f"vllm serve was not ready at {base}/health within the --ready-timeout; its log "
                          f"({log_path}) ends:\n{read_tail(log_path)}")


def cache_hits(base):
    try:
        return prefix_cache_hits(http_get(base + "/metrics")[1])
    except (urllib.error.URLError, OSError):
        return None


def check_aisbench(ais_bench):
    try:
        r = subprocess.run([ais_bench, "--help"], capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise hc.HarnessError(f"{ais_bench} is not on PATH: install AISBench (github.com/AISBench/benchmark) or pass "
                              "--ais-bench PATH", hc.EXIT_ENVIRONMENT)
    except subprocess.TimeoutExpired:
        raise hc.HarnessError(f"`{ais_bench} --help` did not answer within 300 s")
    missing = [f for f in AISBENCH_FLAGS if f not in r.stdout]
    if r.returncode != 0 or missing:
        raise hc.HarnessError(f"`{ais_bench}` lacks {', '.join(missing) or 'a usable --help'} (exit {r.returncode})",
                              hc.EXIT_ENVIRONMENT)


def check_client(vllm):
    try:
        r = subprocess.run([vllm, "bench", "serve", "--help"], capture_output=True, text=True, timeout=300)
    except FileNotFoundError:
        raise hc.HarnessError(f"{vllm} is not on PATH: install vllm (vllm-ascend's image has it) or pass --vllm PATH",
                              hc.EXIT_ENVIRONMENT)
    except subprocess.TimeoutExpired:
        raise hc.HarnessError(f"`{vllm} bench serve --help` did not answer within 300 s")
    missing = [f for f in CLIENT_FLAGS if f not in r.stdout]
    if r.returncode != 0 or missing:
        raise hc.HarnessError(f"`{vllm} bench serve` lacks {', '.join(missing) or 'a usable --help'} (exit "
                              f"{r.returncode}); this vLLM cannot run the measurement as planned",
                              hc.EXIT_ENVIRONMENT)


def run_client(step, log_path, timeout):
    name = "vllm bench serve" if "bench" in step["command"][1:3] else os.path.basename(step["command"][0])
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            r = subprocess.run(step["command"], stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise hc.HarnessError(f"{name} timed out after {timeout} s; its log: {log_path}")
    if r.returncode != 0:
        raise hc.HarnessError(f"{name} exited with status {r.returncode}; its log ({log_path}) ends:\n"
                              f"{read_tail(log_path)}")


def stop(server):
    """SIGTERM (vLLM's API server shuts its engine processes down on it), SIGKILL after 60 s. The
    server stays in the harness's process group, so a `kcat bench --timeout` that kills the group
    takes the server (and the NPU memory it holds) with it."""
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def engine_config(log_path):
    """The lines where vLLM states its resolved configuration ("... with config: ...", "non-default args")."""
    keep = ("with config:", "non-default args", "Resolved architecture", "vLLM API server version")
    text = read_tail(log_path, 1 << 20)
    return [line.strip()[:4000] for line in text.splitlines() if any(k in line for k in keep)]


def write_datasets(p):
    os.makedirs(p["result_dir"], exist_ok=True)
    for key, pages in (("timed", p["pages"]["timed"]), ("warmup", p["pages"]["warmup"])):
        with open(p["datasets"][key], "w", encoding="utf-8") as f:
            json.dump(dataset(pages, p["prompt"]), f, indent=1)


def sweep(p, base):
    rows = []
    for step in p["runs"]:
        before = cache_hits(base)
        run_client(step, os.path.join(p["result_dir"], f"c{step['concurrency']}.log"), p["run_timeout"])
        after = cache_hits(base)
        if p.get("client") == "aisbench":
            row = parse_aisbench_result(step["work_dir"])
        else:
            row = parse_saved_result(step["result_file"])
        row["concurrency"] = step["concurrency"]
        row["cached_tokens"] = after - before if before is not None and after is not None else None
        row["command"] = shlex.join(step["command"])
        row["log"] = os.path.join(p["result_dir"], f"c{step['concurrency']}.log")
        rows.append(row)
    return rows


def run(p):
    prov = hc.provenance(p["seed"])
    machine = hc.machine()
    if p.get("client") == "aisbench":
        check_aisbench(p["runs"][0]["command"][0])
        write_aisbench_inputs(p)
    else:
        check_client(p["runs"][0]["command"][0])
        write_datasets(p)
    base = f"http://{p['host']}:{p['serve']['port']}"
    log_path = os.path.join(p["result_dir"], "server.log")
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen(p["serve"]["command"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(server, base, time.monotonic() + p["ready_timeout"], log_path)
        if p["warmup"]:
            run_client(p["warmup"], os.path.join(p["result_dir"], "warmup.log"), p["run_timeout"])
        rows = sweep(p, base)
    finally:
        stop(server)
    notes = list(p["notes"])
    cached = [r["concurrency"] for r in rows if r["cached_tokens"]]
    if cached:
        notes.append("the server reported prefix-cache hits at concurrency " + ", ".join(map(str, cached)) +
                     ": a cache was on, so these runs did less work than the anchor's")
    failed = [r["concurrency"] for r in rows if r.get("failed")]
    if failed:
        notes.append("failed requests at concurrency " + ", ".join(map(str, failed)) + " (see each row's first_error)")
    best = max(rows, key=lambda r: r["output_tokens_per_s"])
    one = next((r for r in rows if r["concurrency"] == 1), None)
    return {
        "harness": HARNESS,
        "stack": p["stack"],
        "client": p.get("client", "vllm"),
        "model": p["serve"]["model"],
        "output_tokens_per_s": best["output_tokens_per_s"],
        "total_tokens_per_s": best["total_tokens_per_s"],
        "at_concurrency": best["concurrency"],
        "output_tokens_per_s_at_concurrency_1": one["output_tokens_per_s"] if one else None,
        "output_len": p["output_len"],
        "sweep": rows,
        "cached_tokens": sum(r["cached_tokens"] for r in rows) if all(r["cached_tokens"] is not None
                                                                     for r in rows) else None,
        "serve_command": shlex.join(p["serve"]["command"]),
        "engine_config": engine_config(log_path),
        "pages": {"warmup": [hc.file_digest(x) for x in p["pages"]["warmup"]],
                  "timed": [hc.file_digest(x) for x in p["pages"]["timed"]]},
        "result_dir": p["result_dir"],
        "server_log": log_path,
        "notes": notes,
        "machine": machine,
        "provenance": prov,
        "versions": hc.versions("vllm", "vllm_ascend", "torch", "torch_npu", "transformers"),
    }


def main(argv=None):
    return hc.main(HARNESS, build_parser, plan, run, argv)


if __name__ == "__main__":
    sys.exit(main())
