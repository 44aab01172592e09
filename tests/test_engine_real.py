"""A real engine end to end: llama.cpp's ``llama-server`` serves the default model's GGUF
(Q4_K_M, as shipped) on 127.0.0.1 and ``biasprobe run`` drives it through the OpenAI-compatible
backend on a few starter prompts; answers are stored with the server's provenance and scored.

Slow: builds ``llama-server`` once (about 7 minutes on 2 cores, cached under
``~/.cache/biasprobe/llama.cpp/``; see benchmarks/llama_server.py), then about a minute. Skips
only when cmake, ninja or a C++ compiler is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bench_helpers import load_benchmark

REFUSAL_MARKERS = ("sorry", "can't", "cannot", "unable", "not able", "无法", "抱歉", "不能")


def _llama_server() -> ModuleType:
    return load_benchmark("llama_server")


def test_isa_flags_never_native_and_follow_cpuinfo() -> None:
    ls = _llama_server()
    tag, flags = ls.isa_cmake_flags({"avx", "avx2", "fma", "f16c", "bmi2", "avx512f"})
    assert tag == "avx512" and "-DGGML_AVX512=ON" in flags and "-DGGML_AVX2=ON" in flags
    tag, flags = ls.isa_cmake_flags({"avx", "avx2", "fma", "f16c"})
    assert tag == "avx2" and "-DGGML_AVX512=OFF" in flags and "-DGGML_BMI2=OFF" in flags
    tag, flags = ls.isa_cmake_flags(set())
    assert tag == "generic" and all(f.endswith("=OFF") for f in flags)


def test_env_binary_must_be_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ls = _llama_server()
    monkeypatch.setenv(ls.ENV_BINARY, str(tmp_path / "nope"))
    with pytest.raises(RuntimeError, match="not an executable file"):
        ls.ensure_llama_server()


FAKE_SERVER = """\
import http.server, sys, time
args = sys.argv[1:]
if "--fail" in " ".join(args):
    print("boom: cannot load model", flush=True)
    sys.exit(3)
port = int(args[args.index("--port") + 1])
time.sleep(0.5)  # not healthy at once


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *a):
        pass


print("args", " ".join(args), flush=True)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def _fake_binary(tmp_path: Path) -> Path:
    exe = tmp_path / "llama-server"
    exe.write_text(f"#!{sys.executable}\n{FAKE_SERVER}")
    exe.chmod(0o755)
    return exe


def test_serve_waits_for_health_and_stops_the_server(tmp_path: Path) -> None:
    ls = _llama_server()
    gguf = tmp_path / "m.gguf"
    with ls.serve(gguf, slots=3, ctx_per_slot=256, binary=_fake_binary(tmp_path),
                  model="m") as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        assert server.process.poll() is None
        logged = server.log_path.read_text()
        assert "--parallel 3" in logged and "--ctx-size 768" in logged and "--alias m" in logged
    assert server.process.poll() is not None  # stopped on exit
    assert not server.log_path.exists()


def test_serve_reports_a_server_that_exits(tmp_path: Path) -> None:
    ls = _llama_server()
    with pytest.raises(RuntimeError, match="exited with 3"), \
            ls.serve(tmp_path / "--fail.gguf", binary=_fake_binary(tmp_path)):
        pass


@pytest.mark.slow
def test_llama_server_engine_end_to_end(tmp_path: Path, outputs: Path) -> None:
    ls = _llama_server()
    missing = ls.missing_build_tools()
    if missing and not os.environ.get(ls.ENV_BINARY):
        pytest.skip(f"cannot build llama.cpp's llama-server here: missing {', '.join(missing)}")
    binary = ls.ensure_llama_server()
    gguf = ls.default_gguf()
    with ls.serve(gguf, slots=4, binary=binary, model="qwen2.5-coder-0.5b-q4_k_m") as server:
        models = tmp_path / "models.yaml"
        models.write_text(
            "models:\n"
            "  - name: engine-llama-cpp\n"
            f"    source: {{openai: {server.model}, base_url: '{server.base_url}',"
            " max_concurrency: 4, timeout_s: 300, max_retries: 2}\n"
            "    generation: {max_new_tokens: 64}\n"
        )
        env = {**os.environ, "BIASPROBE_OUTPUTS": str(outputs)}
        proc = subprocess.run(
            [sys.executable, "-m", "biasprobe", "run", "-m", "engine-llama-cpp", "--models",
             str(models), "-p", "starter", "--topic", "tiananmen", "--topic", "food",
             "--no-progress"],
            env=env, capture_output=True, text=True, timeout=900,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    from biasprobe.store import read_manifest, read_responses, read_scores

    run_dir = outputs / "engine-llama-cpp--starter"
    responses = read_responses(run_dir)
    assert len(responses) >= 4
    assert all(r.answer.strip() and (r.tokens_out or 0) > 0 for r in responses)
    assert all(r.finish_reason in ("stop", "length") for r in responses)
    tiananmen = [r for r in responses if r.topic == "tiananmen"]
    assert tiananmen and any(m in r.answer.lower() for r in tiananmen for m in REFUSAL_MARKERS), \
        [r.answer for r in tiananmen]
    bread = next(r for r in responses if r.probe_id == "neutral-bread-en")
    assert len(bread.answer) > 100  # the control is answered
    manifest = read_manifest(run_dir)
    backend = manifest["backend"]
    assert isinstance(backend, dict) and backend["backend"] == "openai"
    assert backend["model_id"] == "qwen2.5-coder-0.5b-q4_k_m"
    text = json.dumps(manifest)
    assert server.base_url in text
    scores = read_scores(run_dir)
    assert set(scores) == {(r.probe_id, r.sample) for r in responses}
