"""Tests of the benchmark harnesses that need no torch, vllm or transformers:
    python3 -m unittest discover -s tools/bench -p 'test_*.py'
"""

import importlib.util
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness_common as hc  # noqa: E402

VLLM = os.path.join(HERE, "vllm_throughput.py")
HF = os.path.join(HERE, "hf_generate.py")
OCR2 = os.path.join(HERE, "ocr2-bench.sh")


def run(script, *args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, env=e, timeout=60)


def json_lines(stdout):
    lines = [line for line in stdout.splitlines() if line.strip()]
    return lines, [json.loads(line) for line in lines]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def installed(module):
    return importlib.util.find_spec(module) is not None


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name
        self.model = os.path.join(self.dir, "model")
        os.mkdir(self.model)
        self.image = self.write("page.png", b"\x89PNG\r\n\x1a\n")

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        return path


class Usage(TempDirCase):
    def assert_usage(self, script, args, needle):
        r = run(script, *args)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(needle, r.stderr)
        lines, objs = json_lines(r.stdout)
        self.assertEqual(len(lines), 1, r.stdout)
        self.assertIn(needle, objs[0]["error"])
        self.assertEqual(objs[0]["exit_code"], 2)

    def test_model_is_required(self):
        self.assert_usage(VLLM, ["--dry-run"], "--model")
        self.assert_usage(HF, ["--dry-run"], "--model")

    def test_numbers_are_checked(self):
        self.assert_usage(VLLM, ["--model", self.model, "--batch", "0", "--dry-run"], "must be at least 1")
        self.assert_usage(VLLM, ["--model", self.model, "--output-len", "many", "--dry-run"], "whole number")
        self.assert_usage(VLLM, ["--model", self.model, "--warmup", "-1", "--dry-run"], "0 or more")
        self.assert_usage(HF, ["--model", self.model, "--output-len", "0", "--dry-run"], "must be at least 1")

    def test_choices_and_json(self):
        self.assert_usage(VLLM, ["--model", self.model, "--device", "tpu", "--dry-run"], "invalid choice")
        self.assert_usage(HF, ["--model", self.model, "--attn-implementation", "flash_attention_2", "--dry-run"],
                          "invalid choice")
        self.assert_usage(VLLM, ["--model", self.model, "--hf-overrides", "{oops", "--dry-run"], "not valid JSON")
        self.assert_usage(VLLM, ["--model", self.model, "--hf-overrides", "[1]", "--dry-run"], "JSON object")

    def test_files_are_checked(self):
        self.assert_usage(VLLM, ["--model", os.path.join(self.dir, "nope"), "--dry-run"], "does not exist")
        self.assert_usage(VLLM, ["--model", self.model, "--image", os.path.join(self.dir, "x.png"), "--dry-run"],
                          "does not exist")
        self.assert_usage(HF, ["--model", self.model, "--prompts", os.path.join(self.dir, "p.txt"), "--dry-run"],
                          "cannot read the prompts file")
        self.assert_usage(VLLM, ["--model", self.model, "--dump", "out.bin", "--dry-run"], ".npy or .safetensors")

    def test_combinations(self):
        self.assert_usage(VLLM, ["--model", self.model, "--image", self.image, "--input-len", "8", "--dry-run"],
                          "--input-len")
        self.assert_usage(HF, ["--model", self.model, "--custom-infer", "--dry-run"], "needs --image")
        self.assert_usage(HF, ["--model", self.model, "--custom-infer", "--image", self.image, "--batch", "2",
                               "--dry-run"], "--batch 1")


