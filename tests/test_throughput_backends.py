"""Throughput features that need no model: OOM halving, auto batch size in the schema, clear
errors for missing optional engines (vLLM, bitsandbytes), and flat memory as runs grow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from biasprobe.backends import load_backend, resolve_model
from biasprobe.backends.transformers import run_halving_on_oom
from biasprobe.config import ModelEntry, OpenAISource, with_overrides
from biasprobe.errors import BackendError
from biasprobe.sources import ResolvedModel


def _oom_above(limit: int, calls: list[int]):  # type: ignore[no-untyped-def]
    def run(chunk: Sequence[int]) -> list[int]:
        import torch

        calls.append(len(chunk))
        if len(chunk) > limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return [x * 10 for x in chunk]

    return run


def test_oom_halves_the_batch_and_loses_nothing() -> None:
    calls: list[int] = []
    freed: list[int] = []
    results, size = run_halving_on_oom(list(range(37)), 16, _oom_above(5, calls), freed.append)
    assert results == [x * 10 for x in range(37)]  # all of them, in order
    assert size == 4 and freed == [8, 4]  # 16 -> 8 -> 4, then kept for later chunks
    assert max(calls[3:]) <= 4


def test_oom_with_a_single_prompt_is_a_clear_error() -> None:
    with pytest.raises(BackendError, match="out of GPU memory generating a single prompt"):
        run_halving_on_oom([1, 2], 2, _oom_above(0, []))


def test_other_errors_are_not_swallowed() -> None:
    def run(chunk: Sequence[int]) -> list[int]:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_halving_on_oom([1, 2, 3], 2, run)


def _entry(**fields: object) -> ModelEntry:
    return ModelEntry.model_validate({"name": "m", "source": {"path": "/nonexistent"}, **fields})


def test_batch_size_auto_and_zero() -> None:
    assert _entry(batch_size="auto").batch_size == "auto"
    assert _entry(batch_size=0).batch_size == "auto"
    assert _entry(batch_size="auto").run_batch_size == 64
    assert _entry(batch_size=12).run_batch_size == 12
    assert with_overrides(_entry(batch_size="auto"), batch_size=3).batch_size == 3
    for bad in (-1, 5000, "lots"):
        with pytest.raises(ValueError, match="batch_size"):
            _entry(batch_size=bad)
    served = ModelEntry.model_validate({
        "name": "s", "batch_size": "auto",
        "source": {"openai": "m", "base_url": "http://127.0.0.1:1/v1", "max_concurrency": 32}})
    assert served.run_batch_size == 128


def test_openai_source_schema() -> None:
    entry = ModelEntry.model_validate(
        {"name": "s", "source": {"openai": "m", "base_url": "http://h:8000/v1"}})
    assert entry.backend == "openai" and isinstance(entry.source, OpenAISource)
    assert entry.source.max_concurrency == 16
    with pytest.raises(ValueError, match="openai"):
        _entry(backend="openai")
    with pytest.raises(ValueError, match="openai"):
        ModelEntry.model_validate({"name": "s", "backend": "transformers",
                                   "source": {"openai": "m", "base_url": "http://h/v1"}})
    with pytest.raises(ValueError):
        ModelEntry.model_validate({"name": "s", "source": {"openai": "m", "base_url": "ftp://h"}})
    with pytest.raises(ValueError, match=r"extra|forbid|Extra"):
        ModelEntry.model_validate({"name": "s", "source": {"openai": "m", "base_url": "http://h",
                                                           "api_key": "sk-inline"}})
    # transport settings do not change answers: a run resumes against another port
    a = ModelEntry.model_validate({"name": "s", "source": {"openai": "m", "base_url": "http://h:1/v1"}})
    b = ModelEntry.model_validate({"name": "s", "source": {"openai": "m", "base_url": "http://h:2/v1",
                                                           "max_concurrency": 64}})
    assert a.fingerprint() == b.fingerprint()


def test_fingerprint_of_existing_entries_is_unchanged() -> None:
    fp = _entry().fingerprint()
    assert "quantization" not in fp and "batch_size" not in fp
    assert "decode" not in fp and _entry(decode="generate").fingerprint() == fp  # resumes either way
    assert _entry(quantization="4bit").fingerprint()["quantization"] == "4bit"
    with pytest.raises(ValueError, match="quantization"):
        ModelEntry.model_validate({"name": "s", "quantization": "8bit",
                                   "source": {"openai": "m", "base_url": "http://h/v1"}})


def test_vllm_missing_is_a_one_line_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "vllm" else real(name, *a))
    entry = _entry(backend="vllm")
    with pytest.raises(BackendError, match=r"install biasprobe\[vllm\]") as exc:
        resolve_model(entry, log=lambda _: None)  # before any download
    assert "\n" not in str(exc.value)
    with pytest.raises(BackendError, match=r"install biasprobe\[vllm\]"):
        load_backend(entry, ResolvedModel(path=Path("/nonexistent"), revision=None))


def test_vllm_missing_through_the_cli(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from biasprobe.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "vllm" else real(name, *a))
    models = tmp_path / "m.yaml"
    models.write_text("models:\n  - name: v\n    backend: vllm\n    source: {path: /nonexistent}\n")
    with pytest.raises(SystemExit) as exc:
        main(["run", "-m", "v", "--models", str(models), "--no-score", "--no-progress"])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert err.strip().splitlines()[-1].startswith("error: backend 'vllm' needs vLLM: install "
                                                   "biasprobe[vllm]")


def test_quantization_without_bitsandbytes_says_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from biasprobe.backends.transformers import TransformersBackend

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "bitsandbytes" else real(name, *a))
    entry = _entry(quantization="4bit")
    with pytest.raises(BackendError, match="install bitsandbytes"):
        TransformersBackend(entry, ResolvedModel(path=Path("/nonexistent"), revision=None))


PEAK_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "fake_run_memory.py"


def peak_rss_kib(n: int, outputs: Path) -> dict[str, int]:
    """``peak_kib``, the total peak RSS of ``biasprobe run`` on a file of ``n`` prompts (fake
    backend, a fresh process), and ``before_kib``, the peak after the imports."""
    env = {**os.environ, "BIASPROBE_OUTPUTS": str(outputs)}
    out = subprocess.run([sys.executable, str(PEAK_SCRIPT), str(n)], capture_output=True,
                         text=True, env=env, check=True, timeout=600)
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_total_peak_rss_grows_at_most_5_percent_from_200_to_20000_prompts(tmp_path: Path) -> None:
    """The probes are streamed from the file (checked in one pass, read again by chunks) and
    the requests built per batch: the whole process's peak barely moves with the run's size
    (measured +1.4%; before the lazy path, +142%)."""
    small = peak_rss_kib(200, tmp_path / "a")
    large = peak_rss_kib(20_000, tmp_path / "b")
    assert large["peak_kib"] <= small["peak_kib"] * 1.05, (small, large)


def test_lazy_batches_keep_the_length_order_and_skip_done() -> None:
    """Same batches as sorting the whole pending list by prompt length (stable), done skipped."""
    from biasprobe.records import Probe, ProbeKind
    from biasprobe.runner import RunPlan, batches, build_requests

    entry = ModelEntry.model_validate({"name": "f", "backend": "fake", "source": {"fake": []},
                                       "generation": {"samples": 2, "temperature": 0.7},
                                       "batch_size": 3})
    lengths = [5, 1, 3, 1, 5, 2, 0, 3]
    probes = tuple(Probe(id=f"p{i}", text="x" * n + f" {i}", language="en", topic="t",
                         kind=ProbeKind.neutral) for i, n in enumerate(lengths))
    plan = RunPlan("order", entry, "s", probes, 3)
    done = {("p1", 0), ("p4", 1)}
    full = [(p.id, s) for p in probes for s in range(2) if (p.id, s) not in done]
    expected = sorted(full, key=lambda k: len(probes[int(k[0][1:])].text))
    got = [[r.key for _, r in b] for b in batches(build_requests(plan, done), 3)]
    assert [len(b) for b in got] == [3, 3, 3, 3, 2]
    assert [k for b in got for k in b] == expected
    assert got[0] == [("p6", 0), ("p6", 1), ("p1", 1)]  # shortest first; p1 sample 0 done
