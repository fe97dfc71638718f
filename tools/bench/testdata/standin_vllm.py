"""A stand-in `vllm` executable for tools/bench/test_harness.py (copied to <tmp>/bin/vllm):

    vllm serve MODEL [options]   an OpenAI-compatible server on 127.0.0.1:--port (default 8000):
                                 /health, /metrics (vllm:prefix_cache_hits_total), /v1/chat/completions
    vllm bench serve [options]   sends the dataset's requests to that server with the given concurrency
                                 and writes a result file with the keys vllm/benchmarks/serve.py writes
    vllm bench serve --help      lists the flags (STANDIN_MISSING_FLAG leaves one out)

Every invocation's argv is appended to $STANDIN_LOG (one JSON line), and the server appends every
request body to $STANDIN_LOG as {"request": ...}. STANDIN_CACHE_HITS: tokens the server counts as
prefix-cache hits per request (default 0). STANDIN_SERVE_FAIL=1: the server exits at once.
Standard library only; it measures nothing real.
"""

import argparse
import http.server
import json
import os
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

FLAGS = ["--backend", "--endpoint", "--host", "--port", "--model", "--served-model-name", "--dataset-name",
         "--dataset-path", "--sharegpt-output-len", "--num-prompts", "--max-concurrency", "--ignore-eos",
         "--temperature", "--percentile-metrics", "--metric-percentiles", "--save-result", "--save-detailed",
         "--result-dir", "--result-filename", "--seed", "--trust-remote-code", "--disable-tqdm"]


def log(obj):
    with open(os.environ["STANDIN_LOG"], "a") as f:
        f.write(json.dumps(obj) + "\n")


def serve(argv):
    if os.environ.get("STANDIN_SERVE_FAIL"):
        print("stand-in: cannot load the model", flush=True)
        sys.exit(5)
    port = 8000
    for i, a in enumerate(argv):
        if a == "--port":
            port = int(argv[i + 1])
    hits = {"total": 0}
    per_request = int(os.environ.get("STANDIN_CACHE_HITS", "0"))
    lock = threading.Lock()
    print("INFO Initializing a V1 LLM engine (v0.0.0-standin) with config: model='%s', enable_prefix_caching=False"
          % argv[0], flush=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def reply(self, code, body, ctype="application/json"):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/health":
                self.reply(200, "")
            elif self.path == "/metrics":
                self.reply(200, "# HELP vllm:prefix_cache_hits_total Prefix cache hits\n"
                                '# TYPE vllm:prefix_cache_hits_total counter\n'
                                'vllm:prefix_cache_hits_total{engine="0",model_name="m"} %d.0\n' % hits["total"],
                           "text/plain")
            else:
                self.reply(404, "{}")

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                log({"request": body})
                hits["total"] += per_request
            n = body.get("max_completion_tokens") or body.get("max_tokens") or 16
            time.sleep(0.01)
            self.reply(200, json.dumps({"choices": [{"message": {"content": "x" * n}}],
                                        "usage": {"prompt_tokens": 100, "completion_tokens": n}}))

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def bench(argv):
    if "--help" in argv:
        missing = os.environ.get("STANDIN_MISSING_FLAG")
        print("usage: vllm bench serve " + " ".join(f for f in FLAGS if f != missing))
        return 0
    p = argparse.ArgumentParser()
    for f in FLAGS:
        if f in ("--ignore-eos", "--save-result", "--save-detailed", "--trust-remote-code", "--disable-tqdm"):
            p.add_argument(f, action="store_true")
        else:
            p.add_argument(f)
    a = p.parse_args(argv)
    with open(a.dataset_path) as f:
        data = json.load(f)
    n, c, out_len = int(a.num_prompts), int(a.max_concurrency), int(a.sharegpt_output_len)
    url = f"http://{a.host}:{a.port}{a.endpoint}"

    def one(i):
        entry = data[i % len(data)]
        body = {"model": a.served_model_name or a.model, "max_completion_tokens": out_len,
                "temperature": float(a.temperature), "ignore_eos": a.ignore_eos,
                "messages": [{"role": "user", "content": [
                    {"type": "text", "text": entry["conversations"][0]["value"]},
                    {"type": "image_url", "image_url": {"url": "file://" + entry["image"]}}]}]}
        start = time.perf_counter()
        req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            usage = json.loads(r.read())["usage"]
        return usage, time.perf_counter() - start

    start = time.perf_counter()
    with ThreadPoolExecutor(c) as pool:
        results = list(pool.map(one, range(n)))
    dur = time.perf_counter() - start
    out_tokens = sum(u["completion_tokens"] for u, _ in results)
    in_tokens = sum(u["prompt_tokens"] for u, _ in results)
    lat = sorted(t * 1000 for _, t in results)
    result = {"date": time.strftime("%Y%m%d-%H%M%S"), "endpoint_type": a.backend, "backend": a.backend,
              "label": None, "model_id": a.model, "tokenizer_id": a.model, "num_prompts": n, "request_rate": "inf",
              "burstiness": 1.0, "max_concurrency": c, "duration": dur, "completed": n, "failed": 0,
              "total_input_tokens": in_tokens, "total_output_tokens": out_tokens, "request_throughput": n / dur,
              "request_goodput": None, "output_throughput": out_tokens / dur,
              "total_token_throughput": (in_tokens + out_tokens) / dur, "errors": [""] * n}
    for m in a.percentile_metrics.split(","):
        result[f"mean_{m}_ms"] = sum(lat) / len(lat)
        result[f"median_{m}_ms"] = lat[len(lat) // 2]
        for pct in a.metric_percentiles.split(","):
            result[f"p{pct}_{m}_ms"] = lat[min(len(lat) - 1, int(len(lat) * float(pct) / 100))]
    os.makedirs(a.result_dir, exist_ok=True)
    with open(os.path.join(a.result_dir, a.result_filename), "w") as f:
        json.dump(result, f)
    print("============ Serving Benchmark Result ============")
    return 0


def main():
    argv = sys.argv[1:]
    log({"argv": argv})
    if argv[:1] == ["serve"]:
        return serve(argv[1:])
    if argv[:2] == ["bench", "serve"]:
        return bench(argv[2:])
    print("stand-in vllm: unknown command", argv, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