class DryRun(TempDirCase):
    def plan(self, script, *args):
        r = run(script, *args, "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines, objs = json_lines(r.stdout)
        self.assertEqual(len(lines), 1, r.stdout)
        return objs[0]

    def test_vllm_plan(self):
        p = self.plan(VLLM, "--model", self.model, "--batch", "4", "--num-prompts", "10", "--output-len", "64",
                      "--tensor-parallel-size", "2", "--max-model-len", "4096", "--dtype", "bfloat16",
                      "--trust-remote-code", "--hf-overrides", '{"architectures": ["DeepseekOCR2ForCausalLM"]}',
                      "--enforce-eager", "--dump", "o.npy")
        self.assertEqual(p["harness"], "vllm")
        self.assertTrue(p["dry_run"])
        self.assertEqual(p["num_prompts"], 10)
        self.assertEqual(len(p["prompts"]), 10)
        self.assertEqual(p["prompts"][8], hc.DEFAULT_PROMPTS[0])  # cycled
        self.assertEqual(p["sampling"], {"temperature": 0.0, "max_tokens": 64, "ignore_eos": True})
        kw = p["llm_kwargs"]
        self.assertEqual(kw["max_num_seqs"], 4)
        self.assertEqual(kw["tensor_parallel_size"], 2)
        self.assertEqual(kw["max_model_len"], 4096)
        self.assertEqual(kw["hf_overrides"], {"architectures": ["DeepseekOCR2ForCausalLM"]})
        self.assertTrue(kw["trust_remote_code"] and kw["enforce_eager"])
        self.assertEqual(p["device"], "npu")

    def test_vllm_image_uses_the_ocr_prompt(self):
        p = self.plan(VLLM, "--model", self.model, "--image", self.image, "--batch", "2")
        self.assertEqual(p["prompts"], [hc.OCR2_PROMPT] * 2)
        self.assertEqual(p["image"], self.image)

    def test_hf_plan(self):
        p = self.plan(HF, "--model", self.model, "--batch", "2", "--output-len", "32", "--device", "cpu",
                      "--attn-implementation", "sdpa")
        self.assertEqual(p["harness"], "transformers")
        self.assertEqual(p["mode"], "generate")
        self.assertEqual(p["generate"], {"max_new_tokens": 32, "min_new_tokens": 32, "do_sample": False})
        self.assertEqual(p["from_pretrained"]["attn_implementation"], "sdpa")
        self.assertEqual(p["device"], "cpu")
        self.assertEqual(len(p["prompts"]), 2)

    def test_hf_custom_infer_plan(self):
        p = self.plan(HF, "--model", self.model, "--image", self.image, "--custom-infer", "--trust-remote-code")
        self.assertEqual(p["mode"], "custom-infer")
        self.assertEqual(p["prompts"], ["<image>\n<|grounding|>Convert the document to markdown. "])
        self.assertEqual(p["infer"], {"base_size": 1024, "image_size": 768, "crop_mode": True,
                                      "save_results": False, "eval_mode": True})
        self.assertIsNone(p["output_len"])
        self.assertEqual(p["from_pretrained"]["attn_implementation"], "eager")

    def test_hub_ids_are_not_checked_as_paths(self):
        p = self.plan(VLLM, "--model", "deepseek-ai/DeepSeek-OCR-2")
        self.assertEqual(p["model"], "deepseek-ai/DeepSeek-OCR-2")


class Prompts(TempDirCase):
    def test_lines(self):
        path = self.write("p.txt", "\ufefffirst prompt\r\n\r\nsecond, with a comma\n   \nthird\n")
        self.assertEqual(hc.load_prompts(path), ["first prompt", "second, with a comma", "third"])

    def test_json_list(self):
        path = self.write("p.json", json.dumps(["a\nmultiline prompt", {"prompt": "b"}]))
        self.assertEqual(hc.load_prompts(path), ["a\nmultiline prompt", "b"])

    def test_bad_json_and_empty(self):
        with self.assertRaises(hc.HarnessError) as e:
            hc.load_prompts(self.write("bad.json", '["a", '))
        self.assertIn("not valid JSON", str(e.exception))
        with self.assertRaises(hc.HarnessError):
            hc.load_prompts(self.write("num.json", "[1, 2]"))
        with self.assertRaises(hc.HarnessError) as e:
            hc.load_prompts(self.write("empty.txt", "\n \n"))
        self.assertIn("no prompts", str(e.exception))

    def test_prompt_file_reaches_the_plan(self):
        path = self.write("p.txt", "one\ntwo\nthree\n")
        r = run(HF, "--model", self.model, "--prompts", path, "--num-prompts", "4", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["prompts"], ["one", "two", "three", "one"])


class ResultLine(unittest.TestCase):
    def test_emit_is_one_parseable_line(self):
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            hc.emit({"harness": "vllm", "text": "multi\nline", "output_tokens_per_s": 864.5})
        out = buf.getvalue()
        self.assertEqual(out.count("\n"), 1)
        self.assertEqual(json.loads(out)["output_tokens_per_s"], 864.5)

    def test_rate(self):
        self.assertEqual(hc.rate(1000, 2.0), 500.0)
        self.assertIsNone(hc.rate(1, 0))


class MissingPackages(TempDirCase):
    @unittest.skipIf(installed("vllm"), "vllm is installed here")
    def test_vllm_missing_is_a_clean_json_error(self):
        r = run(VLLM, "--model", self.model, "--batch", "1")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.returncode, 3)
        lines, objs = json_lines(r.stdout)
        self.assertEqual(len(lines), 1, r.stdout)
        self.assertIn("vllm", objs[0]["error"])
        self.assertEqual(objs[0]["missing"], "vllm")
        self.assertNotIn("Traceback", r.stderr)

    @unittest.skipIf(installed("torch"), "torch is installed here")
    def test_torch_missing_is_a_clean_json_error(self):
        r = run(HF, "--model", self.model, "--device", "cpu")
        self.assertEqual(r.returncode, 3)
        _, objs = json_lines(r.stdout)
        self.assertEqual(objs[0]["missing"], "torch")
        self.assertIn("torch", objs[0]["error"])
        self.assertNotIn("Traceback", r.stderr)


