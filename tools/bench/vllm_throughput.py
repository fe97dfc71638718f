#!/usr/bin/env python3
"""vLLM offline generation throughput, one JSON line on stdout.

    python3 vllm_throughput.py --model /models/Qwen2.5-7B-Instruct --batch 32 --output-len 256
    python3 vllm_throughput.py --model /models/DeepSeek-OCR-2 --image page.png --trust-remote-code

Every request generates exactly --output-len tokens (ignore_eos), so tokens/s compares like with
like across runs, devices and harnesses. On an Atlas host vLLM runs through the vllm-ascend
plugin; nothing here is NPU-specific. vllm and PIL are imported only when actually running, so
--dry-run and argument errors work anywhere. `kcat bench --metric-json output_tokens_per_s` reads
the result.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_common as hc  # noqa: E402

HARNESS = "vllm"


def build_parser():
    p = hc.Parser(HARNESS, description="vLLM offline generation throughput (one JSON line on stdout).")
    hc.add_model_and_prompts(p)
    p.add_argument("--image", help="image file passed as multi_modal_data={'image': PIL image} to every request")
    p.add_argument("--batch", type=hc.positive_int, default=8, help="concurrent sequences (max_num_seqs); default 8")
    p.add_argument("--num-prompts", type=hc.positive_int, help="requests in the measured run (default: --batch); "
                                                                 "prompts are cycled")
    p.add_argument("--input-len", type=hc.positive_int,
                   help="make every prompt exactly this many tokens (repeats/truncates its token ids); text only")
    p.add_argument("--output-len", type=hc.positive_int, default=256, help="tokens generated per request (max_tokens, "
                                                                            "ignore_eos); default 256")
    p.add_argument("--tensor-parallel-size", type=hc.positive_int, default=1)
    p.add_argument("--max-model-len", type=hc.positive_int)
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"])
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--hf-overrides", type=hc.json_object, help="JSON object, e.g. '{\"architectures\": [\"X\"]}'")
    p.add_argument("--enforce-eager", action="store_true", help="no graph capture (CUDA graphs / ACL graphs)")
    p.add_argument("--gpu-memory-utilization", type=float, help="fraction of device memory vLLM may take")
    p.add_argument("--warmup", type=hc.non_negative_int, default=1, help="unmeasured generate() calls first; default 1")
    p.add_argument("--dump", help="write the output token ids ([requests, output_len] int64) to a .npy or "
                                  ".safetensors file for `kcat compare`")
    p.add_argument("--device", default="npu", choices=["npu", "cuda", "cpu"],
                   help="the device expected; vLLM picks its platform itself (vllm-ascend on Atlas) and the "
                        "result records the one it picked")
    # vLLM's defaults turn both caches on (vllm/config/cache.py CacheConfig.enable_prefix_caching = True;
    # vllm/config/multimodal.py MultiModalConfig.mm_processor_cache_gb = 4, "Set to 0 to disable this
    # cache completely"): with the same page in every request the vision encoder and the prefill may run
    # once instead of once per request. vllm-ascend's DeepSeek-OCR-2 tutorial serves with
    # --no-enable-prefix-caching and --mm-processor-cache-gb 0; so does this harness unless told.
    p.add_argument("--enable-prefix-caching", action="store_true",
                   help="keep vLLM's prefix cache on (default: off, as the tutorial measures)")
    p.add_argument("--mm-processor-cache-gb", type=float, default=0.0,
                   help="vLLM's multimodal processor cache, GiB (default 0: off, as the tutorial measures)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repo", help="a checkout of the model's repository: register its own vLLM model class (the "
                                  "faithful stack), as its scripts do, instead of the installed vLLM's")
    p.add_argument("--model-class", help="with --repo: MODULE.CLASS of the repository's vLLM model, e.g. "
                                         "deepseek_ocr2.DeepseekOCR2ForCausalLM")
    p.add_argument("--code-dir", help="with --repo: the directory of that module, relative to the checkout "
                                      "(default: the one directory holding it)")
    p.add_argument("--register-as", help="with --repo: the architecture name to register (default: the class name)")
    p.add_argument("--dry-run", action="store_true", help="validate the arguments and print the plan as JSON; "
                                                          "imports nothing heavy")
    return p


def plan(args):
    """Validates what argparse cannot and returns what would run."""
    hc.check_model(args.model)
    hc.check_file(args.image, "image")
    hc.check_dump(args.dump)
    if args.image and args.input_len:
        raise hc.HarnessError("--input-len works on text prompts only; drop it with --image", hc.EXIT_USAGE)
    if args.gpu_memory_utilization is not None and not 0 < args.gpu_memory_utilization <= 1:
        raise hc.HarnessError("--gpu-memory-utilization must be in (0, 1]", hc.EXIT_USAGE)
    if args.mm_processor_cache_gb < 0:
        raise hc.HarnessError("--mm-processor-cache-gb must be 0 or more", hc.EXIT_USAGE)
    if args.prompts:
        prompts, source = hc.load_prompts(args.prompts), args.prompts
    elif args.image:
        prompts, source = [hc.OCR2_PROMPT], "built-in (DeepSeek-OCR-2 document prompt)"
    else:
        prompts, source = hc.DEFAULT_PROMPTS, "built-in"
    if args.image and not any("<image>" in p for p in prompts):
        sys.stderr.write("vllm: warning: --image given but no prompt contains '<image>'; "
                         "many vision models need that placeholder\n")
    num = args.num_prompts or args.batch
    if not args.repo and (args.model_class or args.code_dir or args.register_as):
        raise hc.HarnessError("--model-class, --code-dir and --register-as choose the code of --repo: add --repo "
                              "CHECKOUT", hc.EXIT_USAGE)
    if args.repo and not args.model_class:
        raise hc.HarnessError("--repo needs --model-class MODULE.CLASS: the repository's vLLM model class",
                              hc.EXIT_USAGE)
    code = hc.repo_code(args.repo, *hc.split_class(args.model_class), args.code_dir) if args.repo else None
    if code:
        code["register_as"] = args.register_as or code["class"]
    llm_kwargs = {
        "model": args.model,
        "tensor_parallel_size": args.tensor_parallel_size,
        "dtype": args.dtype,
        "trust_remote_code": args.trust_remote_code,
        "enforce_eager": args.enforce_eager,
        "max_num_seqs": args.batch,
        "seed": args.seed,
        "enable_prefix_caching": args.enable_prefix_caching,
    }
    if args.image:
        llm_kwargs["mm_processor_cache_gb"] = args.mm_processor_cache_gb
    if args.max_model_len:
        llm_kwargs["max_model_len"] = args.max_model_len
    if args.hf_overrides:
        llm_kwargs["hf_overrides"] = args.hf_overrides
    if args.gpu_memory_utilization is not None:
        llm_kwargs["gpu_memory_utilization"] = args.gpu_memory_utilization
    return {
        "harness": HARNESS,
        "dry_run": True,
        "stack": "faithful" if code else "native",
        "repo": code,
        "model": args.model,
        "device": args.device,
        "batch": args.batch,
        "num_prompts": num,
        "input_len": args.input_len,
        "output_len": args.output_len,
        "warmup": args.warmup,
        "image": args.image,
        "prompt_source": source,
        "prompts": hc.take(prompts, num),
        "dump": args.dump,
        "llm_kwargs": llm_kwargs,
        "sampling": {"temperature": 0.0, "max_tokens": args.output_len, "ignore_eos": True},
    }


def fixed_length_ids(tokenizer, prompt, n):
    ids = tokenizer(prompt)["input_ids"] or [tokenizer.eos_token_id or 0]
    return [ids[i % len(ids)] for i in range(n)]


def detected_device():
    """The device type of the platform vLLM picked ("npu" under vllm-ascend, "cuda", "cpu"); None
    when it cannot be read. Never the device that was asked for."""
    try:
        from vllm.platforms import current_platform

        return str(current_platform.device_type) or None
    except Exception:  # an old or stand-in vLLM
        return None


def run(p):
    prov = hc.provenance(p["llm_kwargs"]["seed"])
    vllm = hc.require(HARNESS, "vllm", "install vllm (and vllm-ascend on an Atlas host); see tools/bench/README.md")
    image = None
    if p["image"]:
        pil = hc.require(HARNESS, "PIL.Image", "install Pillow")
        image = pil.open(p["image"]).convert("RGB")
    with hc.stdout_to_stderr():
        if p["repo"]:
            # The repository's scripts register their model in their own process before building the engine
            # (deepseek-ai/DeepSeek-OCR-2@1d9f3b5b4af841608bd07c0785e78daa78aa6569
            # DeepSeek-OCR2-master/DeepSeek-OCR2-vllm/run_dpsk_ocr2_image.py: `from deepseek_ocr2 import
            # DeepseekOCR2ForCausalLM`, ModelRegistry.register_model("DeepseekOCR2ForCausalLM", ...), and the
            # engine with hf_overrides={"architectures": ["DeepseekOCR2ForCausalLM"]}); so does this.
            # A registration in this process does not reach engine worker processes (patches/routes/
            # deepseek-ocr2.toml, ocr2-faithful-v085 caveats): run as the faithful route does (VLLM_USE_V1=0).
            vllm.ModelRegistry.register_model(p["repo"]["register_as"], hc.repo_class(p["repo"]))
        llm = vllm.LLM(**p["llm_kwargs"])
        requests = []
        tokenizer = llm.get_tokenizer() if p["input_len"] else None
        for prompt in p["prompts"]:
            if tokenizer is not None:
                requests.append({"prompt_token_ids": fixed_length_ids(tokenizer, prompt, p["input_len"])})
            elif image is not None:
                requests.append({"prompt": prompt, "multi_modal_data": {"image": image}})
            else:
                requests.append({"prompt": prompt})
        sampling = vllm.SamplingParams(**p["sampling"])
        for _ in range(p["warmup"]):
            llm.generate(requests[: p["batch"]], sampling, use_tqdm=False)
        start = time.perf_counter()
        outputs = llm.generate(requests, sampling, use_tqdm=False)
        elapsed = time.perf_counter() - start
    device = detected_device()
    if device != p["device"]:
        sys.stderr.write(f"vllm: warning: --device {p['device']} was expected; vLLM ran on "
                         f"{device or 'an unknown device'}, and the result says so\n")
    token_ids = [list(o.outputs[0].token_ids) for o in outputs]
    if p["dump"]:
        hc.dump_token_ids(p["dump"], token_ids)
    return hc.throughput(
        HARNESS, p["model"], token_ids, elapsed,
        stack=p["stack"],  # native: the installed vLLM's own model class; faithful: the repository's (--repo)
        repo=hc.repo_summary(p["repo"]),
        repo_commit=p["repo"]["commit"] if p["repo"] else None,
        input_tokens=sum(len(o.prompt_token_ids or []) for o in outputs),
        batch=p["batch"],
        output_len=p["output_len"],
        input_len=p["input_len"],
        tensor_parallel_size=p["llm_kwargs"]["tensor_parallel_size"],
        device=device,
        device_requested=p["device"],
        engine=p["llm_kwargs"],
        sampling=p["sampling"],
        warmup=p["warmup"],
        image=hc.file_digest(p["image"]),
        provenance=prov,
        machine=hc.machine(),
        versions=hc.versions("vllm", "vllm_ascend", "torch", "torch_npu", "transformers"),
    )


def main(argv=None):
    return hc.main(HARNESS, build_parser, plan, run, argv)


if __name__ == "__main__":
    sys.exit(main())
