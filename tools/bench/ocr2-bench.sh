#!/usr/bin/env bash
# DeepSeek-OCR-2 on one Atlas NPU: vLLM (vllm-ascend) throughput against the transformers infer()
# baseline, measured by `kcat bench`, which prints both medians and the ratio vLLM / transformers.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
  cat <<EOF
usage: $(basename "$0") MODEL_DIR IMAGE [options]

Runs \`kcat bench\` with tools/bench/vllm_throughput.py as the measured command and
tools/bench/hf_generate.py --custom-infer (the model's own infer()) as --baseline; the metric is
output_tokens_per_s from each harness's JSON line. Prints candidate, baseline and their ratio.

options:
  --runs N          measured runs of each command (default 3)
  --warmup N        kcat bench warmup runs of each command (default 0; each harness warms up itself)
  --output-len N    tokens generated per request by vLLM, with ignore_eos (default 256)
  --batch N         vLLM concurrent requests, all on the same image (default 8)
  --timeout S       seconds before a run is killed (default 1800)
  --device D        npu (default), cuda or cpu
  --json            print kcat bench's JSON instead of text
  --dry-run         print the kcat bench command line and exit
  -h, --help        this text

environment: KCAT (default: kcat on PATH), PYTHON (default: python3). The vLLM run gets the
vllm-ascend DeepSeek-OCR-2 tutorial settings unless already set: VLLM_USE_V1=1,
VLLM_ASCEND_ENABLE_NZ=0, TOKENIZERS_PARALLELISM=false, TASK_QUEUE_ENABLE=1,
PYTORCH_NPU_ALLOC_CONF=expandable_segments:True.
EOF
}

die() { echo "ocr2-bench: error: $*" >&2; exit 2; }

runs=3 warmup=0 output_len=256 batch=8 timeout=1800 device=npu json=0 dry=0
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --runs) [ $# -ge 2 ] || die "--runs needs a value"; runs="$2"; shift 2 ;;
    --warmup) [ $# -ge 2 ] || die "--warmup needs a value"; warmup="$2"; shift 2 ;;
    --output-len) [ $# -ge 2 ] || die "--output-len needs a value"; output_len="$2"; shift 2 ;;
    --batch) [ $# -ge 2 ] || die "--batch needs a value"; batch="$2"; shift 2 ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; timeout="$2"; shift 2 ;;
    --device) [ $# -ge 2 ] || die "--device needs a value"; device="$2"; shift 2 ;;
    --json) json=1; shift ;;
    --dry-run) dry=1; shift ;;
    --) shift; positional+=("$@"); break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1"); shift ;;
  esac
done
[ ${#positional[@]} -eq 2 ] || { usage >&2; die "expected MODEL_DIR and IMAGE"; }
model="${positional[0]}" image="${positional[1]}"
for n in "$runs" "$warmup" "$output_len" "$batch" "$timeout"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "expected a whole number, got '$n'"
done
[ "$runs" -ge 1 ] || die "--runs must be at least 1"
case "$device" in npu|cuda|cpu) ;; *) die "--device must be npu, cuda or cpu" ;; esac
[ -e "$model" ] || die "model directory $model does not exist"
[ -f "$image" ] || die "image $image does not exist"

py="${PYTHON:-python3}"
kcat="${KCAT:-kcat}"
q() { printf '%q' "$1"; }

vllm_env="VLLM_USE_V1=${VLLM_USE_V1:-1} VLLM_ASCEND_ENABLE_NZ=${VLLM_ASCEND_ENABLE_NZ:-0}"
vllm_env+=" TOKENIZERS_PARALLELISM=${TOKENIZERS_PARALLELISM:-false} TASK_QUEUE_ENABLE=${TASK_QUEUE_ENABLE:-1}"
vllm_env+=" PYTORCH_NPU_ALLOC_CONF=${PYTORCH_NPU_ALLOC_CONF:-expandable_segments:True}"

candidate="env $vllm_env $(q "$py") $(q "$here/vllm_throughput.py") --model $(q "$model") --image $(q "$image")"
candidate+=" --trust-remote-code --max-model-len 8192 --batch $batch --num-prompts $batch --output-len $output_len"
candidate+=" --device $device"
baseline="$(q "$py") $(q "$here/hf_generate.py") --model $(q "$model") --image $(q "$image")"
baseline+=" --trust-remote-code --custom-infer --device $device --dtype bfloat16 --attn-implementation sdpa"

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
