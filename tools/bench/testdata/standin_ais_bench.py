"""A stand-in `ais_bench` for the harness tests: it takes the flags vllm_serve_bench.py passes, reads
the request and dataset configs from --config-dir (as AISBench's config_manager looks there first),
sends the dataset's requests to the server, and writes its performance results where and as AISBench
writes them (AISBench/benchmark@29c363e38e9d1560e6f19eff582f6117943b6a77):
<work_dir>/<time>/performances/<model abbr>/<dataset abbr>.json, the common metrics per stage with
units (calculators/base_perf_metric_calculator.py _calc_common_metrics, _add_units_to_common_metrics;
summarizers/default_perf.py _dump_calculated_perf_data), and the .csv beside it (_export_to_csv: a
"Performance Parameters", "Stage", statistics header and one row per metric and stage), and prints
the two lines vllm-ascend's tools/aisbench.py waits for ("Current exp folder: ", "Performance Result
files located in "). Every call is logged to $STANDIN_LOG.
"""

import argparse
import csv
import json
import os
import re
import sys
import time
import urllib.request

FLAGS = ("--config-dir", "--models", "--datasets", "--mode", "--num-prompts", "--work-dir", "--debug")


def field(text, key):
    m = re.search(rf"{key}=(.*?),\s*$", text, re.M)
    return m.group(1) if m else None


def main():
    if "--help" in sys.argv:
        missing = os.environ.get("STANDIN_AIS_MISSING_FLAG")
        print("usage: ais_bench " + " ".join(f for f in FLAGS if f != missing))
        return 0
    p = argparse.ArgumentParser()
    for f in ("--config-dir", "--models", "--datasets", "--mode", "--num-prompts", "--work-dir"):
        p.add_argument(f)
    p.add_argument("--debug", action="store_true")
    a = p.parse_args()
    with open(os.path.join(a.config_dir, "models", a.models + ".py")) as f:
        request = f.read()
    with open(os.path.join(a.config_dir, "datasets", a.datasets + ".py")) as f:
        dataset = f.read()
    conf = {k: field(request, k) for k in ("model", "path", "host_ip", "host_port", "max_out_len", "batch_size",
                                           "temperature", "ignore_eos", "request_rate", "trust_remote_code")}
    data_path = json.loads(field(dataset, "path"))
    with open(data_path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    with open(os.environ["STANDIN_LOG"], "a") as f:
        f.write(json.dumps({"ais_bench": sys.argv[1:], "conf": conf, "dataset": data_path}) + "\n")
    n, out_len, batch = int(a.num_prompts), int(conf["max_out_len"]), int(conf["batch_size"])
    url = f"http://{json.loads(conf['host_ip'])}:{conf['host_port']}/v1/chat/completions"
    start = time.monotonic()
    for i in range(n):
        row = rows[i % len(rows)]
        body = {"model": json.loads(conf["model"]), "max_tokens": out_len, "temperature": 0,
                "ignore_eos": conf["ignore_eos"] == "True",
                "messages": [{"role": "user", "content": [
                    {"type": "text", "text": row["question"] + " Answer the question using a single word or phrase."},
                    {"type": "image_url", "image_url": {"url": "file://" + row["image"]}}]}]}
        req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()
    duration = max(time.monotonic() - start, 0.001)
    exp = os.path.join(a.work_dir, time.strftime("%Y%m%d_%H%M%S"))
    print(f"Current exp folder: {exp}", flush=True)
    if os.environ.get("STANDIN_AIS_FAIL"):
        print("ERROR stand-in failure", flush=True)
        return 1
    perf = os.path.join(exp, "performances", "vllm-api-stream-chat")
    os.makedirs(perf)
    total_in, total_out = 100 * n, out_len * n
    common = {
        "Benchmark Duration": {"total": f"{round(duration * 1000, 4)} ms"},
        "Total Requests": {"total": n},
        "Failed Requests": {"total": 0},
        "Success Requests": {"total": n},
        "Concurrency": {"total": float(batch)},
        "Max Concurrency": {"total": batch},
        "Request Throughput": {"total": f"{round(n / duration, 4)} req/s"},
        "Total Input Tokens": {"total": total_in},
        "Total Generated Tokens": {"total": total_out},
        "Input Token Throughput": {"total": f"{round(total_in / duration, 4)} token/s"},
        "Output Token Throughput": {"total": f"{round(total_out / duration, 4)} token/s"},
        "Total Token Throughput": {"total": f"{round((total_in + total_out) / duration, 4)} token/s"},
    }
    with open(os.path.join(perf, "textvqa.json"), "w") as f:
        json.dump(common, f, indent=4)
    stats = ["Average", "Min", "Max", "Median", "P75", "P90", "P99", "N"]
    with open(os.path.join(perf, "textvqa.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Performance Parameters", "Stage"] + stats)
        for metric, base in (("E2EL", 900.0), ("TTFT", 120.0), ("TPOT", 12.0), ("ITL", 12.5)):
            values = [f"{round(base * k, 4)} ms" for k in (1.0, 0.5, 2.0, 0.9, 1.2, 1.5, 1.9)]
            w.writerow([metric, "total"] + values + [n])
        w.writerow(["OutputTokens", "total", float(out_len), out_len, out_len, float(out_len), out_len, out_len,
                    out_len, n])
    print(f"Performance Result files located in {perf}.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
