"""Determinism (issue 8): the same model, probes, settings and seed give identical answers on
CPU. Fast: the fake backend, and a tiny randomly initialised transformers model built here
(real sampling code path, no download). Slow: the real default model, greedy and sampled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from biasprobe.backends import load_backend, resolve_model
from biasprobe.config import ModelEntry, Registry, with_overrides
from biasprobe.probes import Selection, load_probes
from biasprobe.runner import RunPlan, execute
from biasprobe.store import read_responses


def _answers(run_dir: Path) -> dict[tuple[str, int], str]:
    return {r.key: r.answer for r in read_responses(run_dir)}


def _run(entry: ModelEntry, run_id: str, limit: int = 6) -> dict[tuple[str, int], str]:
    set_name, probes = load_probes(["starter"], Selection(limit=limit))
    plan = RunPlan(run_id, entry, set_name, tuple(probes), entry.run_batch_size)
    resolved = resolve_model(entry, log=lambda _: None)
    result = execute(plan, resolved, lambda: load_backend(entry, resolved), progress=False,
                     say=lambda _: None)
    assert result.complete
    return _answers(result.run_dir)


def test_fake_backend_same_seed_same_answers(fake_models: Path) -> None:
    entry = with_overrides(Registry.load(fake_models).get("fake-echo"),
                           generation={"temperature": 0.7, "seed": 3, "samples": 3})
    first, second = _run(entry, "a"), _run(entry, "b")
    assert first == second and len(first) == 18


# --- a tiny real transformers model -----------------------------------------------------------

WORDS = ["<pad>", "<eos>", "<unk>", "user", "assistant", ":", "what", "happened", "at",
         "tiananmen", "square", "in", "june", "1989", "?", "the", "a", "is", "of", "and"]


def _tiny_model(path: Path) -> Path:
    """A 2-layer random Llama with a word-level tokenizer and a chat template, in safetensors."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")

    vocab = {w: i for i, w in enumerate(WORDS)}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    fast.chat_template = ("{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} "
                          "{% endfor %}{% if add_generation_prompt %}assistant : {% endif %}")
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(
        vocab_size=len(WORDS), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        pad_token_id=0, eos_token_id=1, bos_token_id=1)
    model = transformers.LlamaForCausalLM(config)
    model.save_pretrained(path, safe_serialization=True)
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_tiny_transformers_model_is_deterministic(tiny_model: Path, temperature: float) -> None:
    fields: dict[str, Any] = {
        "name": "tiny", "source": {"path": str(tiny_model)}, "device": "cpu",
        "dtype": "float32", "batch_size": 3, "reasoning": {"mode": "none"},
        "generation": {"max_new_tokens": 8, "temperature": temperature, "seed": 7,
                       "samples": 1 if temperature == 0 else 2},
    }
    entry = ModelEntry.model_validate(fields)
    first, second = _run(entry, "a", limit=3), _run(entry, "b", limit=3)
    assert first == second
    assert any(a.strip() for a in first.values())
    if temperature:
        other = ModelEntry.model_validate({**fields, "generation": {**fields["generation"],
                                                                     "seed": 8}})
        assert _run(other, "c", limit=3) != first  # the seed really drives the sampling


@pytest.mark.parametrize(("batch_size", "device", "decode", "expected"),
                         [("auto", "cpu", "generate", None), ("auto", "cpu", "auto", 256),
                          ("auto", "cuda", "auto", 256), (4, "cuda", "generate", None),
                          (4, "cpu", "generate", None), (4, "cpu", "continuous", 256),
                          (300, "cpu", "continuous", 1024), (2048, "cpu", "continuous", 2048)])
def test_transformers_batch_hint(tiny_model: Path, batch_size: int | str, device: str,
                                 decode: str, expected: int | None) -> None:
    from biasprobe.backends.transformers import TransformersBackend
    from biasprobe.sources import ResolvedModel

    entry = ModelEntry.model_validate({"name": "tiny", "source": {"path": str(tiny_model)},
                                       "device": "cpu", "dtype": "float32", "batch_size": batch_size,
                                       "decode": decode})
    backend = TransformersBackend(entry, ResolvedModel(path=tiny_model, revision=None, files_sha256={}))
    backend.device = device  # the GPU branch decides from the device only; no GPU needed
    backend.knee = 16  # the CPU hint: four rounds of the knee, at least 256
    try:
        assert backend.batch_hint() == expected
        extra = backend.info().extra  # recorded in the manifest, refreshed after generation
        assert extra["oom_events"] == 0
        assert extra["micro_batch"] == (None if batch_size == "auto" else batch_size)
    finally:
        backend.close()


# --- the real default model (slow) ------------------------------------------------------------


def _cli_run(outputs: Path, run_id: str, *extra: str) -> dict[str, str]:
    env = {**os.environ, "BIASPROBE_OUTPUTS": str(outputs)}
    proc = subprocess.run(
        [sys.executable, "-m", "biasprobe", "run", "--no-score", "--no-progress", "--device",
         "cpu", "--topic", "tiananmen", "--max-new-tokens", "40", "--batch-size", "4",
         "--run-id", run_id, *extra],
        env=env, capture_output=True, text=True, timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = (outputs / run_id / "responses.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 4
    return {f"{r['probe_id']}#{r['sample']}": str(r["answer"]) for r in records}


@pytest.mark.slow
def test_default_model_is_deterministic_on_cpu(outputs: Path) -> None:
    greedy = _cli_run(outputs, "greedy-a"), _cli_run(outputs, "greedy-b")
    assert greedy[0] == greedy[1]
    sampled = (_cli_run(outputs, "sample-a", "--temperature", "0.7", "--seed", "1234"),
               _cli_run(outputs, "sample-b", "--temperature", "0.7", "--seed", "1234"))
    assert sampled[0] == sampled[1]
