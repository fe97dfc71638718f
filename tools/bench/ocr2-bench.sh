#!/usr/bin/env bash
# DeepSeek-OCR-2 on one Atlas NPU, measured as vllm-ascend's anchor measures it: the route's
# `vllm serve` driven by vLLM's own client over a page set (vllm_serve_bench.py), the transformers
# baseline on the same pages and output length (hf_generate.py), and the two labelled ratios
# (ratios.py). --offline keeps the older measurement: offline LLM.generate() under `kcat bench`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<EOF
usage: $(basename "$0") MODEL_DIR PAGES_DIR [options]             serving (default)
       $(basename "$0") --offline MODEL_DIR IMAGE [options]       offline, under kcat bench

Serving (default), three steps, each result line kept in --result-dir:
  1. serve.json: vllm_serve_bench.py --serve <the route's vllm serve command> --pages PAGES_DIR
     (a concurrency sweep, caches off, --output-len tokens with ignore_eos);
  2. base.json:  hf_generate.py --custom-infer --pages PAGES_DIR (the same pages and output length,
     bfloat16, sdpa, --no-repeat-ngram-size as --ngram; with --repo, the repository's own code);
  3. ratios.py serve.json base.json, printed on stdout (two ratios, each labelled).

options (serving):
  --concurrency LIST        the sweep (default 1,8,32,64)
  --prompts-per-concurrency N   requests per concurrency c: N x c (default 8)
  --warmup-pages N          pages that only warm up, on both sides (default 2)
  --output-len N            tokens per request on both sides (default 256)
  --ngram N|keep            the baseline's no_repeat_ngram_size (default 0: the native route's serve
                            command loads no n-gram logits processor; keep: the model code's own)
  --repo CHECKOUT           the baseline loads the model code from this checkout (the faithful stack)
  --client vllm|aisbench    the serving client (default vllm; aisbench needs BENCHMARK_HOME)
  --serve CMD               the serve command (default: the route's run line with MODEL_DIR)
  --result-dir DIR          where the results go (default ./ocr2-bench-<UTC time>)
options (--offline): --runs N (3), --warmup N (0), --batch N (8), --timeout S (1800), --json
options (both): --device npu|cuda|cpu (npu), --dry-run (print the commands and exit), -h, --help

environment: PYTHON (default python3); KCAT (--offline; default kcat on PATH). The vLLM side gets
the route's environment unless already set: VLLM_USE_V1=1, VLLM_ASCEND_ENABLE_NZ=0,
TOKENIZERS_PARALLELISM=false, TASK_QUEUE_ENABLE=1, PYTORCH_NPU_ALLOC_CONF=expandable_segments:True.
EOF
}

die() { echo "ocr2-bench: error: $*" >&2; exit 2; }

offline=0 runs=3 warmup=0 output_len=256 batch=8 timeout=1800 device=npu json=0 dry=0
concurrency=1,8,32,64 per_c=8 warmup_pages=2 ngram=0 repo="" serve="" result_dir="" client=vllm
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --offline) offline=1; shift ;;
    --json) json=1; shift ;;
    --dry-run) dry=1; shift ;;
    --runs|--warmup|--output-len|--batch|--timeout|--device|--concurrency|--prompts-per-concurrency|\
    --warmup-pages|--ngram|--repo|--serve|--result-dir|--client)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --runs) runs="$2" ;; --warmup) warmup="$2" ;; --output-len) output_len="$2" ;; --batch) batch="$2" ;;
        --timeout) timeout="$2" ;; --device) device="$2" ;; --concurrency) concurrency="$2" ;;
        --prompts-per-concurrency) per_c="$2" ;; --warmup-pages) warmup_pages="$2" ;; --ngram) ngram="$2" ;;
        --repo) repo="$2" ;; --serve) serve="$2" ;; --result-dir) result_dir="$2" ;; --client) client="$2" ;;
      esac
      shift 2 ;;
    --) shift; positional+=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -eq 2 ] || { usage >&2; die "expected MODEL_DIR and PAGES_DIR; --offline: expected MODEL_DIR and IMAGE"; }
model="${positional[0]}" input="${positional[1]}"
for n in "$runs" "$warmup" "$output_len" "$batch" "$timeout" "$per_c" "$warmup_pages"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "expected a whole number, got '$n'"
done
[[ "$ngram" =~ ^([0-9]+|keep)$ ]] || die "--ngram must be a whole number or keep, got '$ngram'"
[ "$runs" -ge 1 ] || die "--runs must be at least 1"
case "$device" in npu|cuda|cpu) ;; *) die "--device must be npu, cuda or cpu" ;; esac
case "$client" in vllm|aisbench) ;; *) die "--client must be vllm or aisbench" ;; esac
[ -e "$model" ] || die "model directory $model does not exist"

py="${PYTHON:-python3}"
q() { printf '%q' "$1"; }

