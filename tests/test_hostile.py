"""Issue 15, table-driven: every command x every kind of bad file (links, FIFOs, devices,
folders, deep or huge JSON, control characters), plus each named example of the issue.

Every case: exit 0 or 2, at most one ``error:`` line, no traceback, no raw control character
on stdout/stderr, the file outside the outputs folder untouched, and after an error the outputs
folder byte-identical."""

from __future__ import annotations

import errno
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from biasprobe.errors import RunStoreError
from biasprobe.store import write_atomic
from hostile_helpers import (
    BAD_FILES,
    EVIL,
    check_output,
    import_lines,
    run_cli,
    snapshot,
)
from hostile_helpers import (
    scored_template as build_scored_template,
)

VICTIM_TEXT = b"precious, outside the outputs folder\n"


class Hang(BaseException):
    """Raised by the alarm: a command blocked (e.g. on a FIFO). Not caught by ``main``."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang()


@pytest.fixture
def guard() -> Iterator[None]:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def scored_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scored runs (a, b), built once and copied per test."""
    base = tmp_path_factory.mktemp("template")
    return build_scored_template(base)


@pytest.fixture
def runs(scored_template: Path, outputs: Path, tmp_path: Path) -> tuple[Path, Path]:
    import shutil

    shutil.copytree(scored_template, outputs, symlinks=True)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(VICTIM_TEXT)
    return outputs, victim


RUN_FILES = ["manifest.json", "responses.jsonl", "scores.jsonl", "canned.json",
             "scores.meta.json", ".lock.pid", ".lock"]
