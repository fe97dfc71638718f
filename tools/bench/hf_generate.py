#!/usr/bin/env python3
"""transformers generate() baseline, one JSON line on stdout (same shape as vllm_throughput.py).

    python3 hf_generate.py --model /models/Qwen2.5-7B-Instruct --batch 8 --output-len 256 --device npu
    python3 hf_generate.py --model /models/DeepSeek-OCR-2 --image page.png --trust-remote-code --custom-infer

    python3 hf_generate.py --model /models/DeepSeek-OCR-2 --pages DIR --custom-infer --repo ~/src/DeepSeek-OCR-2

generate() runs greedy with min_new_tokens = max_new_tokens = --output-len, so every sequence has
the serving run's fixed length, and the output tokens are the generated ids (the sequences minus
the prompt), never a re-tokenized text. --custom-infer calls the model's own infer()
(DeepSeek-OCR-2's remote code); the model's generate() is wrapped so that infer()'s own call gets
the same length and its ids are counted. --repo loads the model's code from a repository checkout
(the "faithful" stack: the repository's own modeling files) instead of the weights directory's copy,
and records the checkout's commit. torch, torch_npu and transformers are imported only when running.
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness_common as hc  # noqa: E402

HARNESS = "transformers"

# DeepSeek-OCR-2's infer() arguments as its README / DeepSeek-OCR2-hf/run_dpsk_ocr2.py call it
# (deepseek-ai/DeepSeek-OCR-2 @ 2f3699eb), with save_results off; eval_mode=True asks the remote code
# to return the text instead of only printing it. infer() itself lives on the HF Hub, so only the
# keywords its signature accepts are passed.
OCR2_INFER_KWARGS = {"base_size": 1024, "image_size": 768, "crop_mode": True, "save_results": False, "eval_mode": True}

DTYPES = {"bfloat16": "bfloat16", "float16": "float16", "float32": "float32"}

# The stacks a result is labelled with: "faithful" is the repository's own code (--repo), "native" the
# vllm-ascend route (vllm_serve_bench.py, vllm_throughput.py), "transformers" the weights directory's
# remote code or transformers' own classes.
STACK_FAITHFUL, STACK_TRANSFORMERS = "faithful", "transformers"

# Which auto_map entry of the weights' config.json names the class each mode loads.
AUTO_CLASS = {"custom-infer": "AutoModel", "generate": "AutoModelForCausalLM"}


def ngram_size(text):
    if text == "keep":
        return None
    return hc.non_negative_int(text)


def build_parser():
    p = hc.Parser(HARNESS, description="transformers generate() baseline (one JSON line on stdout).")
    hc.add_model_and_prompts(p)
    p.add_argument("--image", help="image file (processor input, or image_file= for --custom-infer)")
    p.add_argument("--pages", help="directory of page images, read as vllm_serve_bench.py reads it: sorted by name, "
                                   "the first --warmup-pages warm up, each timed request gets the next timed page")
    p.add_argument("--warmup-pages", type=hc.non_negative_int, default=2,
                   help="with --pages: pages used only to warm up (default 2, as vllm_serve_bench.py)")
    p.add_argument("--transfer-to-npu", default="auto", choices=["auto", "on", "off"],
                   help="import torch_npu.contrib.transfer_to_npu before loading the model, so remote code that "
                        "calls .cuda() runs on the NPU (auto: on for --custom-infer on the NPU)")
    p.add_argument("--batch", type=hc.positive_int, default=1, help="prompts per generate() call; default 1")
    p.add_argument("--num-prompts", type=hc.positive_int, help="prompts in the measured run (default: --batch)")
    p.add_argument("--output-len", type=hc.positive_int, default=256, help="new tokens per sequence; default 256")
    p.add_argument("--dtype", default="bfloat16", choices=sorted(DTYPES))
    p.add_argument("--device", default="npu", choices=["npu", "cuda", "cpu"], help="npu imports torch_npu")
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--attn-implementation", default="eager", choices=["eager", "sdpa"],
                   help="eager (default) or sdpa (what the port uses); flash_attention_2 does not exist on the NPU")
    p.add_argument("--no-repeat-ngram-size", type=ngram_size, default=None, metavar="N|keep",
                   help="n-gram blocking of every generate() call: N (0 turns it off, as a route without an n-gram "
                        "logits processor) overrides what the model's code passes; keep (default) leaves it")
    p.add_argument("--repo", help="a checkout of the model's repository: load the model class from its modeling "
                                  "files (the faithful stack) instead of the weights directory's copy")
    p.add_argument("--code-dir", help="with --repo: the directory of the modeling files, relative to the checkout "
                                      "(default: where the one file named by the weights' config.json auto_map is)")
    p.add_argument("--model-class", help="with --repo: MODULE.CLASS to load (default: the weights' config.json auto_map"
                                         " entry for AutoModel, or AutoModelForCausalLM without --custom-infer)")
    p.add_argument("--custom-infer", action="store_true",
                   help="call model.infer(tokenizer, prompt=, image_file=, ...) (DeepSeek-OCR-2 remote code)")
    p.add_argument("--warmup", type=hc.non_negative_int, default=1)
    p.add_argument("--dump", help="write the generated token ids to .npy or .safetensors for `kcat compare`")
    p.add_argument("--dry-run", action="store_true", help="validate the arguments and print the plan as JSON")
    return p


def class_spec(args, mode):
    """MODULE.CLASS to load from the checkout: --model-class, or the weights' config.json auto_map entry
    (transformers' remote-code convention: {"AutoModel": "modeling_x.XForCausalLM"}, a value may be
    "other/repo--modeling_x.X" or a list whose first item is the class)."""
    spec = args.model_class
    if not spec:
        cfg = os.path.join(args.model, "config.json")
        try:
            with open(cfg, encoding="utf-8") as f:
                auto = json.load(f).get("auto_map") or {}
        except (OSError, ValueError, AttributeError) as e:
            raise hc.HarnessError(f"--repo: cannot read the auto_map of {cfg} ({e}); name the class with "
                                  "--model-class MODULE.CLASS", hc.EXIT_USAGE)
        spec = auto.get(AUTO_CLASS[mode])
        if isinstance(spec, list):
            spec = spec[0] if spec else None
        if not isinstance(spec, str):
            raise hc.HarnessError(f"--repo: {cfg} has no auto_map entry for {AUTO_CLASS[mode]} (it has "
                                  f"{sorted(auto) or 'none'}); name the class with --model-class MODULE.CLASS",
                                  hc.EXIT_USAGE)
    return hc.split_class(spec)


def plan(args):
    hc.check_model(args.model)
    hc.check_file(args.image, "image")
    hc.check_dump(args.dump)
    if args.image and args.pages:
        raise hc.HarnessError("--image and --pages both name the input: use one", hc.EXIT_USAGE)
    if not args.repo and (args.code_dir or args.model_class):
        raise hc.HarnessError("--code-dir and --model-class choose the code of --repo: add --repo CHECKOUT",
                              hc.EXIT_USAGE)
    warm, timed = hc.split_pages(args.pages, args.warmup_pages) if args.pages else ([], [])
    if args.custom_infer:
        if not args.image and not args.pages:
            raise hc.HarnessError("--custom-infer needs --image or --pages (infer() reads image_file)", hc.EXIT_USAGE)
        if args.batch != 1:
            raise hc.HarnessError("--custom-infer runs one image at a time: use --batch 1 and --num-prompts N",
                                  hc.EXIT_USAGE)
    mode = "custom-infer" if args.custom_infer else "generate"
    code = hc.repo_code(args.repo, *class_spec(args, mode), args.code_dir) if args.repo else None
    if args.prompts:
        prompts, source = hc.load_prompts(args.prompts), args.prompts
    elif args.image or args.pages:
        prompts, source = [hc.OCR2_PROMPT], "built-in (DeepSeek-OCR-2 document prompt)"
    else:
        prompts, source = hc.DEFAULT_PROMPTS, "built-in"
    num = args.num_prompts or (len(timed) if timed and args.batch == 1 else args.batch)
    # torch_npu.contrib.transfer_to_npu patches torch.Tensor.cuda / nn.Module.cuda to their NPU
    # versions at import (Ascend/pytorch torch_npu/contrib/transfer_to_npu.py L501, L506-507, _init()
    # at L569; /work/shared/knowledge/ascend-facts.md section 1): DeepSeek-OCR-2's remote infer()
    # calls .cuda() itself, so on the NPU it needs the patch; so does a checkout whose code calls it.
    needs = args.custom_infer or bool(code and code["calls_cuda"])
    transfer = args.transfer_to_npu == "on" or (args.transfer_to_npu == "auto" and needs and args.device == "npu")
    if transfer and args.device != "npu":
        raise hc.HarnessError("--transfer-to-npu on needs --device npu", hc.EXIT_USAGE)
    # The length and n-gram settings of every generate() call, infer()'s own included (run_custom_infer
    # wraps model.generate). transformers' GenerationConfig: max_new_tokens / min_new_tokens are "the
    # maximum / minimum numbers of tokens to generate, ignoring the number of tokens in the prompt", so
    # both at --output-len is the counterpart of vLLM's max_tokens with ignore_eos; no_repeat_ngram_size
    # "defaults to 0 ... If set to int > 0, all ngrams of that size can only occur once"
    # (huggingface/transformers@008f5c8c29be84d4721dc6d1e0fcd72300580be4:
    # src/transformers/generation/configuration_utils.py, the GenerationConfig docstring).
    gen = {"max_new_tokens": args.output_len, "min_new_tokens": args.output_len}
    if not args.custom_infer:
        gen["do_sample"] = False  # infer() passes its own sampling (temperature=0.0)
    if args.no_repeat_ngram_size is not None:
        gen["no_repeat_ngram_size"] = args.no_repeat_ngram_size
    return {
        "harness": HARNESS,
        "dry_run": True,
        "stack": STACK_FAITHFUL if code else STACK_TRANSFORMERS,
        "repo": code,
        "model": args.model,
        "device": args.device,
        "dtype": args.dtype,
        "batch": args.batch,
        "num_prompts": num,
        "output_len": args.output_len,
        "warmup": args.warmup,
        "image": args.image,
        "pages": {"warmup": warm, "timed": timed} if args.pages else None,
        "images": hc.take(timed, num) if timed else None,
        "transfer_to_npu": transfer,
        "prompt_source": source,
        "prompts": hc.take(prompts, num),
        "dump": args.dump,
        "mode": mode,
        "from_pretrained": {"trust_remote_code": args.trust_remote_code,
                            "attn_implementation": args.attn_implementation},
        "generate": gen,
        "infer": dict(OCR2_INFER_KWARGS) if args.custom_infer else None,
    }


def import_stack(device, transfer_to_npu=False):
    torch = hc.require(HARNESS, "torch", "install torch (on Ascend: the CPU build plus torch_npu)")
    if device == "npu":
        hc.require(HARNESS, "torch_npu", "install torch_npu matching torch and CANN (kcat env --help)")
    if transfer_to_npu:
        hc.require(HARNESS, "torch_npu.contrib.transfer_to_npu", "install torch_npu (it ships transfer_to_npu)")
    transformers = hc.require(HARNESS, "transformers", "install transformers")
    return torch, transformers


def synchronize(torch, device):
    if device == "npu":
        torch.npu.synchronize()
    elif device == "cuda":
        torch.cuda.synchronize()


class GenerateRecorder:
    """Stands in for model.generate on the instance, so the model's own infer() (which calls
    self.generate) generates --output-len tokens with the plan's n-gram setting, and keeps the ids it
    generated: each returned sequence minus its prompt (generate() returns the prompt and the new tokens;
    given only inputs_embeds it returns the new tokens alone)."""

    def __init__(self, generate, settings):
        self.generate, self.settings, self.ids, self.seen = generate, settings, [], []

    def __call__(self, *args, **kw):
        kw.pop("max_length", None)
        kw.pop("min_length", None)
        self.seen.append({k: v for k, v in kw.items() if isinstance(v, (int, float, str, bool)) or v is None})
        kw.update(self.settings)
        prompt = args[0] if args else kw.get("input_ids", kw.get("inputs"))
        out = self.generate(*args, **kw)
        seqs = getattr(out, "sequences", out)
        start = prompt.shape[-1] if prompt is not None and hasattr(prompt, "shape") else 0
        self.ids.extend(seqs[:, start:].tolist())
        return out


def run_custom_infer(p, torch, transformers):
    import inspect

    tok = transformers.AutoTokenizer.from_pretrained(p["model"], trust_remote_code=True)
    cls = hc.repo_class(p["repo"]) if p["repo"] else transformers.AutoModel
    model = cls.from_pretrained(
        p["model"], trust_remote_code=True, use_safetensors=True,
        _attn_implementation=p["from_pretrained"]["attn_implementation"])
    model = model.eval().to(p["device"]).to(getattr(torch, p["dtype"]))
    params = inspect.signature(model.infer).parameters
    takes_any = any(v.kind == inspect.Parameter.VAR_KEYWORD for v in params.values())
    kwargs = {k: v for k, v in p["infer"].items() if takes_any or k in params}
    outdir = tempfile.mkdtemp(prefix="kcat-infer-")
    recorder = GenerateRecorder(model.generate, p["generate"])
    model.generate = recorder

    def once(prompt, image):
        with torch.no_grad():
            return model.infer(tok, prompt=prompt, image_file=image, output_path=outdir, **kwargs)

    warm = (p["pages"] or {}).get("warmup") or [p["image"] or (p["images"] or [None])[0]]
    for i in range(p["warmup"]):
        once(p["prompts"][0], warm[i % len(warm)])
    synchronize(torch, p["device"])
    images = p["images"] or [p["image"]] * len(p["prompts"])
    recorder.ids, recorder.seen = [], []
    start = time.perf_counter()
    for prompt, image in zip(p["prompts"], images):
        once(prompt, image)
    synchronize(torch, p["device"])
    elapsed = time.perf_counter() - start
    if len(recorder.ids) != len(images):
        raise hc.HarnessError(f"model.infer() called generate() {len(recorder.seen)} time(s) for {len(images)} "
                              "request(s), not once each; cannot count its output tokens")
    return recorder.ids, elapsed, {"infer_generate_kwargs": recorder.seen[0] if recorder.seen else None}, model


def run_generate(p, torch, transformers):
    dtype = getattr(torch, p["dtype"])
    fp = p["from_pretrained"]
    images = None
    if p["image"] or p["images"]:
        pil = hc.require(HARNESS, "PIL.Image", "install Pillow")
        paths = p["images"] or [p["image"]] * len(p["prompts"])
        images = [pil.open(x).convert("RGB") for x in paths]
        proc = transformers.AutoProcessor.from_pretrained(p["model"], trust_remote_code=fp["trust_remote_code"])
        tok = getattr(proc, "tokenizer", proc)
        cls = getattr(transformers, "AutoModelForImageTextToText", None) or transformers.AutoModelForVision2Seq
    else:
        proc = tok = transformers.AutoTokenizer.from_pretrained(p["model"], trust_remote_code=fp["trust_remote_code"])
        cls = transformers.AutoModelForCausalLM
    if p["repo"]:
        cls = hc.repo_class(p["repo"])
    tok.padding_side = "left"  # decoder-only batches pad on the left
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = cls.from_pretrained(p["model"], torch_dtype=dtype, trust_remote_code=fp["trust_remote_code"],
                                attn_implementation=fp["attn_implementation"]).to(p["device"]).eval()
    gen = dict(p["generate"], pad_token_id=tok.pad_token_id)

    def batches():
        for i in range(0, len(p["prompts"]), p["batch"]):
            chunk = p["prompts"][i: i + p["batch"]]
            if images is not None:
                enc = proc(text=chunk, images=images[i: i + p["batch"]], return_tensors="pt", padding=True)
            else:
                enc = proc(chunk, return_tensors="pt", padding=True)
            yield enc.to(p["device"])

    with torch.no_grad():
        for _ in range(p["warmup"]):
            model.generate(**next(batches()), **gen)
        synchronize(torch, p["device"])
        ids = []
        start = time.perf_counter()
        for enc in batches():
            out = model.generate(**enc, **gen)
            ids.extend(out[:, enc["input_ids"].shape[1]:].tolist())
        synchronize(torch, p["device"])
        elapsed = time.perf_counter() - start
    return ids, elapsed, {}, model


def resolved(model, extra, settings):
    """What the loaded model says it ran with: the attention implementation transformers resolved, the
    parameters' dtype and the n-gram size its generation config holds, beside what was asked for."""
    config = getattr(model, "config", None)
    gen_config = getattr(model, "generation_config", None)
    ngram = settings.get("no_repeat_ngram_size",
                         (extra.get("infer_generate_kwargs") or {}).get("no_repeat_ngram_size",
                                                                        getattr(gen_config, "no_repeat_ngram_size",
                                                                                None)))
    dtype = getattr(model, "dtype", None)
    return {"attn_implementation_resolved": getattr(config, "_attn_implementation", None),
            "dtype_resolved": None if dtype is None else str(dtype).replace("torch.", ""),
            "no_repeat_ngram_size": ngram}