vllm_env=("VLLM_USE_V1=${VLLM_USE_V1:-1}" "VLLM_ASCEND_ENABLE_NZ=${VLLM_ASCEND_ENABLE_NZ:-0}"
          "TOKENIZERS_PARALLELISM=${TOKENIZERS_PARALLELISM:-false}" "TASK_QUEUE_ENABLE=${TASK_QUEUE_ENABLE:-1}"
          "PYTORCH_NPU_ALLOC_CONF=${PYTORCH_NPU_ALLOC_CONF:-expandable_segments:True}")

if [ "$offline" = 1 ]; then
  [ -f "$input" ] || die "image $input does not exist"
  image="$input"
  kcat="${KCAT:-kcat}"
  candidate="env $(printf '%q ' "${vllm_env[@]}")$(q "$py") $(q "$here/vllm_throughput.py") --model $(q "$model") --image $(q "$image")"
  candidate+=" --trust-remote-code --max-model-len 8192 --batch $batch --num-prompts $batch --output-len $output_len"
  candidate+=" --device $device"
  baseline="$(q "$py") $(q "$here/hf_generate.py") --model $(q "$model") --image $(q "$image")"
  baseline+=" --trust-remote-code --custom-infer --device $device --dtype bfloat16 --attn-implementation sdpa"
  baseline+=" --output-len $output_len --no-repeat-ngram-size $ngram"
  [ -n "$repo" ] && baseline+=" --repo $(q "$repo")"
  args=(bench --cmd "$candidate" --baseline "$baseline" --metric-json output_tokens_per_s --unit tok/s
        --runs "$runs" --warmup "$warmup" --timeout "$timeout")
  [ "$json" = 1 ] && args+=(--format json)
  if [ "$dry" = 1 ]; then
    printf '%q ' "$kcat" "${args[@]}"
    echo
    exit 0
  fi
  command -v "$kcat" >/dev/null 2>&1 || { echo "ocr2-bench: error: $kcat not found; set KCAT=/path/to/kcat" >&2; exit 3; }
  exec "$kcat" "${args[@]}"
fi

[ -f "$input" ] && die "$input is a file: serving measures a directory of pages (the same set on both sides); --offline measures one IMAGE"
[ -d "$input" ] || die "page directory $input does not exist"
pages="$input"
# The route's run line (patches/routes/deepseek-ocr2.toml, ocr2-native-vllm-ascend: vllm-ascend's
# docs/source/tutorials/models/DeepSeekOCR2.md at v0.18.0) with the model of this host; the harness
# test checks the two agree.
if [ -z "$serve" ]; then
  serve="vllm serve $(q "$model") --served-model-name deepseekocr2 --trust-remote-code --tensor-parallel-size 1"
  serve+=" --max-model-len 8192 --no-enable-prefix-caching --gpu-memory-utilization 0.8 --allowed-local-media-path /"
  serve+=" --async-scheduling"
  serve+=" --additional-config '{\"enable_cpu_binding\": true, \"multistream_overlap_shared_expert\": true,"
  serve+=" \"ascend_compilation_config\": {\"fuse_qknorm_rope\": false}}' --mm-processor-cache-gb 0"
fi
result_dir="${result_dir:-ocr2-bench-$(date -u +%Y%m%dT%H%M%SZ)}"

serve_cmd=(env "${vllm_env[@]}" "$py" "$here/vllm_serve_bench.py" --serve "$serve" --pages "$pages"
           --concurrency "$concurrency" --prompts-per-concurrency "$per_c" --warmup-pages "$warmup_pages"
           --output-len "$output_len" --client "$client" --result-dir "$result_dir/serve")
base_cmd=("$py" "$here/hf_generate.py" --model "$model" --pages "$pages" --warmup-pages "$warmup_pages"
          --trust-remote-code --custom-infer --device "$device" --dtype bfloat16 --attn-implementation sdpa
          --output-len "$output_len" --no-repeat-ngram-size "$ngram")
[ -n "$repo" ] && base_cmd+=(--repo "$repo")
ratio_cmd=("$py" "$here/ratios.py" "$result_dir/serve.json" "$result_dir/base.json")

if [ "$dry" = 1 ]; then
  printf '%q ' "${serve_cmd[@]}"
  echo "> $(q "$result_dir/serve.json")"
  printf '%q ' "${base_cmd[@]}"
  echo "> $(q "$result_dir/base.json")"
  printf '%q ' "${ratio_cmd[@]}"
  echo
  exit 0
fi

mkdir -p "$result_dir"
step() {  # step NAME CMD...: runs one harness into $result_dir/NAME.json; a failure stops here
  local name="$1"
  shift
  echo "ocr2-bench: $name -> $result_dir/$name.json" >&2
  local rc=0
  "$@" >"$result_dir/$name.json" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "ocr2-bench: error: the $name step failed (exit $rc); its result line is in $result_dir/$name.json" >&2
    tail -n 1 "$result_dir/$name.json"
    exit "$rc"
  fi
}
step serve "${serve_cmd[@]}"
step base "${base_cmd[@]}"
"${ratio_cmd[@]}" | tee "$result_dir/ratios.json"
exit "${PIPESTATUS[0]}"
