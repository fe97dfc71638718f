#!/usr/bin/env python3
"""vLLM offline generation throughput, one JSON line on stdout.

    python3 vllm_throughput.py --model /models/Qwen2.5-7B-Instruct --batch 32 --output-len 256
    python3 vllm_throughput.py --model /models/DeepSeek-OCR-2 --image page.png --trust-remote-code
    python3 vllm_throughput.py --model /models/DeepSeek-OCR-2 --image page.png --trust-remote-code \
        --repo ~/src/DeepSeek-OCR-2 --model-class deepseek_ocr2.DeepseekOCR2ForCausalLM --repo-preprocess \
        --hf-overrides '{"architectures": ["DeepseekOCR2ForCausalLM"]}'   # the repository's own path

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
    p.add_argument("--repo-preprocess", action="store_true",
                   help="with --repo and --image: send the features of the repository's own processor "
                        "(DeepSeek-OCR-2: DeepseekOCR2Processor().tokenize_with_images) with its config.PROMPT, "
                        "as its run scripts do, instead of the PIL image; needs VLLM_USE_V1=0 (set if unset)")
    p.add_argument("--dry-run", action="store_true", help="validate the arguments and print the plan as JSON; "
                                                          "imports nothing heavy")
    return p


# What DeepSeek-OCR-2's vLLM scripts send, read from deepseek-ai/DeepSeek-OCR-2@2f3699ebbb96fa8af32212e8c170f2cc28730fad
# (paths under DeepSeek-OCR2-master/DeepSeek-OCR2-vllm/). Only this exact call is supported: any other repository
# layout is refused rather than guessed at.
# run_dpsk_ocr2_image.py:21 `from process.image_process import DeepseekOCR2Processor`
PRE_MODULE = "process.image_process"
PRE_CLASS = "DeepseekOCR2Processor"  # process/image_process.py:111 `class DeepseekOCR2Processor(ProcessorMixin)`
PRE_METHOD = "tokenize_with_images"  # process/image_process.py:330 `def tokenize_with_images(self, images, bos, eos,
#                                      cropping)`; it ignores any prompt: line 341 `conversation = PROMPT` (config)
PRE_PARAMS = ["self", "images", "bos", "eos", "cropping"]
# run_dpsk_ocr2_image.py:215 (and run_dpsk_ocr2_pdf.py:228, run_dpsk_ocr2_eval_batch.py:114):
# `DeepseekOCR2Processor().tokenize_with_images(images = [image], bos=True, eos=True, cropping=CROP_MODE)`,
# CROP_MODE and PROMPT from config.py (`CROP_MODE = True`, `PROMPT = '<image>\n<|grounding|>Convert the document
# to markdown.'`); the request is {"prompt": PROMPT, "multi_modal_data": {"image": those features}}
# (run_dpsk_ocr2_image.py:179-182) and is sent only when '<image>' is in PROMPT (line 213).
PRE_CONFIG = "config.py"
# run_dpsk_ocr2_image.py:9, run_dpsk_ocr2_pdf.py:13, run_dpsk_ocr2_eval_batch.py:7: `os.environ['VLLM_USE_V1'] = '0'`
# before vllm is imported (their in-process ModelRegistry.register_model needs the V0 engine).
PRE_ENV = {"VLLM_USE_V1": "0"}


def _literal(tree, name, path, required=True):
    import ast

    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                break
    if not required:
        return None
    raise hc.HarnessError(f"--repo-preprocess: {path} sets no literal {name}; the repository's call cannot be "
                          "determined from its source, so it is not guessed (run without --repo-preprocess)",
                          hc.EXIT_USAGE)


def repo_preprocess(code):
    """The repository's own preprocessing call (--repo-preprocess), read from its source without importing it:
    its processor's method must have the signature the run scripts call, and config.py must set PROMPT and
    CROP_MODE as literals. Anything else is a usage error naming the file."""
    import ast

    where = code["code_dir"]
    module_path = os.path.join(where, PRE_MODULE.replace(".", os.sep) + ".py")
    config_path = os.path.join(where, PRE_CONFIG)
    for path in (module_path, config_path):
        if not os.path.isfile(path):
            raise hc.HarnessError(f"--repo-preprocess: no {path}; only DeepSeek-OCR-2's layout (config.py and "
                                  f"{PRE_MODULE} beside {code['module']}.py) is supported", hc.EXIT_USAGE)
    with open(module_path, encoding="utf-8", errors="replace") as f:
        tree = ast.parse(f.read(), module_path)
    params = None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == PRE_CLASS:
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == PRE_METHOD:
                    params = [a.arg for a in fn.args.args]
    if params != PRE_PARAMS:
        found = "is not defined" if params is None else f"takes ({', '.join(params)})"
        raise hc.HarnessError(f"--repo-preprocess: {module_path}: {PRE_CLASS}.{PRE_METHOD} {found}, not "
                              f"({', '.join(PRE_PARAMS)}) as in deepseek-ai/DeepSeek-OCR-2@2f3699eb; the call is not "
                              "guessed", hc.EXIT_USAGE)
    with open(config_path, encoding="utf-8", errors="replace") as f:
        config = ast.parse(f.read(), config_path)
    prompt, crop = _literal(config, "PROMPT", config_path), _literal(config, "CROP_MODE", config_path)
    if not isinstance(prompt, str) or "<image>" not in prompt:
        raise hc.HarnessError(f"--repo-preprocess: {config_path}: PROMPT has no '<image>', so the repository's "
                              "scripts send no image features; set an image prompt there", hc.EXIT_USAGE)
    for var, want in PRE_ENV.items():
        if os.environ.get(var, want) != want:
            raise hc.HarnessError(f"--repo-preprocess: {var}={os.environ[var]}, but the repository's scripts run "
                                  f"with {var}={want} (their in-process model registration needs it); unset it or "
                                  f"set {var}={want}", hc.EXIT_USAGE)
    # config.py:11,30 `MODEL_PATH = 'deepseek-ai/DeepSeek-OCR-2' # change to your model path` and
    # `TOKENIZER = AutoTokenizer.from_pretrained(MODEL_PATH, ...)`: the processor's tokenizer comes from there.
    model_path = _literal(config, "MODEL_PATH", config_path, required=False)
    return {"module": PRE_MODULE, "class": PRE_CLASS, "method": PRE_METHOD, "config": config_path,
            "kwargs": {"bos": True, "eos": True, "cropping": crop}, "prompt": prompt, "env": dict(PRE_ENV),
            "config_model_path": model_path}


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
    pre = None
    if args.repo_preprocess:
        if not code or not args.image:
            raise hc.HarnessError("--repo-preprocess sends the repository's features of --image: add --repo "
                                  "CHECKOUT --model-class MODULE.CLASS and --image PAGE", hc.EXIT_USAGE)
        if args.prompts:
            raise hc.HarnessError("--repo-preprocess: the repository's processor builds its token ids from its "
                                  "config.PROMPT whatever the request says; drop --prompts (edit config.py instead)",
                                  hc.EXIT_USAGE)
        pre = repo_preprocess(code)
        if pre["config_model_path"] != args.model:
            sys.stderr.write(f"vllm: warning: {pre['config']} sets MODEL_PATH = {pre['config_model_path']!r}, and "
                             "the repository's processor loads its tokenizer from there, not from --model; set it "
                             "to the weights directory as its comment says\n")
        prompts, source = [pre["prompt"]], f"the repository's config.PROMPT ({pre['config']})"
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
        "input": "repository-features" if pre else ("image" if args.image else "text"),
        "repo_preprocess": pre,
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


def repo_features(pre, code, pil, image_path):
    """The repository's own features of the page, made as its scripts make them (the constants above): the
    page opened with EXIF orientation applied (run_dpsk_ocr2_image.py:28-35,210 load_image(...).convert('RGB')),
    then PRE_CLASS().PRE_METHOD(images=[page], bos=True, eos=True, cropping=config.CROP_MODE), imported from the
    checkout's code directory as the scripts import it (that directory on sys.path)."""
    import importlib

    ops = hc.require(HARNESS, "PIL.ImageOps", "install Pillow")
    page = pil.open(image_path)
    try:
        page = ops.exif_transpose(page)
    except Exception:  # load_image falls back to the image as opened
        page = pil.open(image_path)
    page = page.convert("RGB")
    if code["code_dir"] not in sys.path:
        sys.path.insert(0, code["code_dir"])
    config = importlib.import_module("config")
    processor = getattr(importlib.import_module(pre["module"]), pre["class"])
    if config.PROMPT != pre["prompt"] or config.CROP_MODE != pre["kwargs"]["cropping"]:
        raise hc.HarnessError(f"{pre['config']}: PROMPT or CROP_MODE changed when imported; run again",
                              hc.EXIT_USAGE)
    return getattr(processor(), pre["method"])(images=[page], **pre["kwargs"])


def run(p):
    prov = hc.provenance(p["llm_kwargs"]["seed"])
    pre = p["repo_preprocess"]
    if pre:
        os.environ.update(pre["env"])  # before vllm is imported, as the repository's scripts do (plan() checked)
    vllm = hc.require(HARNESS, "vllm", "install vllm (and vllm-ascend on an Atlas host); see tools/bench/README.md")
    image = None
    if p["image"] and not pre:
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
        if pre:
            # Made once and sent with every request (the pages are the same); outside the timed region, as the
            # scripts preprocess before generate().
            image = repo_features(pre, p["repo"], hc.require(HARNESS, "PIL.Image", "install Pillow"), p["image"])
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
        input=p["input"],  # "image": a PIL image; "repository-features": the repository's processor output
        repo_preprocess=pre,
        provenance=prov,
        machine=hc.machine(),
        versions=hc.versions("vllm", "vllm_ascend", "torch", "torch_npu", "transformers"),
    )


def main(argv=None):
    return hc.main(HARNESS, build_parser, plan, run, argv)


if __name__ == "__main__":
    sys.exit(main())