def run(p):
    prov = hc.provenance(None)
    torch, transformers = import_stack(p["device"], p["transfer_to_npu"])
    with hc.stdout_to_stderr():
        if p["mode"] == "custom-infer":
            ids, elapsed, extra, model = run_custom_infer(p, torch, transformers)
        else:
            ids, elapsed, extra, model = run_generate(p, torch, transformers)
    if p["dump"]:
        hc.dump_token_ids(p["dump"], ids)
    lens = [len(t) for t in ids]
    notes = []
    if any(n != p["output_len"] for n in lens):
        notes.append(f"not every request generated --output-len {p['output_len']} tokens (lengths "
                     f"{sorted(set(lens))}): the model's generate() did not honour min_new_tokens; output_len is "
                     "null, so ratios.py will not compare this result")
    code = p["repo"]
    return hc.throughput(
        HARNESS, p["model"], ids, elapsed,
        stack=p["stack"],
        repo=hc.repo_summary(code),
        repo_commit=code["commit"] if code else None,
        batch=p["batch"],
        output_len=None if notes else p["output_len"],
        mode=p["mode"],
        attn_implementation=p["from_pretrained"]["attn_implementation"],
        dtype=p["dtype"],
        **resolved(model, extra, p["generate"]),
        generate=p["generate"],
        **extra,
        device=p["device"],
        transfer_to_npu=p["transfer_to_npu"],
        output_lens=lens,
        tokens_counted_by="generate()'s ids (the sequences minus the prompt)",
        notes=notes,
        image=hc.file_digest(p["image"]),
        pages=[hc.file_digest(x) for x in p["images"]] if p["images"] else None,
        machine=hc.machine(),
        provenance=prov,
        versions=hc.versions("transformers", "torch", "torch_npu"),
    )


def main(argv=None):
    return hc.main(HARNESS, build_parser, plan, run, argv)


if __name__ == "__main__":
    sys.exit(main())
