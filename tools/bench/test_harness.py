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
import unittest.mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness_common as hc  # noqa: E402

VLLM = os.path.join(HERE, "vllm_throughput.py")
HF = os.path.join(HERE, "hf_generate.py")
OCR2 = os.path.join(HERE, "ocr2-bench.sh")
SERVE = os.path.join(HERE, "vllm_serve_bench.py")
TESTDATA = os.path.join(HERE, "testdata")
RATIOS = os.path.join(HERE, "ratios.py")


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
        self.assertEqual(p["output_len"], 256)  # the serving run's length, forced on infer()'s generate()
        self.assertEqual(p["generate"], {"max_new_tokens": 256, "min_new_tokens": 256})
        self.assertEqual(p["stack"], "transformers")
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


class Ocr2Case(TempDirCase):
    def sh(self, *args, env=None):
        e = dict(os.environ, **(env or {}))
        return subprocess.run(["bash", OCR2, *args], capture_output=True, text=True, env=e, timeout=120)


class Ocr2Script(Ocr2Case):

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
        r = self.sh("--offline", self.model, self.image, "--runs", "4", "--dry-run", env={"KCAT": "/opt/kcat"})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout
        self.assertTrue(out.startswith("/opt/kcat bench "), out)
        for needle in ("--metric-json output_tokens_per_s", "--runs 4", "vllm_throughput.py", "hf_generate.py",
                       "--custom-infer", "--baseline", "--output-len\\ 256", "--no-repeat-ngram-size\\ 0"):
            self.assertIn(needle, out)

    def test_missing_kcat(self):
        r = self.sh("--offline", self.model, self.image, env={"KCAT": os.path.join(self.dir, "no-kcat")})
        self.assertEqual(r.returncode, 3)
        self.assertIn("not found", r.stderr)



class Ocr2Serving(Ocr2Case):
    """ocr2-bench.sh's default: the serving benchmark, the baseline on the same pages, the ratios."""

    def setUp(self):
        super().setUp()
        self.pages = os.path.join(self.dir, "pages")
        os.mkdir(self.pages)
        for i in range(4):
            with open(os.path.join(self.pages, f"page{i}.png"), "wb") as f:
                f.write(b"\x89PNG page %d" % i)

    def commands(self, *args):
        import shlex

        r = self.sh(self.model, self.pages, "--result-dir", os.path.join(self.dir, "out"), "--dry-run", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3, r.stdout)
        return [shlex.split(line) for line in lines]

    def test_serving_is_the_default(self):
        serve, base, ratios = self.commands()
        self.assertIn(os.path.join(HERE, "vllm_serve_bench.py"), serve)
        self.assertEqual(serve[serve.index("--pages") + 1], self.pages)
        self.assertEqual(serve[serve.index("--output-len") + 1], "256")
        self.assertEqual(serve[serve.index("--concurrency") + 1], "1,8,32,64")
        self.assertEqual(serve[-2:], [">", os.path.join(self.dir, "out", "serve.json")])
        self.assertIn("VLLM_ASCEND_ENABLE_NZ=0", serve)
        self.assertIn(os.path.join(HERE, "hf_generate.py"), base)
        for flag, value in (("--pages", self.pages), ("--output-len", "256"), ("--no-repeat-ngram-size", "0"),
                            ("--attn-implementation", "sdpa"), ("--dtype", "bfloat16"), ("--warmup-pages", "2")):
            self.assertEqual(base[base.index(flag) + 1], value, flag)
        self.assertIn("--custom-infer", base)
        self.assertNotIn("--repo", base)
        self.assertEqual(serve[serve.index("--client") + 1], "vllm")
        self.assertEqual(self.commands("--client", "aisbench")[0][serve.index("--client") + 1], "aisbench")
        self.assertEqual(ratios[1:], [os.path.join(HERE, "ratios.py"), os.path.join(self.dir, "out", "serve.json"),
                                      os.path.join(self.dir, "out", "base.json")])
        _, base, _ = self.commands("--repo", self.dir, "--ngram", "keep", "--output-len", "64")
        self.assertEqual(base[base.index("--repo") + 1], self.dir)
        self.assertEqual(base[base.index("--no-repeat-ngram-size") + 1], "keep")
        self.assertEqual(base[base.index("--output-len") + 1], "64")

    def test_the_default_serve_command_is_the_routes(self):
        import shlex
        import tomllib

        with open(os.path.join(HERE, "..", "..", "patches", "routes", "deepseek-ocr2.toml"), "rb") as f:
            route = next(r for r in tomllib.load(f)["route"] if r["id"] == "ocr2-native-vllm-ascend")
        serve = self.commands()[0]
        want = shlex.split(route["run"])
        want[want.index("deepseek-ai/DeepSeek-OCR-2")] = self.model
        self.assertEqual(shlex.split(serve[serve.index("--serve") + 1]), want)

    def test_a_file_is_not_a_page_set(self):
        r = self.sh(self.model, self.image)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--offline", r.stderr)
        r = self.sh(self.model, self.pages, "--ngram", "x", "--dry-run")
        self.assertEqual(r.returncode, 2)

    def test_end_to_end_against_stand_ins(self):
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        with open(os.path.join(TESTDATA, "standin_vllm.py")) as f:
            code = f.read()
        with open(os.path.join(bindir, "vllm"), "w") as f:
            f.write(f"#!{sys.executable}\n" + code)
        os.chmod(os.path.join(bindir, "vllm"), 0o755)
        site = os.path.join(self.dir, "site")
        write_tree(site, STANDIN_BASELINE)
        out = os.path.join(self.dir, "out")
        serve = TUTORIAL_SERVE.format(model=self.model, port=free_port())
        r = self.sh(self.model, self.pages, "--result-dir", out, "--serve", serve, "--concurrency", "1,2",
                    "--prompts-per-concurrency", "4", "--output-len", "16",
                    env={"PATH": bindir + os.pathsep + os.environ["PATH"], "PYTHONPATH": site,
                         "STANDIN_LOG": os.path.join(self.dir, "standin.log"),
                         "STANDIN_RECORD": os.path.join(self.dir, "record.jsonl"), "PYTHON": sys.executable})
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        result = json.loads(r.stdout)
        self.assertEqual(result["after"]["stack"], "native")
        self.assertEqual(result["before"]["stack"], "transformers")
        self.assertIsNotNone(result["same_concurrency"]["ratio"])
        self.assertIsNotNone(result["throughput_at_concurrency"]["ratio"])
        with open(os.path.join(out, "base.json")) as f:
            base = json.loads(f.read())
        self.assertEqual(base["output_lens"], [16, 16])  # the 2 timed pages, the serving length
        self.assertEqual(base["no_repeat_ngram_size"], 0)
        for name in ("serve.json", "ratios.json"):
            self.assertTrue(os.path.isfile(os.path.join(out, name)), name)

    def test_a_failed_step_stops_with_its_result_line(self):
        out = os.path.join(self.dir, "out")
        r = self.sh(self.model, self.pages, "--result-dir", out, "--serve", "python3 -m not.vllm",
                    env={"PYTHON": sys.executable})
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("the serve step failed", r.stderr)
        self.assertIn("vllm serve MODEL", json.loads(r.stdout)["error"])
        self.assertFalse(os.path.exists(os.path.join(out, "base.json")))


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

class ModelRegistry:
    @staticmethod
    def register_model(name, cls):
        with open(os.environ["STANDIN_RECORD"] + ".registry", "a") as f:
            f.write(json.dumps({"name": name, "class": cls.__name__, "module": cls.__module__,
                                "where": getattr(cls, "WHERE", None)}) + "\\n")

