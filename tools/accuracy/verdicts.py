#!/usr/bin/env python3
"""Reviewer verdicts for every edit listed in OUT_DIR/<repo>/edits.tsv (tools/accuracy/edits.py).

Usage: verdicts.py OUT_DIR CORPUS_DIR   (the corpus repositories checked out on kcat/ascend-a2)
The RULES are the baseline review's human judgment (kcat at main 529da88), first match wins, keyed on
file, line and the edited text; docs/accuracy.md says why. With a newer binary, an edit no rule
covers stops the script ("no rule: ..."): review it, add a rule, re-run; edits whose line moved fall
through to the repository's last (generic) rule, so check the per-class counts against the baseline.
Writes OUT_DIR/<repo>/verdicts.tsv (file, line, before, after, verdict, class, why) and prints totals."""
import re, sys, os, collections

R, P, W, H = "right", "pointless", "wrong", "harmful"
IMPORT = "import torch_npu"
# The file `kcat migrate` writes since session 5 (issue 15): one new file, many lines of differing
# merit, so it is not one edit here; docs/accuracy.md reads it line by line.
REQUIREMENTS = "requirements-ascend.txt"

# (file regex, line numbers or None, after-text regex or None, verdict, class, why)
RULES = {
 "nanoGPT": [
  (r"model\.py$", {283}, None, R, "", "fused AdamW on 'npu': recent torch_npu dispatches it to aclnnApplyAdamWV2; older stacks reject fused=True (torch_npu-version dependent)"),
  (r".", None, r"allow_hf32", R, "", "TF32 switch -> HF32, the NPU's reduced-precision matmul/conv switch"),
  (r".", None, None, R, "", "device string / torch.cuda.* -> npu counterpart that exists"),
 ],
 "llama": [
  (r".", None, r"HalfTensor", R, "", "torch.npu.HalfTensor exists (torch_npu tensor types)"),
  (r".", None, None, R, "", "nccl->hccl, set_device, device strings, .npu(): correct"),
 ],
 "whisper": [
  (r"tests/test_timing\.py$", {60}, None, P, "", "feeds dtw_cuda (a CUDA Triton kernel test, marker requires_cuda)"),
  (r"whisper/timing\.py$", {37, 143}, None, W, "F12", "routes NPU tensors into the CUDA Triton kernels; only RuntimeError falls back, before the torch path ran"),
  (r".", None, None, R, "", "default device / availability check -> npu"),
 ],
 "LLaVA": [
  (r"llama_flash_attn_monkey_patch\.py$", {13}, r"^from llava\.flash_attn_npu import unpad_input, pad_input$", R, "", "bert_padding's unpad_input / pad_input from the generated llava/flash_attn_npu.py, which defines both (same 4-tuple and zero-fill as flash-attn's) and is importable as llava.flash_attn_npu (llava/__init__.py): re-read 2026-12-07"),
  (r"llama_flash_attn_monkey_patch\.py$", {11, 13}, None, W, "F1", "imports names the generated shim lacks, from a non-importable top-level module"),
  (r"llama_flash_attn_monkey_patch\.py$", {107}, None, W, "F2", "torch.npu.get_device_capability() returns None: unpacking raises"),
  (r"flash_attn_npu\.py$", None, None, R, "", "shim body matches npu_fusion_attention's documented BSND/TND use"),
  (r".", None, r"'sdpa'|\"sdpa\"", R, "", "attn_implementation request: LLaVA pins transformers 4.37 (no NPU FA2) so sdpa is right"),
  (r".", None, None, R, "", ".cuda()->.npu(), device defaults, CUDA_VISIBLE_DEVICES->ASCEND_RT_VISIBLE_DEVICES, synchronize"),
 ],
 "timm": [
  (r"attention_pool\.py$|tiny_vit\.py$", None, r"npu_prompt_flash_attention", H, "F3", "SDPA (works on NPU) -> PFA: no backward, no fp32, bias shape/dtype/optional mask unsupported"),
  (r"data/loader\.py$", {122, 127, 128, 129, 152, 153}, None, H, "F4", "CUDA arm turned into a duplicate of the existing NPU arm (dead elif, CUDA lost)"),
  (r"naflex_loader\.py$", {94, 104, 105, 106, 184, 185}, None, H, "F4", "CUDA arm turned into a duplicate of the existing NPU arm"),
  (r"^(train|legacy_train)\.py$", {1229, 1230, 1338, 1339, 1397, 1398, 1506, 1507}, None, H, "F4", "if cuda: sync elif npu: sync -> npu twice"),
  (r"^validate\.py$", {470, 471}, None, H, "F4", "if cuda: empty_cache elif npu: ... -> npu twice"),
  (r"utils/distributed\.py$", {119, 162, 163}, None, H, "F4", "duplicate dict key / duplicate assert next to the existing npu entry"),
  (r"_optim_factory\.py$", None, None, W, "F5", "guard for CUDA-only apex/bitsandbytes optimizers now passes on NPU"),
  (r"_helpers\.py$", None, None, P, "", "capturable devices: 'npu' is already appended as privateuse1; drops 'cuda'"),
  (r"fast_norm\.py$", {42, 54}, None, P, "", "old-torch fallback assert; get_autocast_gpu_dtype is CUDA's"),
  (r".", None, None, R, "", "device default / availability guard / synchronize / HF32 / GradScaler -> npu"),
 ],
 "LLaMA-Factory": [
  (r"collator\.py$|base_trainer\.py$|utils/types\.py$", None, None, H, "F6", "literal flash_attention_2 -> sdpa in comparison/enum/Literal: inverts logic, aliases enum"),
  (r"model_utils/attention\.py$", {92}, None, P, "", "FA3 request: FA3 never importable on NPU, returns early"),
  (r"model_utils/attention\.py$", None, None, H, "F6", "disables transformers' NPU flash_attention_2 / dead elif with wrong log"),
  (r"extras/env\.py$|extras/misc\.py$|train/callbacks\.py$|core/utils/checkpoint\.py$|tests(_v1)?/conftest\.py$", None, None, H, "F4", "CUDA arm of a chain that already has an NPU arm: unreachable on NPU, CUDA lost"),
  (r"v1/accelerator/helper\.py$", None, None, H, "F7", "DeviceType.CUDA = 'npu' aliases the NPU member; CUDA arm returns hccl"),
  (r"^tests", None, r'runs_on\(\["npu", "npu"\]\)', H, "F7", "drops cuda from the runs_on list (duplicate npu)"),
  (r"^tests", None, r"runs_on", W, "F7", "CUDA-only test (sglang / megatron-bridge / bitsandbytes) now marked to run on NPU"),
  (r"longlora\.py$", None, None, P, "", "workaround for a CUDA SDPA bug, harmless on NPU"),
  (r".", None, None, R, "", "alloc-conf env, custom_fwd/bwd, seeds, bf16 check, device default -> npu"),
 ],
 "litgpt": [
  (r"^extensions/thunder|^tests/ext_thunder", None, None, P, "", "Thunder/nvFuser/unsloth Triton: CUDA-only extension"),
  (r"tests/test_model\.py$", {1485}, None, H, "F2", "module-level get_device_capability() >= (8,0): None >= tuple raises at collection (was False)"),
  (r"litgpt/api\.py$", {216, 217, 301, 302}, None, H, "F8", "accelerator='npu' passed to L.Fabric, which has no NPU accelerator: raises where CPU fallback worked"),
  (r"litgpt/api\.py$", {260}, None, P, "", "type hint Literal only"),
  (r"litgpt/(api|generate/tp|finetune/\w+|pretrain)\.py$", None, r"is_available\(\) and (devices|fabric\.accelerator)", P, "", "guards check_nvlink_connectivity (NVIDIA/AMD topology check): prints 'Unrecognized GPU vendor' on NPU"),
  (r"litgpt/api\.py$", {296, 308, 318}, None, W, "F8", "accepts/keys on accelerator 'npu' that Lightning rejects; 'cuda' now refused"),
  (r"litgpt/generate/sequentially\.py$", {214}, None, W, "F8", "Fabric(accelerator='npu'): no NPU accelerator in Lightning"),
  (r"tutorials/", None, None, W, "F8", "Trainer(accelerator='npu'): Lightning has no NPU accelerator"),
  (r"litgpt/lora\.py$", None, None, W, "F16", "bnb Params4bit.cuda() is the quantize-on-move hook; .npu() is not (unverified in bnb's NPU backend)"),
  (r"litgpt/utils\.py$", {733, 734}, None, P, "", "NVLink/AMD topology check: vendor never matches on NPU"),
  (r"^tests/test_trainer_support\.py$|^tests/test_utils\.py$", {83, 120, 140, 183}, None, W, "F8", "accelerator='npu' in a Lightning test (also gated on CUDA count)"),
  (r"^tests/(test_model|test_api|test_lora|test_adapter|test_distributed|convert/|generate/)", None, None, P, "", "inside tests gated by _RunIf(min_cuda_gpus) / CUDA-only params: never run on an NPU host"),
  (r".", None, None, R, "", "availability guard / memory stats / bf16 check / device.type check -> npu"),
 ],
 "mamba": [
  (r"modules/mha\.py$", None, None, W, "F1", "shim has no flash_attn_with_kvcache: ImportError -> None, yet counted fixed"),
  (r"modules/flash_attn_npu\.py$", None, None, P, "", "shim lacks the one function mha.py uses (flash_attn_with_kvcache)"),
  (r"ops/(tilelang|cute)/|tests/ops/(tilelang|cute)/", None, None, P, "", "TileLang / CuTe-DSL kernels: NVIDIA-only, can never run on NPU"),
  (r"tests/ops/test_selective_scan\.py$", None, None, P, "", "tests the selective_scan_cuda C++/CUDA extension"),
  (r"layer_norm\.py$", {136, 145}, None, P, "", "inside `if torch.version.hip:` (ROCm-only branch)"),
  (r".", None, r"get_device_capability", W, "F2", "torch.npu.get_device_capability() returns None: unpacking raises"),
  (r"utils/generation\.py$", {354, 355, 356, 370}, None, W, "F13", "graph capture half-ported: npu streams around torch.cuda.CUDAGraph/graph left as is"),
  (r".", None, r"multi_processor_count", R, "", "exists as vector_core_num from torch_npu 2.7.1 (None before)"),
  (r"ops/triton/|tests/ops/triton/|tests/test_determinism|tests/benchmark_determinism", None, None, R, "", "Triton launch wrapper/allocs -> npu: needed for triton-ascend (kernels still to port)"),
  (r".", None, None, R, "", "device strings, Event, synchronize, custom_fwd/bwd -> npu"),
 ],
 "extension-cpp": [
  (r"^setup\.py$", {34}, None, W, "F14", "CUDAExtension gate now keyed on torch.npu.is_available(): builds nvcc sources on NPU hosts with CUDA_HOME"),
  (r"^setup\.py$", {57}, None, H, "F15", "csrc/cuda -> csrc/npu, a folder that does not exist: CUDA sources silently dropped"),
  (r"^test/", None, None, W, "F10", "ops have CPU/CUDA kernels only: skipped tests now run on NPU and fail"),
 ],
}

