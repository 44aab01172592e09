"""Crashes, interrupts and concurrent writers (issue 8).

- SIGKILL at 20 seeded-random moments (plus simulated torn writes), resuming each time: every
  prompt ends up exactly once and every line is valid JSON;
- a torn last line is repaired on resume and the user sees one ``warning:`` line;
- Ctrl-C stops after the current batch; a second Ctrl-C aborts at once; both say how to resume;
- a second process on the same run directory is refused with one line and exit code 2;
- a stale lock (holder killed) never blocks a resume.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from biasprobe.errors import RunStoreError
from biasprobe.records import Response
from biasprobe.store import LOCK_PID, RESPONSES, RunStore, read_responses

QUICK_MODELS = """\
models:
  - name: fake-quick
    backend: fake
    source: {fake: [], delay_s: 0.02}
    batch_size: 3
    generation: {temperature: 0.7, samples: 2}
"""
N_PROBES = 75
SAMPLES = 2


def _probe_file(path: Path, n: int) -> Path:
    lines = ["probes:"]
    for i in range(n):
        lines.append(f"  - {{id: p{i:03d}, text: 'question {i} {'x' * (i % 7)}', language: en, "
                     "topic: t, kind: neutral}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _env(outputs: Path) -> dict[str, str]:
    return {**os.environ, "BIASPROBE_OUTPUTS": str(outputs)}


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "biasprobe", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _complete_lines(path: Path) -> list[dict[str, object]]:
    """Every newline-terminated line must be a JSON object; a torn tail (no newline) is
    tolerated here only because the test tears files on purpose."""
    if not path.exists():
        return []
    data = path.read_bytes()
    out = []
    for line in data.split(b"\n")[:-1]:
        obj = json.loads(line.decode("utf-8"))
        assert isinstance(obj, dict)
        out.append(obj)
    return out


def _line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _stderr_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip() and "%|" not in line]


def test_sigkill_20_random_moments_then_resume(tmp_path: Path, outputs: Path) -> None:
    models = tmp_path / "quick.yaml"
    models.write_text(QUICK_MODELS)
    probes = _probe_file(tmp_path / "many.yaml", N_PROBES)
    args = ["run", "-m", "fake-quick", "--models", str(models), "-p", str(probes),
            "--no-score", "--no-progress"]
    env = _env(outputs)
    run_dir = outputs / "fake-quick--many"
    responses = run_dir / RESPONSES
    rng = random.Random(8)
    tears = 0
    for i in range(20):
        proc = _spawn(args, env)
        if i % 2 == 0:
            # anywhere: interpreter start, loading, locking, manifest writes, generation
            time.sleep(rng.uniform(0.0, 1.6))
        else:
            # mid-generation: once this process has appended something (or given up)
            before = _line_count(responses)
            deadline = time.monotonic() + 10
            while (_line_count(responses) <= before and proc.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        assert "Traceback" not in err, err
        records = _complete_lines(responses)
        keys = [(r["probe_id"], r["sample"]) for r in records]
        assert len(keys) == len(set(keys)), f"duplicate after kill {i}"
        # a power cut can also tear the last write: simulate it now and then
        if records and rng.random() < 0.3:
            data = responses.read_bytes()
            last = data[: -1].rfind(b"\n") + 1
            cut = rng.randint(1, len(data) - last)
            responses.write_bytes(data[: len(data) - cut])
            tears += 1
    assert tears > 0
    partial = len(_complete_lines(responses))
    assert 0 < partial < N_PROBES * SAMPLES, "kills should land before the run completes"
    proc = _spawn(args, env)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert responses.read_bytes().endswith(b"\n")
    records = _complete_lines(responses)
    keys = sorted((str(r["probe_id"]), int(str(r["sample"]))) for r in records)
    expected = sorted((f"p{i:03d}", s) for i in range(N_PROBES) for s in range(SAMPLES))
    assert keys == expected  # every prompt and sample exactly once
    for r in records:
        Response.model_validate(r)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["completed"] and manifest["resumed"]
    assert not (run_dir / LOCK_PID).exists()


def _small_run(tmp_path: Path, outputs: Path, n: int = 6) -> tuple[list[str], Path]:
    models = tmp_path / "quick.yaml"
    models.write_text(QUICK_MODELS.replace("delay_s: 0.02", "delay_s: 0.0"))
    probes = _probe_file(tmp_path / "small.yaml", n)
    args = ["run", "-m", "fake-quick", "--models", str(models), "-p", str(probes),
            "--no-score", "--no-progress"]
    proc = subprocess.run([sys.executable, "-m", "biasprobe", *args], env=_env(outputs),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return args, outputs / "fake-quick--small" / RESPONSES


def test_torn_last_line_repaired_with_one_warning_line(tmp_path: Path, outputs: Path) -> None:
    args, responses = _small_run(tmp_path, outputs)
    data = responses.read_bytes()
    lines = data.splitlines(keepends=True)
    torn = b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2]  # cut mid-record
    responses.write_bytes(torn)
    # readers (show) skip the torn line and do not touch the file
    show = subprocess.run([sys.executable, "-m", "biasprobe", "show", str(responses.parent)],
                          env=_env(outputs), capture_output=True, text=True, timeout=60)
    assert show.returncode == 0, show.stderr
    assert "responses: 11" in show.stdout
    assert responses.read_bytes() == torn
    # the writer repairs it, says so in one line, and generates the record again
    proc = subprocess.run([sys.executable, "-m", "biasprobe", *args], env=_env(outputs),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in _stderr_lines(proc.stderr) if "warning" in line]
    assert len(warnings) == 1, proc.stderr
    assert warnings[0].startswith("warning: ") and "torn last line" in warnings[0]
    assert "UserWarning" not in proc.stderr and "warnings.warn" not in proc.stderr
    assert "1 new" in proc.stderr
    assert responses.read_bytes().count(b"\n") == 12
    assert len(_complete_lines(responses)) == 12


def test_complete_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    """Only a torn record is cut: a complete one that lacks its newline is completed."""
    run_dir = tmp_path / "r"
    manifest = {"run_id": "r", "fingerprint": {"a": 1}}
    rec = Response(run_id="r", probe_id="p1", probe_text="q", language="en", topic="t",
                   kind="neutral", prompt="p", answer="a", created="now")
    with RunStore.open(run_dir, manifest) as store:
        store.append([rec])
    path = run_dir / RESPONSES
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    notes: list[str] = []
    with RunStore.open(run_dir, manifest, warn=notes.append) as store:
        assert store.done_keys() == {("p1", 0)}
    assert notes == []
    assert path.read_bytes().endswith(b"}\n")


def test_ctrl_c_twice_aborts_now_and_says_how_to_resume(tmp_path: Path, outputs: Path) -> None:
    models = tmp_path / "quick.yaml"
    models.write_text(QUICK_MODELS.replace("delay_s: 0.02", "delay_s: 0.5"))
    probes = _probe_file(tmp_path / "ten.yaml", 4)
    args = ["run", "-m", "fake-quick", "--models", str(models), "-p", str(probes),
            "--no-score", "--no-progress"]
    responses = outputs / "fake-quick--ten" / RESPONSES
    proc = _spawn(args, _env(outputs))
    deadline = time.monotonic() + 60
    while _line_count(responses) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    # the second batch (3 x 0.5 s) is being generated: Ctrl-C twice aborts it at once
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "run the same command to resume" in err
    assert len(_complete_lines(responses)) == 3  # the aborted batch wrote nothing
    proc = _spawn(args, _env(outputs))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    keys = [(r["probe_id"], r["sample"]) for r in _complete_lines(responses)]
    assert len(keys) == len(set(keys)) == 8


def test_second_process_on_same_run_is_refused(tmp_path: Path, outputs: Path) -> None:
    models = tmp_path / "quick.yaml"
    models.write_text(QUICK_MODELS.replace("delay_s: 0.02", "delay_s: 1.0"))
    probes = _probe_file(tmp_path / "busy.yaml", 20)
    args = ["run", "-m", "fake-quick", "--models", str(models), "-p", str(probes),
            "--no-score", "--no-progress"]
    responses = outputs / "fake-quick--busy" / RESPONSES
    first = _spawn(args, _env(outputs))  # runs for ~40 s unless stopped
    try:
        deadline = time.monotonic() + 60
        while not (responses.parent / LOCK_PID).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert first.poll() is None
        second = subprocess.run([sys.executable, "-m", "biasprobe", *args], env=_env(outputs),
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        lines = _stderr_lines(second.stderr)
        assert len(lines) == 1, second.stderr
        assert lines[0].startswith("error: ") and "in use by another biasprobe process" in lines[0]
        assert f"(pid {first.pid})" in lines[0]
        assert first.poll() is None  # the first writer is unaffected
        first.send_signal(signal.SIGINT)  # stop it after its current batch
        _, err = first.communicate(timeout=60)
        assert first.returncode == 130, err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    keys = [(r["probe_id"], r["sample"]) for r in _complete_lines(responses)]
    assert len(keys) == len(set(keys)) and len(keys) % 3 == 0


def test_stale_lock_of_a_killed_process_does_not_block(
    fake_models: Path, outputs: Path
) -> None:
    args = ["run", "-m", "fake-slow", "--models", str(fake_models), "--no-score",
            "--no-progress", "--limit", "6"]
    run_dir = outputs / "fake-slow--starter"
    proc = _spawn(args, _env(outputs))
    deadline = time.monotonic() + 30
    while _line_count(run_dir / RESPONSES) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run_dir / ".lock").exists()
    assert (run_dir / LOCK_PID).read_text() == str(proc.pid)  # left behind: stale
    again = subprocess.run([sys.executable, "-m", "biasprobe", *args], env=_env(outputs),
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    notes = [line for line in _stderr_lines(again.stderr) if "did not exit cleanly" in line]
    assert notes == [f"warning: {run_dir}: the previous run (pid {proc.pid}) did not exit "
                     "cleanly; resuming"]
    assert not (run_dir / LOCK_PID).exists()
    assert len(read_responses(run_dir)) == 6


def test_stale_pid_file_with_garbage_is_ignored(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    manifest = {"run_id": "r", "fingerprint": {"a": 1}}
    run_dir.mkdir()
    (run_dir / LOCK_PID).write_text("not a pid\x1b[2J")
    with RunStore.open(run_dir, manifest):
        assert (run_dir / LOCK_PID).read_text() == str(os.getpid())
    assert not (run_dir / LOCK_PID).exists()


def test_lock_held_by_another_process_names_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    manifest = {"run_id": "r", "fingerprint": {"a": 1}}
    code = (
        "import sys, time; from pathlib import Path; from biasprobe.store import RunStore\n"
        f"s = RunStore.open(Path({str(run_dir)!r}), {manifest!r})\n"
        "print('locked', flush=True); time.sleep(30)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunStoreError, match=rf"in use by another biasprobe process \(pid {holder.pid}\)"):
            RunStore.open(run_dir, manifest)
    finally:
        holder.kill()
        holder.wait()
    with RunStore.open(run_dir, manifest):  # the kernel released the dead holder's lock
        pass
