#!/usr/bin/env python3
"""transformers generate() baseline, one JSON line on stdout (same shape as vllm_throughput.py).

    python3 hf_generate.py --model /models/Qwen2.5-7B-Instruct --batch 8 --output-len 256 --device npu
    python3 hf_generate.py --model /models/DeepSeek-OCR-2 --image page.png --trust-remote-code --custom-infer

generate() runs greedy with min_new_tokens = max_new_tokens = --output-len, so every sequence has
a fixed length. --custom-infer calls the model's own infer() (DeepSeek-OCR-2's remote code), which
stops where the model stops: its token count is what it produced. torch, torch_npu and
transformers are imported only when actually running.
"""

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
                   help="eager (default) or sdpa; flash_attention_2 does not exist on the NPU")
    p.add_argument("--custom-infer", action="store_true",
                   help="call model.infer(tokenizer, prompt=, image_file=, ...) (DeepSeek-OCR-2 remote code)")
    p.add_argument("--warmup", type=hc.non_negative_int, default=1)
    p.add_argument("--dump", help="write the generated token ids to .npy or .safetensors for `kcat compare`")
    p.add_argument("--dry-run", action="store_true", help="validate the arguments and print the plan as JSON")
    return p


def plan(args):
    hc.check_model(args.model)
    hc.check_file(args.image, "image")
    hc.check_dump(args.dump)
    if args.image and args.pages:
        raise hc.HarnessError("--image and --pages both name the input: use one", hc.EXIT_USAGE)
    warm, timed = hc.split_pages(args.pages, args.warmup_pages) if args.pages else ([], [])
    if args.custom_infer:
        if not args.image and not args.pages:
            raise hc.HarnessError("--custom-infer needs --image or --pages (infer() reads image_file)", hc.EXIT_USAGE)
        if args.batch != 1:
            raise hc.HarnessError("--custom-infer runs one image at a time: use --batch 1 and --num-prompts N",
                                  hc.EXIT_USAGE)
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
    # calls .cuda() itself, so on the NPU it needs the patch.
    transfer = args.transfer_to_npu == "on" or (args.transfer_to_npu == "auto" and args.custom_infer
                                                and args.device == "npu")
    if transfer and args.device != "npu":
        raise hc.HarnessError("--transfer-to-npu on needs --device npu", hc.EXIT_USAGE)
    return {
        "harness": HARNESS,
        "dry_run": True,
        "model": args.model,
        "device": args.device,
        "dtype": args.dtype,
        "batch": args.batch,
        "num_prompts": num,
        "output_len": None if args.custom_infer else args.output_len,
        "warmup": args.warmup,
        "image": args.image,
        "pages": {"warmup": warm, "timed": timed} if args.pages else None,
        "images": hc.take(timed, num) if timed else None,
        "transfer_to_npu": transfer,
        "prompt_source": source,
        "prompts": hc.take(prompts, num),
        "dump": args.dump,
        "mode": "custom-infer" if args.custom_infer else "generate",
        "from_pretrained": {"trust_remote_code": args.trust_remote_code,
                            "attn_implementation": args.attn_implementation},
        "generate": None if args.custom_infer else {"max_new_tokens": args.output_len,
                                                    "min_new_tokens": args.output_len, "do_sample": False},
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


def run_custom_infer(p, torch, transformers):
    import inspect

    tok = transformers.AutoTokenizer.from_pretrained(p["model"], trust_remote_code=True)
    model = transformers.AutoModel.from_pretrained(
        p["model"], trust_remote_code=True, use_safetensors=True,
        _attn_implementation=p["from_pretrained"]["attn_implementation"])
    model = model.eval().to(p["device"]).to(getattr(torch, p["dtype"]))
    params = inspect.signature(model.infer).parameters
    takes_any = any(v.kind == inspect.Parameter.VAR_KEYWORD for v in params.values())
    kwargs = {k: v for k, v in p["infer"].items() if takes_any or k in params}
    outdir = tempfile.mkdtemp(prefix="kcat-infer-")

    def once(prompt, image):
        with torch.no_grad():
            return model.infer(tok, prompt=prompt, image_file=image, output_path=outdir, **kwargs)

    warm = (p["pages"] or {}).get("warmup") or [p["image"] or (p["images"] or [None])[0]]
    for i in range(p["warmup"]):
        once(p["prompts"][0], warm[i % len(warm)])
    synchronize(torch, p["device"])
    images = p["images"] or [p["image"]] * len(p["prompts"])
    texts = []
    start = time.perf_counter()
    for prompt, image in zip(p["prompts"], images):
        texts.append(once(prompt, image))
    synchronize(torch, p["device"])
    elapsed = time.perf_counter() - start
    if not all(isinstance(t, str) for t in texts):
        raise hc.HarnessError("model.infer() returned no text (needs eval_mode=True support in the model's remote "
                              "code); cannot count output tokens")
    ids = [tok.encode(t, add_special_tokens=False) for t in texts]
    return ids, elapsed


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
    return ids, elapsed


def run(p):
    prov = hc.provenance(None)
    torch, transformers = import_stack(p["device"], p["transfer_to_npu"])
    with hc.stdout_to_stderr():
        if p["mode"] == "custom-infer":
            ids, elapsed = run_custom_infer(p, torch, transformers)
        else:
            ids, elapsed = run_generate(p, torch, transformers)
    if p["dump"]:
        hc.dump_token_ids(p["dump"], ids)
    return hc.throughput(
        HARNESS, p["model"], ids, elapsed,
        batch=p["batch"],
        output_len=p["output_len"],
        mode=p["mode"],
        attn_implementation=p["from_pretrained"]["attn_implementation"],
        dtype=p["dtype"],
        device=p["device"],
        transfer_to_npu=p["transfer_to_npu"],
        output_lens=[len(t) for t in ids],
        tokens_counted_by="re-tokenizing infer()'s text" if p["mode"] == "custom-infer" else "generate()'s ids",
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