COMMANDS = {
    "show": ["show", "a", "--format", "json"],
    "score": ["score", "a", "--embedder", "fake", "-q"],
    "diff": ["diff", "a", "b"],
    "compare": ["compare", "a", "b"],
    "report": ["report", "a", "b", "--format", "md"],
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("name", RUN_FILES)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_on_every_bad_run_file(
    runs: tuple[Path, Path], guard: None, command: str, name: str, kind: str
) -> None:
    outputs, victim = runs
    BAD_FILES[kind](outputs / "a" / name, victim)
    before = snapshot(outputs)
    code, out, err = run_cli(*COMMANDS[command])
    check_output(code, out, err)
    assert victim.read_bytes() == VICTIM_TEXT
    assert set(os.listdir(victim.parent)) <= {"outputs", "victim.txt", "home"}  # none created
    if code != 0:
        assert snapshot(outputs) == before, (command, name, kind, err)
    if kind in ("link-to-victim", "link-to-dev-zero", "fifo", "folder") and name in (
        "manifest.json", "responses.jsonl", "scores.jsonl"
    ):
        assert code == 2, (command, name, kind, out, err)


INPUT_COMMANDS = {
    "import": lambda f, m: ["import", f, "--name", "new"],
    "eval-classifier": lambda f, m: ["eval-classifier", f, "--embedder", "fake"],
    "score-head": lambda f, m: ["score", "a", "--embedder", "fake", "-q", "--head", f],
    "probes-validate": lambda f, m: ["probes", "validate", f],
    "run-probes": lambda f, m: ["run", "-m", "fake-echo", "--models", m, "-p", f, "--no-score",
                                "--no-progress"],
    "models-file": lambda f, m: ["models", "list", "--models", f],
    "diff-correct-with": lambda f, m: ["diff", "a", "b", "--correct-with", f],
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
@pytest.mark.parametrize("command", sorted(INPUT_COMMANDS))
def test_every_command_on_every_bad_input_file(
    runs: tuple[Path, Path], guard: None, tmp_path: Path, fake_models: Path, command: str,
    kind: str,
) -> None:
    outputs, victim = runs
    path = tmp_path / "input.jsonl"
    BAD_FILES[kind](path, victim)
    before = snapshot(outputs)
    code, out, err = run_cli(*INPUT_COMMANDS[command](str(path), str(fake_models)))
    check_output(code, out, err)
    assert code == 2, (command, kind, out, err)
    assert snapshot(outputs) == before
    assert victim.read_bytes() == VICTIM_TEXT


# --- class 1: writes through links -------------------------------------------------------

@pytest.mark.parametrize("name", ["scores.jsonl", "canned.json", "scores.meta.json",
                                  "scores.jsonl.tmp", "canned.json.tmp", "manifest.json.tmp"])
def test_score_never_writes_through_a_planted_link(
    runs: tuple[Path, Path], name: str
) -> None:
    outputs, victim = runs
    link = outputs / "a" / name
    if os.path.lexists(link):
        link.unlink()
    link.symlink_to(victim)
    code, out, err = run_cli("score", "a", "--embedder", "fake", "-q")
    check_output(code, out, err)
    assert victim.read_bytes() == VICTIM_TEXT
    if name.endswith(".tmp"):  # a stale temp name is cleaned under the lock, not followed
        assert code == 0, err
        assert not os.path.lexists(link)
    else:
        assert code == 2 and "symbolic link" in err


def test_score_refuses_a_symlinked_run_folder(runs: tuple[Path, Path], tmp_path: Path) -> None:
    outputs, _ = runs
    real = tmp_path / "real-a"
    (outputs / "a").rename(real)
    (outputs / "a").symlink_to(real)
    before = snapshot(real)
    code, out, err = run_cli("score", str(outputs / "a"), "--embedder", "fake", "-q")
    check_output(code, out, err)
    assert code == 2 and "symbolic link" in err
    assert snapshot(real) == before


def test_writer_refuses_links_and_special_targets(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM_TEXT)
    for kind in ("link-to-victim", "fifo", "folder", "dangling-link"):
        target = tmp_path / f"t-{kind}"
        BAD_FILES[kind](target, victim)
        with pytest.raises(RunStoreError):
            write_atomic(target, "x")
    assert victim.read_bytes() == VICTIM_TEXT
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_writer_on_a_full_disk_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "scores.jsonl"
    target.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(RunStoreError, match="disk full"):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.jsonl"]


@pytest.mark.parametrize("command", ["score", "import", "run"])
def test_full_disk_is_one_error_line_and_nothing_half_written(
    runs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_models: Path, command: str,
) -> None:
    outputs, _ = runs
    before = snapshot(outputs)

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    src = tmp_path / "in.jsonl"
    src.write_text(import_lines(2))
    args = {"score": ["score", "a", "--embedder", "fake", "-q"],
            "import": ["import", str(src), "--name", "c"],
            "run": ["run", "-m", "fake-echo", "--models", str(fake_models), "--limit", "2",
                    "--no-score", "--no-progress", "--run-id", "a"]}[command]
    code, out, err = run_cli(*args)
    check_output(code, out, err)
    assert code == 2 and ("disk full" in err or "No space" in err), err
    assert snapshot(outputs) == before


# --- class 2: reads of special files -------------------------------------------------------

def test_overlong_line_is_refused_not_read_into_memory(
    runs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import biasprobe.store as store

    outputs, _ = runs
    monkeypatch.setattr(store, "MAX_LINE_BYTES", 1000)
    path = outputs / "a" / "responses.jsonl"
    path.write_bytes(path.read_bytes() + b'{"x": "' + b"y" * 5000 + b'"}\n')
    code, out, err = run_cli("show", "a")
    check_output(code, out, err)
    assert code == 2 and "line longer than" in err


# --- class 4: one error line ---------------------------------------------------------------

def test_usage_errors_are_one_line(guard: None) -> None:
    for args in (["score", "--chunks", "9", "a"], ["diff", "a"], ["nosuch"], ["show"],
                 ["report", "a", "--correction", "x"]):
        code, out, err = run_cli(*args)
        check_output(code, out, err)
        assert code == 2 and err.count("\n") == 1 and err.startswith("error: "), err


def test_env_paths_naming_a_regular_file(
    runs: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    fake_models: Path,
) -> None:
    plain = tmp_path / "plain-file"
    plain.write_text("x")
    src = tmp_path / "in.jsonl"
    src.write_text(import_lines(2))
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(plain))
    for args in (["import", str(src), "--name", "x"], ["show", "a"],
                 ["run", "-m", "fake-echo", "--models", str(fake_models), "--limit", "1",
                  "--no-score", "--no-progress"]):
        code, out, err = run_cli(*args)
        check_output(code, out, err)
        assert code == 2, (args, err)
    assert plain.read_text() == "x"
    outputs, _ = runs
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(outputs))
    monkeypatch.setenv("BIASPROBE_HOME", str(plain))
    code, out, err = run_cli("score", "a", "--embedder", "fake", "-q")
    check_output(code, out, err)
    assert code in (0, 2) and plain.read_text() == "x"
    from biasprobe.errors import BiasprobeError
    from biasprobe.paths import cache_dir

    with pytest.raises(BiasprobeError, match="BIASPROBE_HOME"):
        cache_dir("x")


def test_import_onto_a_dangling_link(runs: tuple[Path, Path], tmp_path: Path) -> None:
    outputs, _ = runs
    (outputs / "x").symlink_to(tmp_path / "nowhere")
    src = tmp_path / "in.jsonl"
    src.write_text(import_lines(2))
    code, out, err = run_cli("import", str(src), "--name", "x")
    check_output(code, out, err)
    assert code == 2 and "already exists" in err
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("line", [
    b'{"prompt_id": "p", "prompt": "q", "response": "' + b"[" * 10 + b'", "sample": '
    + b"9" * 5000 + b"}",
    b'{"prompt_id": "p", "prompt": "q", "response": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"prompt_id": "p", "prompt": "q", "response": "\\ud800"}',
    b'{"prompt_id": "p", "prompt": "q\\udfff", "response": "a"}',
])
def test_import_refuses_hostile_json_per_line(tmp_path: Path, line: bytes) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(line + b"\n")
    code, out, err = run_cli("import", str(src), "--name", "x")
    check_output(code, out, err)
    assert code == 2 and "line 1" in err


def test_corrupt_gz_for_eval_classifier(tmp_path: Path) -> None:
    import gzip

    good = gzip.compress(b'{"response": "I cannot.", "label": "DENIAL"}\n' * 50)
    for name, data in (("bad.jsonl.gz", b"\x1f\x8b\x08\x00garbage" * 10),
                       ("cut.jsonl.gz", good[: len(good) // 2]),
                       ("flip.jsonl.gz", good[:20] + bytes([good[20] ^ 0xFF]) + good[21:])):
        path = tmp_path / name
        path.write_bytes(data)
        code, out, err = run_cli("eval-classifier", str(path), "--embedder", "fake")
        check_output(code, out, err)
        assert code == 2, (name, err)


def _head(classes: list[str], rows: int | None = None, features: int | None = None) -> dict[
    str, object
]:
    from biasprobe.classify.model import FEATURES

    n_rows = len(classes) if rows is None else rows
    f = len(FEATURES) if features is None else features
    return {"features": FEATURES, "classes": classes, "coef": [[0.0] * f] * n_rows,
            "intercept": [0.0] * n_rows, "mean": [0.0] * f, "scale": [1.0] * f}


@pytest.mark.parametrize("head", [
    _head(["refusal"]),
    _head(["refusal", "refusal"]),
    _head(["refusal", "complete", "deflection"], rows=2),
    _head(["refusal", "complete", "deflection"], features=3),
    [1, 2, 3],
])
def test_score_head_of_the_wrong_shape(
    runs: tuple[Path, Path], tmp_path: Path, head: object
) -> None:
    outputs, _ = runs
    path = tmp_path / "head.json"
    path.write_text(json.dumps(head))
    before = snapshot(outputs)
    code, out, err = run_cli("score", "a", "--embedder", "fake", "-q", "--head", str(path))
    check_output(code, out, err)
    assert code == 2 and "classifier head" in err, err
    assert snapshot(outputs) == before


def test_a_good_head_is_accepted(runs: tuple[Path, Path], tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    path.write_text(json.dumps(_head(["refusal", "complete", "deflection", "official_line"])))
    code, _, err = run_cli("score", "a", "--embedder", "fake", "-q", "--head", str(path))
    assert code == 0, err


def test_report_to_an_empty_or_folder_output(runs: tuple[Path, Path], tmp_path: Path) -> None:
    for target in ("", str(tmp_path), str(tmp_path / "missing" / "r.html")):
        code, out, err = run_cli("report", "a", "-o", target)
        check_output(code, out, err)
        assert code == 2, (target, err)


# --- class 6: leftovers, locks, consistency ------------------------------------------------

def test_score_holds_the_run_lock(runs: tuple[Path, Path]) -> None:
    from biasprobe.store import run_lock

    outputs, _ = runs
    before = snapshot(outputs)
    with run_lock(outputs / "a"):
        code, out, err = run_cli("score", "a", "--embedder", "fake", "-q")
    check_output(code, out, err)
    assert code == 2 and "in use by another biasprobe process" in err
    assert snapshot(outputs) == before


def test_stale_temp_files_and_import_folders_are_cleaned(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    outputs, _ = runs
    stale = [outputs / "a" / "scores.jsonl.tmp", outputs / "a" / ".canned.json.99999-ab.tmp"]
    for path in stale:
        path.write_text("junk")
    code, _, err = run_cli("score", "a", "--embedder", "fake", "-q")
    assert code == 0, err
    assert not any(p.exists() for p in stale)
    dead = outputs / ".old.importing-999999"  # no such pid
    (dead / "sub").mkdir(parents=True)
    (dead / "sub" / "responses.jsonl").write_text("x")
    src = tmp_path / "in.jsonl"
    src.write_text(import_lines(2))
    code, _, err = run_cli("import", str(src), "--name", "c")
    assert code == 0, err
    assert not dead.exists()
    assert not [p for p in outputs.iterdir() if ".importing-" in p.name]


def test_canned_is_never_out_of_step_with_scores(
    runs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill between the renames leaves canned.json absent or new, never stale."""
    import biasprobe.store as store

    outputs, _ = runs
    real_replace = os.replace
    calls: list[str] = []

    def die_after_scores(src: str | Path, dst: str | Path) -> None:
        real_replace(src, dst)
        calls.append(Path(dst).name)
        if Path(dst).name == "scores.jsonl":
            raise KeyboardInterrupt

    (outputs / "a" / "responses.jsonl").write_bytes(
        b"".join(line + b"\n" for line in
                 (outputs / "a" / "responses.jsonl").read_bytes().splitlines()[:2]))
    monkeypatch.setattr(store.os, "replace", die_after_scores)
    code, _, err = run_cli("score", "a", "--embedder", "fake", "-q")
    assert code == 130, err
    assert calls[-1] == "scores.jsonl" and "canned.json" not in calls
    assert not (outputs / "a" / "canned.json").exists()
    assert not (outputs / "a" / "scores.meta.json").exists()
    assert len((outputs / "a" / "scores.jsonl").read_text().splitlines()) == 2


def test_refused_resume_leaves_responses_byte_identical(
    tmp_path: Path, outputs: Path, fake_models: Path
) -> None:
    args = ["run", "-m", "fake-echo", "--models", str(fake_models), "--limit", "3",
            "--no-score", "--no-progress", "--run-id", "r"]
    assert run_cli(*args)[0] == 0
    path = outputs / "r" / "responses.jsonl"
    lines = path.read_bytes().splitlines()
    # a corrupt middle line, and a complete last record without its newline
    path.write_bytes(lines[0] + b"\n{corrupt\n" + lines[1])
    before = snapshot(outputs)
    code, out, err = run_cli(*args)
    check_output(code, out, err)
    assert code == 2 and "corrupt line" in err
    assert snapshot(outputs) == before


def test_score_refuses_a_corrupt_manifest(runs: tuple[Path, Path]) -> None:
    outputs, _ = runs
    (outputs / "a" / "manifest.json").write_text('{"run_id": "a", ')
    (outputs / "a" / "x").write_text("")  # resolve_run_dir wants the manifest to exist
    before = snapshot(outputs)
    code, out, err = run_cli("score", str(outputs / "a"), "--embedder", "fake", "-q")
    check_output(code, out, err)
    assert code == 2 and "corrupt manifest" in err
    assert snapshot(outputs) == before


@pytest.mark.parametrize("file", ["responses.jsonl", "scores.jsonl"])
def test_duplicate_lines_are_refused_by_every_reader(runs: tuple[Path, Path], file: str) -> None:
    outputs, _ = runs
    path = outputs / "a" / file
    first = path.read_bytes().splitlines()[0]
    path.write_bytes(path.read_bytes() + first + b"\n")
    for args in (["show", "a"], ["diff", "a", "b"], ["report", "a", "--format", "json"],
                 ["score", "a", "--embedder", "fake", "-q"]):
        if file == "scores.jsonl" and args[0] == "score":
            continue  # score rewrites scores.jsonl from the responses
        code, out, err = run_cli(*args)
        check_output(code, out, err)
        assert code == 2 and "duplicate" in err, (args, err)


@pytest.mark.parametrize(("file", "field", "value"), [
    ("scores.jsonl", "confidence", "NaN"), ("scores.jsonl", "slant", "NaN"),
    ("scores.jsonl", "confidence", "Infinity"), ("responses.jsonl", "latency_s", "-Infinity"),
])
def test_non_finite_numbers_are_refused_by_every_reader(
    runs: tuple[Path, Path], file: str, field: str, value: str
) -> None:
    """Python's json reads ``NaN`` and ``Infinity``; a run file carrying one is one error line
    (a NaN slant once reached the text diff as a missing mean and crashed it)."""
    outputs, _ = runs
    path = outputs / "a" / file
    lines = path.read_bytes().splitlines()
    obj = json.loads(lines[1])
    obj[field] = 0.5
    lines[1] = json.dumps(obj).replace(f'"{field}": 0.5', f'"{field}": {value}').encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    before = snapshot(outputs)
    for args in (["show", "a"], ["diff", "a", "b"], ["report", "a", "b", "--format", "json"],
                 ["compare", "a", "b"]):
        code, out, err = run_cli(*args)
        check_output(code, out, err)
        assert code == 2 and "finite number" in err, (args, err)
    assert snapshot(outputs) == before


# --- class 5: escaping ---------------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["report", "a", "b"], ["report", "a", "b", "--format", "md"],
    ["report", "a", "b", "--format", "json"], ["report", "a", "b", "--format", "csv"],
    ["diff", "a", "b"], ["diff", "a", "b", "--format", "json"], ["compare", "a", "b"],
    ["compare", "a", "b", "--format", "json"], ["show", "a"], ["show", "a", "--format", "json"],
])
def test_model_names_and_topics_are_escaped_everywhere(
    runs: tuple[Path, Path], args: list[str]
) -> None:
    code, out, err = run_cli(*args)
    check_output(code, out, err)  # no ESC, BEL, RLO, zero-width or tag character, raw
    assert code == 0, err
    assert "\\x1b" in out or "\\u001b" in out or "&#" in out or "\\\\x1b" in out, out[:300]


def test_csv_quotes_text_and_neutralises_formulas() -> None:
    import csv
    import io

    from biasprobe.report.csvout import _cell

    assert _cell("a;=1+1") == "a;'=1+1"
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert _cell("x\t@SUM(1)") == "x '@SUM(1)"
    assert _cell(-0.5) == -0.5 and _cell(None) == ""
    assert _cell(EVIL).count("\x1b") == 0
    assert _cell("\uff1dSUM(1)") == "'\uff1dSUM(1)"
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC).writerow([_cell("a"), _cell(1)])
    assert buf.getvalue().strip() == '"a",1'


def test_one_escaper() -> None:
    from biasprobe.report import escape
    from biasprobe.textutil import one_line, printable, safe_json_dumps

    for text in (EVIL, "a\u2028b", "x\ud800", "emoji\u200d"):
        assert escape.clean_terminal(text) == printable(text)
        assert escape.clean_terminal(text, one_line=True) == one_line(text)
    assert escape.safe_json_dumps is safe_json_dumps


def test_append_on_a_full_disk_cuts_back_to_the_last_whole_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from biasprobe.records import Response
    from biasprobe.store import RunStore

    def rec(i: int) -> Response:
        return Response(run_id="r", probe_id=f"p{i}", probe_text="q", language="en", topic="t",
                        kind="neutral", prompt="q", answer="a" * 100, created="now")

    with RunStore.open(tmp_path / "r", {"run_id": "r", "fingerprint": {}}) as store:
        store.append([rec(0)])
        before = (tmp_path / "r" / "responses.jsonl").read_bytes()

        def full(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", full)
        with pytest.raises(RunStoreError, match="not saved"):
            store.append([rec(1), rec(2)])
        monkeypatch.undo()
    assert (tmp_path / "r" / "responses.jsonl").read_bytes() == before


@pytest.mark.parametrize("fmt", ["html", "md", "json", "csv"])
def test_report_of_a_run_whose_manifest_has_only_a_run_id(
    runs: tuple[Path, Path], fmt: str
) -> None:
    outputs, _ = runs
    (outputs / "a" / "manifest.json").write_text(json.dumps({"run_id": f"a{EVIL}"}))
    code, out, err = run_cli("report", "a", "b", "--format", fmt)
    check_output(code, out, err)
    assert code == 0, err


@pytest.mark.parametrize("blind", [False, True])
def test_review_export_escapes_the_run_id_of_the_manifest(
    runs: tuple[Path, Path], tmp_path: Path, blind: bool
) -> None:
    """The manifest is untrusted: its run_id, echoed in the "then run ..." hint, is escaped."""
    outputs, _ = runs
    manifest = outputs / "a" / "manifest.json"
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "run_id": f"a{EVIL}"}))
    sheet = tmp_path / "sheet.csv"
    code, out, err = run_cli("review", "a", *(["--blind"] if blind else []), "--export", str(sheet))
    check_output(code, out, err)
    assert code == 0, err
    assert "\\x1b" in out, out