class LLM:
    def __init__(self, **kw):
        with open(os.environ["STANDIN_RECORD"], "w") as f:
            json.dump(kw, f)

    def get_tokenizer(self):
        raise AssertionError("not used")

    def generate(self, requests, sampling, use_tqdm=False):
        with open(os.environ["STANDIN_RECORD"] + ".requests", "w") as f:
            json.dump({"VLLM_USE_V1": _V1_AT_IMPORT, "requests": requests}, f, default=lambda o: type(o).__name__)
        return [_Result(sampling.kw["max_tokens"]) for _ in requests]


_V1_AT_IMPORT = os.environ.get("VLLM_USE_V1")
'''
STANDIN_PLATFORMS = '''
import os

class _Platform:
    device_type = os.environ.get("STANDIN_DEVICE", "cpu")

current_platform = _Platform()
'''


class StandInVllmCase(TempDirCase):
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


class StandInVllm(StandInVllmCase):
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

    def test_the_result_names_its_stack(self):
        out, _, _ = self.result("--batch", "1", "--output-len", "2")
        self.assertEqual(out["stack"], "native")  # the installed vLLM's own model class

    def test_the_repositorys_own_model_class_is_registered(self):
        repo = os.path.join(self.dir, "checkout")
        write_tree(repo, {"DeepSeek-OCR2-vllm/deepseek_ocr2.py": "from deepencoderv2.sam import WHERE\n\n\n"
                                                                 "class DeepseekOCR2ForCausalLM:\n    WHERE = WHERE\n",
                          "DeepSeek-OCR2-vllm/deepencoderv2/__init__.py": "",
                          "DeepSeek-OCR2-vllm/deepencoderv2/sam.py": "WHERE = 'checkout'\n"})
        subprocess.run(["git", "init", "-q", repo], check=True)
        subprocess.run(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false",
                        "commit", "-qm", "x", "--allow-empty"], check=True)
        out, engine, _ = self.result("--batch", "1", "--output-len", "2", "--repo", repo, "--model-class",
                                     "deepseek_ocr2.DeepseekOCR2ForCausalLM", "--hf-overrides",
                                     '{"architectures": ["DeepseekOCR2ForCausalLM"]}')
        with open(self.record + ".registry") as f:
            reg = [json.loads(line) for line in f]
        self.assertEqual(reg, [{"name": "DeepseekOCR2ForCausalLM", "class": "DeepseekOCR2ForCausalLM",
                                "module": "kcat_repo_code.deepseek_ocr2", "where": "checkout"}])
        self.assertEqual(out["stack"], "faithful")
        self.assertEqual(len(out["repo_commit"]), 40)
        self.assertTrue(out["repo"]["dirty"] is False)  # the files are untracked: not an edit of tracked files
        self.assertEqual(engine["hf_overrides"], {"architectures": ["DeepseekOCR2ForCausalLM"]})
        r = run(VLLM, "--model", self.model, "--repo", repo, "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--model-class", json.loads(r.stdout)["error"])
        r = run(VLLM, "--model", self.model, "--register-as", "X", "--dry-run")
        self.assertEqual(r.returncode, 2)

    def test_a_negative_cache_size_is_a_usage_error(self):
        r = run(VLLM, "--model", self.model, "--image", self.image, "--mm-processor-cache-gb", "-1", "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--mm-processor-cache-gb", json_lines(r.stdout)[1][0]["error"])


# A stand-in of deepseek-ai/DeepSeek-OCR-2's DeepSeek-OCR2-vllm directory: its run scripts' imports and the
# signature of DeepseekOCR2Processor.tokenize_with_images (process/image_process.py), which, like the real one,
# builds its ids from config.PROMPT; CROP_MODE is False here so that a default cannot pass for the config's value.
OCR2_CHECKOUT = {
    "DeepSeek-OCR2-vllm/deepseek_ocr2.py": "from process.image_process import DeepseekOCR2Processor\n\n\n"
                                           "class DeepseekOCR2ForCausalLM:\n    pass\n",
    "DeepSeek-OCR2-vllm/config.py": "CROP_MODE = False\nPROMPT = '<image>\\nFree OCR.'\n",
    "DeepSeek-OCR2-vllm/process/__init__.py": "",
    "DeepSeek-OCR2-vllm/process/image_process.py":
        "from config import PROMPT\n\n\nclass DeepseekOCR2Processor:\n"
        "    def tokenize_with_images(self, images, bos=True, eos=True, cropping=True):\n"
        "        return [['features', PROMPT, len(images), type(images[0]).__name__, bos, eos, cropping]]\n",
}


class RepositoryFeatures(StandInVllmCase):
    """--repo-preprocess: the repository's own processor output is what every request carries."""

    def setUp(self):
        super().setUp()
        self.repo = os.path.join(self.dir, "checkout")
        write_tree(self.repo, OCR2_CHECKOUT)
        if installed("PIL"):
            from PIL import Image

            Image.new("RGB", (4, 4)).save(self.image, "PNG")
        else:
            with open(os.path.join(self.dir, "site", "PIL", "ImageOps.py"), "w") as f:
                f.write("def exif_transpose(image):\n    return image\n")
        env = dict(os.environ)
        env.pop("VLLM_USE_V1", None)
        patcher = unittest.mock.patch.dict(os.environ, env, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)

    def args(self, *extra):
        return ("--image", self.image, "--batch", "2", "--output-len", "3", "--repo", self.repo, "--model-class",
                "deepseek_ocr2.DeepseekOCR2ForCausalLM", *extra)

    def requests(self):
        with open(self.record + ".requests") as f:
            return json.load(f)

    def test_the_repositorys_features_are_sent(self):
        out, _, _ = self.result(*self.args("--repo-preprocess"))
        sent = self.requests()
        self.assertEqual(sent["VLLM_USE_V1"], "0")  # set before vllm was imported, as the scripts do
        features = ["features", "<image>\nFree OCR.", 1, "Image" if installed("PIL") else "_Image", True, True,
                    False]
        self.assertEqual(sent["requests"], [{"prompt": "<image>\nFree OCR.", "multi_modal_data": {"image": [
            features]}}] * 2)
        self.assertEqual(out["input"], "repository-features")
        self.assertEqual(out["repo_preprocess"]["kwargs"], {"bos": True, "eos": True, "cropping": False})
        self.assertEqual(out["stack"], "faithful")
        out, _, _ = self.result(*self.args())  # without the flag: the PIL image, as before
        self.assertEqual(out["input"], "image")
        self.assertIsNone(out["repo_preprocess"])
        self.assertEqual(self.requests()["requests"][0]["multi_modal_data"]["image"],
                         "Image" if installed("PIL") else "_Image")

    def test_the_dry_run_shows_the_call(self):
        r = run(VLLM, "--model", self.model, *self.args("--repo-preprocess", "--dry-run"))
        self.assertEqual(r.returncode, 0, r.stdout)
        plan = json.loads(r.stdout)
        self.assertEqual(plan["input"], "repository-features")
        self.assertEqual(plan["prompts"], ["<image>\nFree OCR."] * 2)
        self.assertEqual(plan["repo_preprocess"]["module"], "process.image_process")
        self.assertEqual(plan["repo_preprocess"]["env"], {"VLLM_USE_V1": "0"})
        self.assertIn("MODEL_PATH = None", r.stderr)  # the tokenizer the processor loads is not --model's

    def test_another_vllm_use_v1_is_a_clear_error(self):
        r = run(VLLM, "--model", self.model, *self.args("--repo-preprocess"), env={
            "PYTHONPATH": os.path.join(self.dir, "site"), "STANDIN_RECORD": self.record, "VLLM_USE_V1": "1"})
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("VLLM_USE_V1=1", json.loads(r.stdout)["error"])
        self.assertIn("VLLM_USE_V1=0", json.loads(r.stdout)["error"])
        self.assertFalse(os.path.exists(self.record))  # refused before any engine was built

    def test_what_cannot_be_determined_is_refused(self):
        def error(*extra):
            r = run(VLLM, "--model", self.model, *extra, "--dry-run")
            self.assertEqual(r.returncode, 2, r.stdout)
            return json.loads(r.stdout)["error"]

        self.assertIn("--image", error(*self.args("--repo-preprocess")[2:]))
        self.assertIn("--repo", error("--image", self.image, "--repo-preprocess"))
        prompts = self.write("p.txt", "<image>\nhello\n")
        self.assertIn("config.PROMPT", error(*self.args("--repo-preprocess", "--prompts", prompts)))
        write_tree(self.repo, {"DeepSeek-OCR2-vllm/config.py":
                               "import os\nCROP_MODE = False\nPROMPT = os.environ['P']\n"})
        self.assertIn("literal PROMPT", error(*self.args("--repo-preprocess")))
        write_tree(self.repo, {"DeepSeek-OCR2-vllm/config.py": "CROP_MODE = True\nPROMPT = 'Free OCR.'\n"})
        self.assertIn("'<image>'", error(*self.args("--repo-preprocess")))
        write_tree(self.repo, {"DeepSeek-OCR2-vllm/config.py": OCR2_CHECKOUT["DeepSeek-OCR2-vllm/config.py"],
                               "DeepSeek-OCR2-vllm/process/image_process.py":
                                   "class DeepseekOCR2Processor:\n    def tokenize_with_images(self, images, prompt):\n"
                                   "        pass\n"})
        msg = error(*self.args("--repo-preprocess"))
        self.assertIn("takes (self, images, prompt)", msg)
        self.assertIn("not guessed", msg)


# The tutorial's serve command (vllm-ascend docs/source/tutorials/models/DeepSeekOCR2.md section 5.1), with
# the model path and port of the test.
TUTORIAL_SERVE = ("vllm serve {model} --served-model-name deepseekocr2 --trust-remote-code --tensor-parallel-size 1 "
                  "--port {port} --max_model_len 8192 --no-enable-prefix-caching --gpu-memory-utilization 0.8 "
                  "--allowed-local-media-path / --additional-config '{{\"enable_cpu_binding\": true, "
                  "\"multistream_overlap_shared_expert\": true, \"ascend_compilation_config\": "
                  "{{\"fuse_qknorm_rope\": false}}}}' --mm-processor-cache-gb 0")


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeCase(TempDirCase):
    def setUp(self):
        super().setUp()
        self.pages = os.path.join(self.dir, "pages")
        os.mkdir(self.pages)
        for i in range(5):  # distinct content, so distinct hashes
            with open(os.path.join(self.pages, f"page{i}.png"), "wb") as f:
                f.write(b"\x89PNG page %d" % i)
        with open(os.path.join(self.pages, "notes.txt"), "w") as f:
            f.write("not a page")
        self.port = free_port()
        self.serve = TUTORIAL_SERVE.format(model=self.model, port=self.port)
        self.out = os.path.join(self.dir, "out")

    def args(self, *extra, serve=None):
        return ["--serve", serve or self.serve, "--pages", self.pages, "--result-dir", self.out, *extra]


class ServePlan(ServeCase):
    def plan(self, *extra, serve=None):
        r = run(SERVE, *self.args(*extra, serve=serve), "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        return json.loads(r.stdout)

    def test_the_serve_command_is_run_verbatim(self):
        import shlex

        p = self.plan()
        self.assertEqual(p["serve"]["command"], shlex.split(self.serve))
        self.assertEqual(p["serve"]["port"], self.port)
        self.assertEqual(p["serve"]["served_model_name"], "deepseekocr2")
        self.assertTrue(p["serve"]["caches_off"])

    def test_the_client_command_per_concurrency(self):
        p = self.plan("--concurrency", "16,1,4", "--prompts-per-concurrency", "10", "--output-len", "256",
                      "--seed", "3")
        self.assertEqual([r["concurrency"] for r in p["runs"]], [1, 4, 16])
        self.assertEqual([r["num_prompts"] for r in p["runs"]], [10, 40, 160])
        cmd = p["runs"][1]["command"]
        self.assertEqual(cmd[:3], ["vllm", "bench", "serve"])

        def value(flag):
            return cmd[cmd.index(flag) + 1]

        self.assertEqual(value("--backend"), "openai-chat")
        self.assertEqual(value("--endpoint"), "/v1/chat/completions")
        self.assertEqual(value("--port"), str(self.port))
        self.assertEqual(value("--model"), self.model)
        self.assertEqual(value("--served-model-name"), "deepseekocr2")
        self.assertEqual(value("--dataset-name"), "sharegpt")
        self.assertEqual(value("--dataset-path"), os.path.join(self.out, "pages-timed.json"))
        self.assertEqual(value("--sharegpt-output-len"), "256")
        self.assertEqual(value("--num-prompts"), "40")
        self.assertEqual(value("--max-concurrency"), "4")
        self.assertEqual(value("--temperature"), "0")
        self.assertEqual(value("--percentile-metrics"), "ttft,tpot,itl,e2el")
        self.assertEqual(value("--metric-percentiles"), "50,99")
        self.assertEqual(value("--seed"), "3")
        self.assertEqual(value("--result-filename"), "c4.json")
        for flag in ("--ignore-eos", "--save-result", "--save-detailed", "--trust-remote-code"):
            self.assertIn(flag, cmd)
        for flag in (f for f in cmd if f.startswith("--")):
            self.assertIn(flag, p["client_flags"])  # every flag passed is checked against --help first

    def test_warmup_pages_are_outside_the_timed_set(self):
        p = self.plan("--warmup-pages", "2")
        pages = sorted(os.path.join(self.pages, f"page{i}.png") for i in range(5))
        self.assertEqual(p["pages"]["warmup"], pages[:2])
        self.assertEqual(p["pages"]["timed"], pages[2:])  # notes.txt is not a page
        self.assertEqual(p["warmup"]["num_prompts"], 2)
        cmd = p["warmup"]["command"]
        self.assertEqual(cmd[cmd.index("--dataset-path") + 1], os.path.join(self.out, "pages-warmup.json"))
        self.assertEqual(cmd[cmd.index("--result-filename") + 1], "warmup.json")

    def test_repeated_pages_are_noted(self):
        p = self.plan("--concurrency", "1", "--prompts-per-concurrency", "4")
        self.assertEqual(len(p["notes"]), 1)  # 4 requests over 3 timed pages
        self.assertIn("pages repeat", p["notes"][0])
        p = self.plan("--concurrency", "1", "--prompts-per-concurrency", "4", "--warmup-pages", "0")
        self.assertEqual(p["notes"], [])  # 4 requests over 5 pages

    def assert_usage(self, args, needle):
        r = run(SERVE, *args, "--dry-run")
        self.assertEqual(r.returncode, 2, r.stderr + r.stdout)
        self.assertIn(needle, json_lines(r.stdout)[1][0]["error"])

    def test_caches_on_is_refused_unless_asked(self):
        on = self.serve.replace(" --no-enable-prefix-caching", "")
        self.assert_usage(self.args(serve=on), "--no-enable-prefix-caching")
        four = self.serve.replace("--mm-processor-cache-gb 0", "--mm-processor-cache-gb 4")
        self.assert_usage(self.args(serve=four), "--mm-processor-cache-gb 0")
        p = self.plan("--allow-caches", serve=four)
        self.assertFalse(p["serve"]["caches_off"])

    def test_bad_input_is_a_usage_error(self):
        self.assert_usage(self.args(serve="python3 -m vllm.entrypoints.api_server"), "vllm serve MODEL")
        self.assert_usage(self.args(serve="vllm serve 'unclosed"), "cannot split")
        self.assert_usage(["--serve", self.serve, "--pages", os.path.join(self.dir, "none")], "not a directory")
        self.assert_usage(self.args("--warmup-pages", "5"), "none to time")
        self.assert_usage(self.args("--concurrency", "0,8"), "at least 1")
        self.assert_usage(self.args("--concurrency", "a"), "comma-separated")
        self.assert_usage(self.args("--prompts-per-concurrency", "2"), "at least 4")
        self.assert_usage(self.args(serve=self.serve.replace(f"--port {self.port}", "--port x")), "not a number")

    def test_the_stack_label(self):
        self.assertEqual(self.plan()["stack"], "native")
        self.assertEqual(self.plan("--stack", "faithful")["stack"], "faithful")
        self.assert_usage(self.args("--stack", "cuda"), "invalid choice")

    def test_default_port_and_underscore_flags(self):
        p = self.plan(serve=f"vllm serve {self.model} --max_model_len=8192 --no-enable-prefix-caching "
                            "--mm-processor-cache-gb=0")
        self.assertEqual(p["serve"]["port"], 8000)  # vLLM's default
        self.assertIsNone(p["serve"]["served_model_name"])
        self.assertNotIn("--served-model-name", p["runs"][0]["command"])


class SavedResult(unittest.TestCase):
    def setUp(self):
        sys.path.insert(0, HERE)
        import vllm_serve_bench

        self.vsb = vllm_serve_bench

    def test_parse_the_real_format(self):
        row = self.vsb.parse_saved_result(os.path.join(TESTDATA, "vllm_bench_serve_result.json"))
        self.assertEqual(row["concurrency"], 8)
        self.assertEqual(row["num_prompts"], 64)
        self.assertEqual((row["completed"], row["failed"]), (63, 1))
        self.assertEqual(row["output_tokens_per_s"], 403.2)
        self.assertEqual(row["total_tokens_per_s"], 1978.2)
        self.assertEqual(row["duration_s"], 40.0)
        self.assertEqual((row["p50_ttft_ms"], row["p99_ttft_ms"]), (540.0, 900.0))
        self.assertEqual((row["p50_tpot_ms"], row["p99_tpot_ms"]), (19.5, 25.0))
        self.assertEqual((row["p50_e2el_ms"], row["p99_e2el_ms"]), (5640.0, 5800.0))
        self.assertEqual(row["first_error"], "HTTP 500: stand-in failure")
        self.assertNotIn("generated_texts", row)

    def test_a_bad_file_names_itself(self):
        bad = os.path.join(tempfile.mkdtemp(), "c1.json")
        for text, needle in (("{oops", "not JSON"), ("[1]", "not a JSON object"),
                             ('{"completed": 1, "duration": 1}', '"output_throughput"')):
            with open(bad, "w") as f:
                f.write(text)
            with self.assertRaises(hc.HarnessError) as e:
                self.vsb.parse_saved_result(bad)
            self.assertIn(bad, str(e.exception))
            self.assertIn(needle, str(e.exception))
        with self.assertRaises(hc.HarnessError) as e:
            self.vsb.parse_saved_result(bad + ".missing")
        self.assertIn("no result file", str(e.exception))

    def test_prefix_cache_hits_from_prometheus_text(self):
        text = ("# HELP vllm:prefix_cache_hits_total Prefix cache hits, in terms of number of cached tokens.\n"
                "# TYPE vllm:prefix_cache_hits_total counter\n"
                'vllm:prefix_cache_hits_total{engine="0",model_name="m"} 128.0\n'
                'vllm:prefix_cache_hits_total{engine="1",model_name="m"} 64.0\n'
                'vllm:prefix_cache_queries_total{engine="0",model_name="m"} 9999.0\n'
                'vllm:prefix_cache_hits_created{engine="0",model_name="m"} 1.7e9\n')
        self.assertEqual(self.vsb.prefix_cache_hits(text), 192)
        self.assertIsNone(self.vsb.prefix_cache_hits("vllm:num_requests_running 0\n"))


class Machine(TempDirCase):
    def test_cann_and_driver_versions_are_read_where_doctor_reads_them(self):
        home = os.path.join(self.dir, "Ascend")
        os.makedirs(os.path.join(home, "ascend-toolkit", "latest", "aarch64-linux"))
        os.makedirs(os.path.join(home, "driver"))
        with open(os.path.join(home, "ascend-toolkit", "latest", "aarch64-linux", "ascend_toolkit_install.info"),
                  "w") as f:
            f.write("package_name=Ascend-cann-toolkit\nversion=8.5.1\n")
        with open(os.path.join(home, "driver", "version.info"), "w") as f:
            f.write("Version=25.2.0\nascendhal_version=7.35.23\n")
        m = hc.machine(home)
        self.assertEqual((m["cann"], m["driver"]), ("8.5.1", "25.2.0"))

    def test_nothing_is_invented_where_there_is_no_ascend(self):
        m = hc.machine(os.path.join(self.dir, "none"))
        self.assertIsNone(m["cann"])
        self.assertIsNone(m["driver"])

    def test_npu_smi_output_is_recorded_when_present(self):
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        path = os.path.join(bindir, "npu-smi")
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho 'npu-smi 25.2.0  Version: 25.2.0'\n")
        os.chmod(path, 0o755)
        old = os.environ["PATH"]
        os.environ["PATH"] = bindir + os.pathsep + old
        try:
            m = hc.machine(os.path.join(self.dir, "none"))
        finally:
            os.environ["PATH"] = old
        self.assertIn("npu-smi 25.2.0", m["npu_smi"])


class ServeEndToEnd(ServeCase):
    """The harness against a stand-in `vllm` on PATH (testdata/standin_vllm.py): a real HTTP server on
    loopback and a client that sends the dataset's requests, as vLLM's would."""

    def setUp(self):
        super().setUp()
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        with open(os.path.join(TESTDATA, "standin_vllm.py")) as f:
            code = f.read()
        self.vllm = os.path.join(bindir, "vllm")
        with open(self.vllm, "w") as f:
            f.write(f"#!{sys.executable}\n" + code)
        os.chmod(self.vllm, 0o755)
        self.log = os.path.join(self.dir, "standin.log")
        self.env = {"PATH": bindir + os.pathsep + os.environ["PATH"], "STANDIN_LOG": self.log,
                    "VLLM_ASCEND_ENABLE_NZ": "0"}

    def bench(self, *extra, env=None, code=0):
        e = dict(self.env, **(env or {}))
        r = subprocess.run([sys.executable, SERVE, *self.args("--concurrency", "1,2", "--prompts-per-concurrency",
                                                              "4", "--output-len", "16", "--ready-timeout", "60",
                                                              *extra)],
                           capture_output=True, text=True, env=dict(os.environ, **e), timeout=120)
        self.assertEqual(r.returncode, code, r.stderr + r.stdout)
        lines, objs = json_lines(r.stdout)
        self.assertEqual(len(lines), 1, r.stdout)
        return objs[0]

    def logged(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def test_a_sweep_end_to_end(self):
        import shlex

        out = self.bench()
        self.assertEqual([r["concurrency"] for r in out["sweep"]], [1, 2])
        self.assertEqual([r["completed"] for r in out["sweep"]], [4, 8])
        self.assertEqual([r["total_output_tokens"] for r in out["sweep"]], [64, 128])  # 16 tokens each
        self.assertEqual(out["cached_tokens"], 0)
        self.assertEqual([r["cached_tokens"] for r in out["sweep"]], [0, 0])
        best = max(out["sweep"], key=lambda r: r["output_tokens_per_s"])
        self.assertEqual(out["output_tokens_per_s"], best["output_tokens_per_s"])
        self.assertEqual(out["at_concurrency"], best["concurrency"])
        self.assertEqual(out["output_tokens_per_s_at_concurrency_1"], out["sweep"][0]["output_tokens_per_s"])
        for row in out["sweep"]:
            self.assertIn("p99_ttft_ms", row)
            self.assertIn("p50_tpot_ms", row)
        logged = self.logged()
        serves = [x["argv"] for x in logged if "argv" in x and x["argv"][0] == "serve"]
        self.assertEqual(serves, [shlex.split(self.serve)[1:]])  # verbatim, once
        requests = [x["request"] for x in logged if "request" in x]
        self.assertEqual(len(requests), 2 + 4 + 8)  # warm-up, then the sweep
        urls = [m["image_url"]["url"] for req in requests for m in req["messages"][0]["content"]
                if m["type"] == "image_url"]
        warm = {"file://" + os.path.join(self.pages, f"page{i}.png") for i in range(2)}
        self.assertEqual(set(urls[:2]), warm)
        self.assertFalse(warm & set(urls[2:]))  # warm-up pages are never timed
        self.assertTrue(all(req["temperature"] == 0 and req["ignore_eos"] for req in requests))
        self.assertEqual(len(out["pages"]["timed"]), 3)
        self.assertEqual(len({p["sha256"] for p in out["pages"]["timed"]}), 3)
        self.assertEqual(out["serve_command"], shlex.join(shlex.split(self.serve)))
        self.assertTrue(any("with config:" in line for line in out["engine_config"]))
        self.assertEqual(out["provenance"]["env"]["VLLM_ASCEND_ENABLE_NZ"], "0")
        self.assertIn("machine", out)
        self.assertTrue(os.path.isfile(out["server_log"]))
        self.assertTrue(all(os.path.isfile(r["log"]) for r in out["sweep"]))
        self.assertIn("--save-detailed", out["sweep"][0]["command"])

    def test_cache_hits_are_reported(self):
        out = self.bench(env={"STANDIN_CACHE_HITS": "10"})
        self.assertEqual([r["cached_tokens"] for r in out["sweep"]], [40, 80])
        self.assertTrue(any("prefix-cache hits" in n for n in out["notes"]))

    def test_a_server_that_dies_is_an_error_with_its_log(self):
        out = self.bench(env={"STANDIN_SERVE_FAIL": "1"}, code=1)
        self.assertIn("exited with status 5", out["error"])
        self.assertIn("cannot load the model", out["error"])

    def test_a_client_without_a_flag_is_refused_before_the_server_starts(self):
        out = self.bench(env={"STANDIN_MISSING_FLAG": "--save-detailed"}, code=3)
        self.assertIn("--save-detailed", out["error"])
        self.assertFalse(any("argv" in x and x["argv"][0] == "serve" for x in self.logged()))


# The two AISBench configs vllm-ascend's CI runs with, reduced to the lines its rewrites touch and in their
# layout (AISBench/benchmark@29c363e3 ais_bench/benchmark/configs/models/vllm_api/vllm_api_stream_chat.py,
# configs/datasets/textvqa/textvqa_gen_base64.py).
AISBENCH_HOME = {
    "ais_bench/benchmark/configs/models/vllm_api/vllm_api_stream_chat.py": """models = [
    dict(
        attr="service",
        abbr="vllm-api-stream-chat",
        path="",
        model="",
        stream=True,
        request_rate=0,
        host_ip="localhost",
        host_port=8080,
        max_out_len=512,
        batch_size=1,
        trust_remote_code=False,
        generation_kwargs=dict(
            temperature=0.01,
            ignore_eos=False,
        ),
    )
]
""",
    "ais_bench/benchmark/configs/datasets/textvqa/textvqa_gen_base64.py": """textvqa_datasets = [
    dict(
        abbr='textvqa',
        path='ais_bench/datasets/textvqa/textvqa_json/textvqa_val.jsonl', # relative to the source root
        image_type="image_base64",
    )
]
""",
}


class AisbenchClient(ServeCase):
    """vllm_serve_bench.py --client aisbench against a stand-in `ais_bench` and the stand-in `vllm` server."""

    def setUp(self):
        super().setUp()
        self.home = os.path.join(self.dir, "benchmark")
        write_tree(self.home, AISBENCH_HOME)
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        for name, src in (("vllm", "standin_vllm.py"), ("ais_bench", "standin_ais_bench.py")):
            with open(os.path.join(TESTDATA, src)) as f:
                code = f.read()
            with open(os.path.join(bindir, name), "w") as f:
                f.write(f"#!{sys.executable}\n" + code)
            os.chmod(os.path.join(bindir, name), 0o755)
        self.log = os.path.join(self.dir, "standin.log")
        self.env = dict(os.environ, PATH=bindir + os.pathsep + os.environ["PATH"], STANDIN_LOG=self.log)

    def serve_bench(self, *extra, code=0, env=None):
        r = subprocess.run([sys.executable, SERVE, *self.args("--client", "aisbench", "--aisbench-home", self.home,
                                                              "--concurrency", "1,2", "--prompts-per-concurrency",
                                                              "4", "--output-len", "16", "--ready-timeout", "60",
                                                              *extra)],
                           capture_output=True, text=True, env=dict(self.env, **(env or {})), timeout=120)
        self.assertEqual(r.returncode, code, r.stderr + r.stdout)
        lines, objs = json_lines(r.stdout)
        self.assertEqual(len(lines), 1, r.stdout)
        return objs[0]

    def test_the_request_plan(self):
        p = self.serve_bench("--dry-run")
        self.assertEqual(p["client"], "aisbench")
        cmd = p["runs"][1]["command"]
        self.assertEqual(cmd[0], "ais_bench")

        def value(flag):
            return cmd[cmd.index(flag) + 1]

        self.assertEqual(value("--mode"), "perf")
        self.assertEqual(value("--num-prompts"), "8")
        self.assertEqual(value("--models"), "kcat_request_c2")
        self.assertEqual(value("--datasets"), "kcat_textvqa_timed")
        self.assertEqual(value("--config-dir"), os.path.join(self.out, "aisbench-configs"))
        self.assertIn("--debug", cmd)
        fields = p["runs"][1]["request_conf"]["fields"]
        self.assertEqual((fields["batch_size"], fields["max_out_len"], fields["ignore_eos"], fields["temperature"]),
                         (2, 16, True, 0))
        self.assertEqual(fields["host_port"], self.port)
        self.assertEqual(json.loads(fields["model"]), "deepseekocr2")
        self.assertEqual(p["warmup"]["num_prompts"], 2)
        self.assertEqual(p["warmup"]["command"][p["warmup"]["command"].index("--datasets") + 1], "kcat_textvqa_warmup")
        for flag in (f for f in cmd if f.startswith("--")):
            self.assertIn(flag, p["client_flags"])

    def test_an_aisbench_home_is_needed(self):
        r = run(SERVE, *self.args("--client", "aisbench", "--dry-run"), env={"BENCHMARK_HOME": ""})
        self.assertEqual(r.returncode, 2)
        self.assertIn("$BENCHMARK_HOME", json.loads(r.stdout)["error"])
        r = run(SERVE, *self.args("--client", "aisbench", "--aisbench-home", self.dir, "--dry-run"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("vllm_api_stream_chat.py", json.loads(r.stdout)["error"])

    def test_the_vllm_client_says_when_ais_bench_is_there(self):
        r = subprocess.run([sys.executable, SERVE, *self.args("--dry-run")], capture_output=True, text=True,
                           env=self.env, timeout=60)
        self.assertIn("--client aisbench", json.loads(r.stdout)["other_client"])
        r = subprocess.run([sys.executable, SERVE, *self.args("--dry-run", "--ais-bench", "no-such-ais-bench")],
                           capture_output=True, text=True, env=self.env, timeout=60)
        self.assertIsNone(json.loads(r.stdout)["other_client"])

    def test_a_sweep_parsed_into_the_result_schema(self):
        out = self.serve_bench()
        self.assertEqual(out["client"], "aisbench")
        self.assertEqual([r["concurrency"] for r in out["sweep"]], [1, 2])
        self.assertEqual([r["completed"] for r in out["sweep"]], [4, 8])
        self.assertEqual([r["total_output_tokens"] for r in out["sweep"]], [64, 128])
        row = out["sweep"][1]
        self.assertEqual((row["p50_ttft_ms"], row["p99_ttft_ms"], row["mean_ttft_ms"]), (108.0, 228.0, 120.0))
        self.assertEqual((row["p50_tpot_ms"], row["p99_tpot_ms"]), (10.8, 22.8))
        self.assertGreater(row["output_tokens_per_s"], 0)
        self.assertGreater(row["total_tokens_per_s"], row["output_tokens_per_s"])
        self.assertEqual(row["cached_tokens"], 0)
        self.assertEqual(out["output_tokens_per_s"], max(r["output_tokens_per_s"] for r in out["sweep"]))
        with open(self.log) as f:
            logged = [json.loads(line) for line in f]
        calls = [x for x in logged if "ais_bench" in x and "--help" not in x["ais_bench"]]
        self.assertEqual([c["conf"]["batch_size"] for c in calls], ["2", "1", "2"])  # warm-up at the top concurrency
        self.assertTrue(all(c["conf"]["ignore_eos"] == "True" and c["conf"]["temperature"] == "0" for c in calls))
        self.assertTrue(all(c["conf"]["max_out_len"] == "16" for c in calls))
        with open(calls[1]["dataset"]) as f:
            images = [json.loads(line)["image"] for line in f]
        self.assertEqual(images, sorted(os.path.join(self.pages, f"page{i}.png") for i in range(2, 5)))
        urls = [m["image_url"]["url"] for x in logged if "request" in x for m in x["request"]["messages"][0]["content"]
                if m["type"] == "image_url"]
        warm = {"file://" + os.path.join(self.pages, f"page{i}.png") for i in range(2)}
        self.assertEqual(set(urls[:2]), warm)
        self.assertFalse(warm & set(urls[2:]))

    def test_a_client_without_a_flag_or_a_failed_run_is_an_error(self):
        out = self.serve_bench(code=3, env={"STANDIN_AIS_MISSING_FLAG": "--config-dir"})
        self.assertIn("--config-dir", out["error"])
        out = self.serve_bench(code=1, env={"STANDIN_AIS_FAIL": "1"})
        self.assertIn("ais_bench exited with status 1", out["error"])
        self.assertIn("stand-in failure", out["error"])

    def test_no_result_is_an_error(self):
        import vllm_serve_bench

        with self.assertRaises(hc.HarnessError) as e:
            vllm_serve_bench.parse_aisbench_result(self.dir)
        self.assertIn("found none", str(e.exception))
        perf = os.path.join(self.dir, "w", "t", "performances", "m")
        os.makedirs(perf)
        with open(os.path.join(perf, "textvqa.json"), "w") as f:
            json.dump({"Benchmark Duration": {"total": "10.0 ms"}}, f)
        with self.assertRaises(hc.HarnessError) as e:
            vllm_serve_bench.parse_aisbench_result(os.path.join(self.dir, "w"))
        self.assertIn("Success Requests", str(e.exception))


# Stand-ins for the baseline's stack: torch (no_grad, bfloat16, npu.synchronize, a 2-D tensor with
# shape, [:, n:] and tolist), torch_npu with contrib.transfer_to_npu (its import is recorded), and
# transformers whose PreTrainedModel.generate() returns the prompt and the new tokens, honours
# min_new_tokens / max_new_tokens and stops "naturally" after 3 + len(image name) tokens otherwise, and
# whose AutoModel has DeepSeek-OCR-2's infer() shape: it calls self.generate() with its own max_new_tokens
# and no_repeat_ngram_size, as the remote code does, and records the image it was given.
STANDIN_BASELINE = {
    "torch/__init__.py": """import contextlib
bfloat16 = 'bf16'
float16 = 'fp16'
float32 = 'fp32'
class _Dev:
    def synchronize(self):
        pass
npu = _Dev()
cuda = _Dev()
def no_grad():
    return contextlib.nullcontext()
class Tensor:
    def __init__(self, rows):
        self.rows = [list(r) for r in rows]
        self.shape = (len(self.rows), len(self.rows[0]) if self.rows else 0)
    def __getitem__(self, key):
        rows, cols = key
        return Tensor([r[cols] for r in self.rows[rows]])
    def tolist(self):
        return [list(r) for r in self.rows]
def tensor(rows):
    return Tensor(rows)
""",
    "torch_npu/__init__.py": "",
    "torch_npu/contrib/__init__.py": "",
    "torch_npu/contrib/transfer_to_npu.py": "import json, os\nwith open(os.environ['STANDIN_RECORD'], 'a') as f:\n"
                                            "    f.write(json.dumps({'transfer_to_npu': True}) + '\\n')\n",
    "transformers/__init__.py": """import json, os
import torch

def _record(event):
    with open(os.environ['STANDIN_RECORD'], 'a') as f:
        f.write(json.dumps(event) + '\\n')

class _Tok:
    eos_token_id = 2
    def encode(self, text, add_special_tokens=False):
        return [1] * len(text.split())

class AutoTokenizer:
    @staticmethod
    def from_pretrained(path, **kw):
        return _Tok()

class PreTrainedModel:
    loaded_from = 'hub'
    natural = 5
    def eval(self):
        return self
    def to(self, *a):
        return self
    @classmethod
    def from_pretrained(cls, path, **kw):
        _record({'from_pretrained': cls.loaded_from, 'kwargs': sorted(kw)})
        return cls()
    def generate(self, input_ids, max_new_tokens=20, min_new_tokens=0, eos_token_id=None, **kw):
        _record({'generate': dict(kw, max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens)})
        n = max(min_new_tokens, min(self.natural, max_new_tokens))
        return torch.tensor([row + [7] * n for row in input_ids.rows])
    def infer(self, tok, prompt=None, image_file=None, output_path=None, base_size=1024, image_size=768,
              crop_mode=True, save_results=False, eval_mode=False):
        _record({'image_file': image_file})
        self.natural = 3 + len(os.path.basename(image_file))
        out = self.generate(torch.tensor([[0, 1, 2, 3]]), temperature=0.0, eos_token_id=tok.eos_token_id,
                            max_new_tokens=8192, no_repeat_ngram_size=35, use_cache=True)
        return 'word ' * (len(out.rows[0]) - 4)

class AutoModel:
    @staticmethod
    def from_pretrained(path, **kw):
        return PreTrainedModel.from_pretrained(path, **kw)
""",
}


def write_tree(root, files):
    for rel, code in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), "w") as f:
            f.write(code)


class BaselineCase(ServeCase):
    def plan(self, *args):
        r = run(HF, "--model", self.model, *args, "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        return json.loads(r.stdout)

    def standin(self, *args, code=0):
        site = os.path.join(self.dir, "site")
        write_tree(site, STANDIN_BASELINE)
        self.record = os.path.join(self.dir, "record.jsonl")
        if os.path.exists(self.record):
            os.remove(self.record)
        r = run(HF, "--model", self.model, *args, env={"PYTHONPATH": site, "STANDIN_RECORD": self.record})
        self.assertEqual(r.returncode, code, r.stderr + r.stdout)
        with open(self.record) as f:
            events = [json.loads(line) for line in f]
        lines, objs = json_lines(r.stdout)
        self.assertEqual(len(lines), 1, r.stdout)
        return objs[0], events


class Baseline(BaselineCase):
    def test_the_same_pages_as_the_serving_harness(self):
        p = self.plan("--pages", self.pages, "--custom-infer", "--trust-remote-code")
        pages = sorted(os.path.join(self.pages, f"page{i}.png") for i in range(5))
        self.assertEqual(p["pages"], {"warmup": pages[:2], "timed": pages[2:]})
        self.assertEqual(p["images"], pages[2:])  # one request per timed page
        self.assertEqual(p["num_prompts"], 3)
        r = run(SERVE, *self.args(), "--dry-run")
        self.assertEqual(json.loads(r.stdout)["pages"]["timed"], p["pages"]["timed"])

    def test_transfer_to_npu_where_the_remote_code_needs_it(self):
        self.assertTrue(self.plan("--pages", self.pages, "--custom-infer")["transfer_to_npu"])
        self.assertFalse(self.plan("--pages", self.pages, "--custom-infer", "--device", "cpu")["transfer_to_npu"])
        self.assertFalse(self.plan("--pages", self.pages, "--custom-infer", "--transfer-to-npu", "off")
                         ["transfer_to_npu"])
        self.assertFalse(self.plan()["transfer_to_npu"])  # generate() path: transformers' own code
        r = run(HF, "--model", self.model, "--transfer-to-npu", "on", "--device", "cpu", "--dry-run")
        self.assertEqual(r.returncode, 2)
        r = run(HF, "--model", self.model, "--image", self.image, "--pages", self.pages, "--dry-run")
        self.assertEqual(r.returncode, 2)
        self.assertIn("use one", r.stderr)

    def test_custom_infer_runs_every_timed_page_after_the_warmup_pages(self):
        out, events = self.standin("--pages", self.pages, "--custom-infer", "--trust-remote-code", "--warmup", "2",
                                   "--output-len", "16")
        self.assertEqual(events[0], {"transfer_to_npu": True})  # before the model loads
        self.assertEqual(events[1]["from_pretrained"], "hub")
        images = [e["image_file"] for e in events if "image_file" in e]
        pages = sorted(os.path.join(self.pages, f"page{i}.png") for i in range(5))
        self.assertEqual(images, pages)  # 2 warm-up pages, then the 3 timed ones
        self.assertTrue(out["transfer_to_npu"])
        self.assertEqual([p["path"] for p in out["pages"]], pages[2:])
        self.assertIn("hf_generate.py", out["provenance"]["command"])
        self.assertEqual(out["stack"], "transformers")
        self.assertIsNone(out["repo_commit"])

    def test_infer_generates_the_serving_length_and_its_ids_are_counted(self):
        # infer() asks for max_new_tokens=8192 and would stop after 12 tokens (page names are 9 characters);
        # the baseline forces 16, the serving run's length, and counts the ids generate() returned.
        out, events = self.standin("--pages", self.pages, "--custom-infer", "--output-len", "16", "--warmup", "0")
        calls = [e["generate"] for e in events if "generate" in e]
        self.assertEqual(len(calls), 3)
        for call in calls:
            self.assertEqual((call["max_new_tokens"], call["min_new_tokens"]), (16, 16))
            self.assertEqual(call["no_repeat_ngram_size"], 35)  # keep: the model code's own setting
        self.assertEqual(out["output_lens"], [16, 16, 16])
        self.assertEqual(out["output_tokens"], 48)
        self.assertEqual(out["output_len"], 16)
        self.assertEqual(out["no_repeat_ngram_size"], 35)
        self.assertEqual(out["infer_generate_kwargs"]["max_new_tokens"], 8192)  # what infer() asked for
        self.assertIn("sequences minus the prompt", out["tokens_counted_by"])
        self.assertEqual(out["notes"], [])

    def test_the_ngram_setting_is_settable_and_recorded(self):
        out, events = self.standin("--pages", self.pages, "--custom-infer", "--output-len", "8", "--warmup", "0",
                                   "--no-repeat-ngram-size", "0", "--attn-implementation", "sdpa")
        self.assertTrue(all(e["generate"]["no_repeat_ngram_size"] == 0 for e in events if "generate" in e))
        self.assertEqual(out["no_repeat_ngram_size"], 0)
        self.assertEqual(out["attn_implementation"], "sdpa")
        self.assertEqual(out["dtype"], "bfloat16")
        self.assertEqual(out["generate"], {"max_new_tokens": 8, "min_new_tokens": 8, "no_repeat_ngram_size": 0})
        r = run(HF, "--model", self.model, "--no-repeat-ngram-size", "-3", "--dry-run")
        self.assertEqual(r.returncode, 2)

    def test_a_generate_that_ignores_min_new_tokens_is_not_given_a_length(self):
        STANDIN_BASELINE["transformers/__init__.py"] = STANDIN_BASELINE["transformers/__init__.py"].replace(
            "n = max(min_new_tokens,", "n = max(0,")
        try:
            out, _ = self.standin("--pages", self.pages, "--custom-infer", "--output-len", "16", "--warmup", "0")
        finally:
            STANDIN_BASELINE["transformers/__init__.py"] = STANDIN_BASELINE["transformers/__init__.py"].replace(
                "n = max(0,", "n = max(min_new_tokens,")
        self.assertEqual(out["output_lens"], [12, 12, 12])  # the ids, not a text
        self.assertIsNone(out["output_len"])
        self.assertIn("min_new_tokens", out["notes"][0])


# A checkout of a model repository whose modeling file (in a subdirectory, with a relative import, as the
# weights' remote code has) defines the class the weights' config.json auto_map names.
STANDIN_REPO = {
    "DeepSeek-OCR2-hf/modeling_x.py": """import torch
import transformers
from .helper import WHERE

class XForCausalLM(transformers.PreTrainedModel):
    loaded_from = WHERE

    def to_device(self, t):
        return t.cuda()
""",
    "DeepSeek-OCR2-hf/helper.py": "WHERE = 'repo'\n",
    "README.md": "x\n",
}


class FaithfulStack(BaselineCase):
    """hf_generate.py --repo: the repository's own code, loaded from a checkout, labelled with its commit."""

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.model, "config.json"), "w") as f:
            json.dump({"auto_map": {"AutoModel": "modeling_x.XForCausalLM",
                                    "AutoModelForCausalLM": "modeling_x.XForCausalLM"}}, f)
        self.repo = os.path.join(self.dir, "checkout")
        write_tree(self.repo, STANDIN_REPO)
        git = ["git", "-C", self.repo, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
        subprocess.run(["git", "init", "-q", self.repo], check=True)
        subprocess.run(git + ["add", "."], check=True)
        subprocess.run(git + ["commit", "-qm", "x"], check=True)
        self.commit = subprocess.run(["git", "-C", self.repo, "rev-parse", "HEAD"], capture_output=True, text=True,
                                     check=True).stdout.strip()

    def test_the_model_class_comes_from_the_checkout(self):
        out, events = self.standin("--pages", self.pages, "--custom-infer", "--repo", self.repo, "--output-len", "4",
                                   "--warmup", "0")
        self.assertEqual(events[0], {"transfer_to_npu": True})  # the checkout's code calls .cuda()
        self.assertEqual(events[1]["from_pretrained"], "repo")  # not the weights' copy ("hub")
        self.assertEqual(out["stack"], "faithful")
        self.assertEqual(out["repo_commit"], self.commit)
        self.assertFalse(out["repo"]["dirty"])
        self.assertEqual(out["repo"]["code_dir"], os.path.join(self.repo, "DeepSeek-OCR2-hf"))
        self.assertEqual(sorted(f["path"] for f in out["repo"]["files"]),
                         ["DeepSeek-OCR2-hf/helper.py", "DeepSeek-OCR2-hf/modeling_x.py"])
        self.assertTrue(all(len(f["sha256"]) == 64 for f in out["repo"]["files"]))
        self.assertEqual(out["output_lens"], [4, 4, 4])

    def test_an_edit_in_the_checkout_is_what_runs(self):
        with open(os.path.join(self.repo, "DeepSeek-OCR2-hf", "helper.py"), "w") as f:
            f.write("WHERE = 'edited'\n")
        out, events = self.standin("--pages", self.pages, "--custom-infer", "--repo", self.repo, "--warmup", "0")
        self.assertEqual(events[1]["from_pretrained"], "edited")
        self.assertTrue(out["repo"]["dirty"])

    def test_the_plan_names_the_code(self):
        p = self.plan("--repo", self.repo, "--model-class", "modeling_x.XForCausalLM", "--code-dir",
                      "DeepSeek-OCR2-hf", "--device", "cpu")
        self.assertEqual((p["repo"]["module"], p["repo"]["class"], p["repo"]["commit"]),
                         ("modeling_x", "XForCausalLM", self.commit))
        self.assertEqual(p["stack"], "faithful")
        self.assertFalse(p["transfer_to_npu"])  # cpu

    def test_bad_repo_arguments_say_what_to_do(self):
        def usage(needle, *args):
            r = run(HF, "--model", self.model, *args, "--dry-run")
            self.assertEqual(r.returncode, 2, r.stdout)
            self.assertIn(needle, json_lines(r.stdout)[1][0]["error"])

        usage("not a directory", "--repo", os.path.join(self.dir, "none"))
        usage("add --repo", "--code-dir", "x")
        usage("no modeling_x.py", "--repo", self.repo, "--code-dir", ".")
        usage("MODULE.CLASS", "--repo", self.repo, "--model-class", "NoDot")
        write_tree(self.repo, {"copy/modeling_x.py": ""})
        usage("name the directory with --code-dir", "--repo", self.repo)
        os.remove(os.path.join(self.model, "config.json"))
        usage("--model-class", "--repo", self.repo)


class Ratios(TempDirCase):
    SERVING = {"harness": "vllm-serve", "stack": "native", "output_tokens_per_s": 800.0,
               "output_tokens_per_s_at_concurrency_1": 50.0, "at_concurrency": 32, "output_len": 256, "sweep": [],
               "pages": {"timed": [{"sha256": "a"}, {"sha256": "b"}, {"sha256": "a"}]}}
    BASELINE = {"harness": "transformers", "stack": "faithful", "repo_commit": "2f3699eb" + "0" * 32,
                "output_tokens_per_s": 25.0, "batch": 1, "output_len": 256,
                "pages": [{"sha256": "b"}, {"sha256": "a"}]}

    def test_two_labelled_ratios(self):
        r = hc.ratios(self.SERVING, self.BASELINE)
        self.assertEqual(r["same_concurrency"]["ratio"], 2.0)
        self.assertIn("concurrency 1", r["same_concurrency"]["label"])
        self.assertEqual(r["throughput_at_concurrency"]["ratio"], 32.0)
        self.assertIn("concurrency 32", r["throughput_at_concurrency"]["label"])
        self.assertEqual(r["caveats"], [])
        self.assertEqual((r["before"]["role"], r["before"]["stack"], r["before"]["repo_commit"]),
                         ("before", "faithful", self.BASELINE["repo_commit"]))
        self.assertEqual((r["after"]["role"], r["after"]["stack"]), ("after", "native"))
        self.assertIn("before: faithful@2f3699eb0000", r["same_concurrency"]["label"])
        self.assertIn("after: vLLM serving (native)", r["throughput_at_concurrency"]["label"])

    def test_unlike_runs_are_refused(self):
        for base, needle in ((dict(self.BASELINE, pages=[{"sha256": "c"}]), "different page sets"),
                             (dict(self.BASELINE, pages=None), "no pages"),
                             (dict(self.BASELINE, output_len=None), "output lengths differ"),
                             (dict(self.BASELINE, output_len=128), "after 256, before 128")):
            with self.assertRaises(hc.HarnessError) as e:
                hc.ratios(self.SERVING, base)
            self.assertIn(needle, str(e.exception))
            self.assertEqual(e.exception.code, 2)

    def test_what_still_differs_is_said(self):
        caveats = hc.ratios(self.SERVING, dict(self.BASELINE, batch=8, no_repeat_ngram_size=35))["caveats"]
        self.assertEqual(len(caveats), 2)
        self.assertIn("batch 8", caveats[0])
        self.assertIn("35-grams", caveats[1])
        self.assertIsNone(hc.ratios(dict(self.SERVING, output_tokens_per_s_at_concurrency_1=None),
                                    self.BASELINE)["same_concurrency"])
        with self.assertRaises(hc.HarnessError):
            hc.ratios(self.SERVING, {"output_tokens_per_s": 0})

    def test_before_and_after_of_one_harness(self):
        after = dict(self.BASELINE, repo_commit="b" * 40, output_tokens_per_s=30.0)
        r = hc.ratios(after, self.BASELINE)
        self.assertEqual(r["same_harness"]["ratio"], 1.2)
        self.assertIn(f"after: faithful@{'b' * 12} / before: faithful@2f3699eb0000", r["same_harness"]["label"])
        self.assertNotIn("same_concurrency", r)
        image = {"sha256": "d" * 64}
        one = dict(self.BASELINE, pages=None, image=image)
        self.assertEqual(hc.ratios(dict(one, output_tokens_per_s=50.0), one)["same_harness"]["ratio"], 2.0)
        with self.assertRaises(hc.HarnessError):
            hc.ratios(dict(one, image={"sha256": "e" * 64}), one)

    def test_the_script(self):
        s = self.write("serve.json", "log line\n" + json.dumps(self.SERVING) + "\n")
        b = self.write("base.json", json.dumps(self.BASELINE))
        r = run(RATIOS, s, b)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["throughput_at_concurrency"]["ratio"], 32.0)
        self.assertEqual((out["after"]["file"], out["before"]["file"]), (s, b))
        failed = self.write("failed.json", json.dumps({"harness": "transformers", "error": "OOM"}))
        r = run(RATIOS, s, failed)
        self.assertEqual(r.returncode, 2)
        self.assertIn("OOM", json.loads(r.stdout)["error"])
        r = run(RATIOS, s)
        self.assertEqual(r.returncode, 2)
        other = self.write("other.json", json.dumps(dict(self.BASELINE, pages=[{"sha256": "z"}])))
        r = run(RATIOS, s, other)
        self.assertEqual(r.returncode, 2)
        self.assertIn("different page sets", json.loads(r.stdout)["error"])


if __name__ == "__main__":
    unittest.main()