def uses_npu(repo, path):
    try:
        src = open(f"{CORPUS}/{repo}/{path}", encoding="utf-8", errors="replace").read()
    except OSError:
        return False
    body = src.replace(IMPORT, "")
    return bool(re.search(r"torch\.npu|torch_npu\.|\.npu\(|is_npu", body))

def classify(repo, path, line, before, after):
    if after == IMPORT:
        if path.endswith("setup.py"):
            return H, "F9", "unconditional import torch_npu in a build file: pip/isolated builds and non-NPU builds fail"
        if uses_npu(repo, path):
            return R, "", "import torch_npu in a file that uses torch.npu / torch_npu"
        return P, "", "import torch_npu in a file that uses no NPU API (torch_npu autoloads since 2.5.1)"
    for fre, lines, are, v, cls, why in RULES[repo]:
        if not re.search(fre, path):
            continue
        if lines is not None and line not in lines:
            continue
        if are is not None and not re.search(are, after):
            continue
        return v, cls, why
    raise SystemExit(f"no rule: {repo} {path}:{line}")

if __name__ == "__main__":
    base = sys.argv[1]
    CORPUS = sys.argv[2]
    tot = collections.Counter()
    for repo in RULES:
        if not os.path.exists(f"{base}/{repo}/edits.tsv"):
            continue
        # the corpus must be on kcat/ascend-a2 for uses_npu()
        rows = [l.rstrip("\n").split("\t") for l in open(f"{base}/{repo}/edits.tsv")]
        c = collections.Counter()
        with open(f"{base}/{repo}/verdicts.tsv", "w") as out:
            for path, line, before, after in rows:
                if path == REQUIREMENTS:
                    continue  # read line by line in its own table in docs/accuracy.md
                v, cls, why = classify(repo, path, int(line), before, after)
                c[v] += 1
                c["imp_" + v] += after == IMPORT
                out.write(f"{path}\t{line}\t{before}\t{after}\t{v}\t{cls}\t{why}\n")
        tot.update(c)
        n = sum(c[k] for k in (R, P, W, H))
        print(f"{repo}\t{n}\t" + "\t".join(f"{k}={c[k]}(imports {c['imp_'+k]})" for k in (R, P, W, H)))
    n = sum(tot[k] for k in (R, P, W, H))
    print("TOTAL", n, {k: tot[k] for k in (R, P, W, H)}, {k: f"{100*tot[k]/n:.1f}%" for k in (R, P, W, H)})
    ni = sum(tot["imp_" + k] for k in (R, P, W, H))
    print("without import lines", n - ni, {k: tot[k] - tot["imp_" + k] for k in (R, P, W, H)},
          {k: f"{100*(tot[k]-tot['imp_'+k])/(n-ni):.1f}%" for k in (R, P, W, H)})