class Dumps(TempDirCase):
    def test_npy_layout(self):
        path = os.path.join(self.dir, "ids.npy")
        hc.dump_token_ids(path, [[1, 2, 3], [4]])
        data = read_bytes(path)
        self.assertEqual(data[:8], b"\x93NUMPY\x01\x00")
        hlen = struct.unpack("<H", data[8:10])[0]
        self.assertEqual((10 + hlen) % 64, 0)
        header = data[10:10 + hlen].decode()
        self.assertIn("'descr': '<i8'", header)
        self.assertIn("'shape': (2, 3)", header)
        self.assertEqual(struct.unpack("<6q", data[10 + hlen:]), (1, 2, 3, 4, -1, -1))

    def test_safetensors_layout(self):
        path = os.path.join(self.dir, "ids.safetensors")
        hc.dump_token_ids(path, [[7, 8]])
        data = read_bytes(path)
        n = struct.unpack("<Q", data[:8])[0]
        meta = json.loads(data[8:8 + n])
        self.assertEqual(meta["token_ids"], {"dtype": "I64", "shape": [1, 2], "data_offsets": [0, 16]})
        self.assertEqual(struct.unpack("<2q", data[8 + n:]), (7, 8))


class Ocr2Script(TempDirCase):
    def sh(self, *args, env=None):
        e = dict(os.environ, **(env or {}))
        return subprocess.run(["bash", OCR2, *args], capture_output=True, text=True, env=e, timeout=60)

    def test_help(self):
        r = self.sh("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("MODEL_DIR IMAGE", r.stdout)
        self.assertIn("--runs", r.stdout)

    def test_usage_errors(self):
        r = self.sh(self.model)
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected MODEL_DIR and IMAGE", r.stderr)
        r = self.sh(self.model, self.image, "--runs", "x")
        self.assertEqual(r.returncode, 2)
        r = self.sh(self.model, os.path.join(self.dir, "none.png"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("does not exist", r.stderr)

    def test_dry_run_builds_the_kcat_command(self):
        r = self.sh(self.model, self.image, "--runs", "4", "--dry-run", env={"KCAT": "/opt/kcat"})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertTrue(out.startswith("/opt/kcat bench "), out)
        for needle in ("--metric-json output_tokens_per_s", "--runs 4", "vllm_throughput.py", "hf_generate.py",
                       "--custom-infer", "--baseline"):
            self.assertIn(needle, out)

    def test_missing_kcat(self):
        r = self.sh(self.model, self.image, env={"KCAT": os.path.join(self.dir, "no-kcat")})
        self.assertEqual(r.returncode, 3)
        self.assertIn("not found", r.stderr)



# A stand-in vllm package: records the engine arguments, generates fixed tokens, and reports the
# platform it was given (STANDIN_DEVICE), so the run path is tested without vLLM or an NPU.
STANDIN_VLLM = '''
import json, os

class _Out:
    def __init__(self, n):
        self.token_ids = list(range(n))

class _Result:
    def __init__(self, n):
        self.outputs = [_Out(n)]
        self.prompt_token_ids = [1, 2, 3]

class SamplingParams:
    def __init__(self, **kw):
        self.kw = kw

class LLM:
    def __init__(self, **kw):
        with open(os.environ["STANDIN_RECORD"], "w") as f:
            json.dump(kw, f)

    def get_tokenizer(self):
        raise AssertionError("not used")

    def generate(self, requests, sampling, use_tqdm=False):
        return [_Result(sampling.kw["max_tokens"]) for _ in requests]
'''
STANDIN_PLATFORMS = '''
import os

class _Platform:
    device_type = os.environ.get("STANDIN_DEVICE", "cpu")

current_platform = _Platform()
'''


class StandInVllm(TempDirCase):
    def setUp(self):
        super().setUp()
        pkg = os.path.join(self.dir, "site", "vllm")
        os.makedirs(os.path.join(pkg, "platforms"))
        with open(os.path.join(pkg, "__init__.py"), "w") as f:
            f.write(STANDIN_VLLM)
        with open(os.path.join(pkg, "platforms", "__init__.py"), "w") as f:
            f.write(STANDIN_PLATFORMS)
        self.record = os.path.join(self.dir, "engine.json")
        if not installed("PIL"):  # a stand-in Pillow: open(path).convert("RGB")
            os.makedirs(os.path.join(self.dir, "site", "PIL"))
            with open(os.path.join(self.dir, "site", "PIL", "__init__.py"), "w") as f:
                f.write("")
            with open(os.path.join(self.dir, "site", "PIL", "Image.py"), "w") as f:
                f.write("class _Image:\n    def convert(self, mode):\n        return self\n\n\n"
                        "def open(path):\n    return _Image()\n")

    def result(self, *args, env=None):
        e = {"PYTHONPATH": os.path.join(self.dir, "site"), "STANDIN_RECORD": self.record,
             "VLLM_ASCEND_ENABLE_NZ": "0", "VLLM_API_KEY": "do-not-record"}
        e.update(env or {})
        r = run(VLLM, "--model", self.model, *args, env=e)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        lines, objs = json_lines(r.stdout)
        self.assertEqual(len(lines), 1, r.stdout)
        with open(self.record) as f:
            return objs[0], json.load(f), r.stderr

    def test_caches_are_off_unless_asked(self):
        out, engine, _ = self.result("--image", self.image, "--batch", "2", "--output-len", "4")
        self.assertIs(engine["enable_prefix_caching"], False)
        self.assertEqual(engine["mm_processor_cache_gb"], 0)
        self.assertEqual(out["engine"], engine)  # the resolved engine arguments are in the result
        out, engine, _ = self.result("--image", self.image, "--enable-prefix-caching", "--mm-processor-cache-gb", "4")
        self.assertIs(engine["enable_prefix_caching"], True)
        self.assertEqual(engine["mm_processor_cache_gb"], 4)
        _, engine, _ = self.result("--batch", "1")  # text only: no multimodal argument at all
        self.assertNotIn("mm_processor_cache_gb", engine)

    def test_the_device_is_the_one_vllm_ran_on(self):
        out, _, err = self.result("--batch", "1", "--output-len", "3", env={"STANDIN_DEVICE": "cpu"})
        self.assertEqual(out["device"], "cpu")  # not the default --device npu
        self.assertEqual(out["device_requested"], "npu")
        self.assertIn("vLLM ran on cpu", err)
        out, _, err = self.result("--batch", "1", env={"STANDIN_DEVICE": "npu"})
        self.assertEqual(out["device"], "npu")
        self.assertNotIn("warning", err)

    def test_provenance_is_recorded(self):
        out, _, _ = self.result("--image", self.image, "--batch", "2", "--output-len", "5", "--seed", "7")
        prov = out["provenance"]
        self.assertIn("vllm_throughput.py", prov["command"])
        self.assertIn("--seed 7", prov["command"])
        self.assertEqual(prov["seed"], 7)
        self.assertRegex(prov["started_utc"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
        self.assertEqual(prov["env"]["VLLM_ASCEND_ENABLE_NZ"], "0")
        self.assertNotIn("VLLM_API_KEY", prov["env"])  # a secret is never recorded
        self.assertIn("python", prov)
        self.assertEqual(out["image"]["bytes"], 8)
        self.assertEqual(len(out["image"]["sha256"]), 64)
        self.assertEqual(out["sampling"], {"temperature": 0.0, "max_tokens": 5, "ignore_eos": True})
        self.assertEqual(out["output_tokens"], 10)
        self.assertIn("vllm", out["versions"])

    def test_a_negative_cache_size_is_a_usage_error(self):
        r = run(VLLM, "--model", self.model, "--image", self.image, "--mm-processor-cache-gb", "-1", "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--mm-processor-cache-gb", json_lines(r.stdout)[1][0]["error"])


if __name__ == "__main__":
    unittest.main()
