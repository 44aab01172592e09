"""Building blocks for the hostile-input tests (issue 15): scored runs made by ``import`` and
``score --embedder fake``, the kinds of bad file planted in their place, and the checks every
command must pass on them (one error line, no traceback, no raw control characters, nothing
outside the outputs folder touched, run files unchanged after an error)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from biasprobe.cli import main
from biasprobe.textutil import is_unsafe

EVIL = "\x1b[2J\x1b]0;t\x07\u202eRLO\u200b\U000e0041\x9b31m"


def import_lines(n: int = 4, *, evil: bool = True) -> str:
    """An import file: ``n`` prompts, half refusals, control characters in model and topic."""
    model = f"vendor/m{EVIL}" if evil else "vendor/m"
    rows = []
    for i in range(n):
        answer = "I'm sorry, I cannot discuss that." if i % 2 else f"Here is the history {i}."
        rows.append({"prompt_id": f"p{i}-en", "prompt": f"Question {i}?", "response": answer,
                     "topic": f"t{i % 2}{EVIL if evil else ''}", "language": "en",
                     "model": model})
    return "".join(json.dumps(r) + "\n" for r in rows)


def run_cli(*args: str) -> tuple[int, str, str]:
    """``biasprobe ARGS`` in this process (no capsys: usable inside hypothesis examples)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(list(args))
            code: object = 0
        except SystemExit as exc:
            code = exc.code
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()


def make_scored_runs(outputs: Path, tmp: Path, names: tuple[str, ...] = ("a", "b")) -> None:
    src = tmp / "import.jsonl"
    src.write_text(import_lines())
    for name in names:
        for args in (("import", str(src), "--name", name),
                     ("score", name, "--embedder", "fake", "-q")):
            code, _, err = run_cli(*args)
            assert code == 0, err


def scored_template(base: Path) -> Path:
    """Two scored runs (a, b) under ``base/outputs``, built once per test module and copied per
    test; BIASPROBE_OUTPUTS points there only while they are built."""
    outputs = base / "outputs"
    old = os.environ.get("BIASPROBE_OUTPUTS")
    os.environ["BIASPROBE_OUTPUTS"] = str(outputs)
    try:
        make_scored_runs(outputs, base)
    finally:
        if old is None:
            os.environ.pop("BIASPROBE_OUTPUTS", None)
        else:
            os.environ["BIASPROBE_OUTPUTS"] = old
    return outputs


def snapshot(folder: Path) -> dict[str, bytes | str]:
    """Every entry under ``folder`` (lock files aside): bytes of files, targets of links."""
    out: dict[str, bytes | str] = {}
    if not os.path.lexists(folder):
        return out
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            rel = str(path.relative_to(folder))
            if name in (".lock", ".lock.pid"):
                continue
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                out[rel] = path.read_bytes()
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = "special"
    return out


def tree_digest(folder: Path) -> str:
    snap = snapshot(folder)
    h = hashlib.sha256()
    for key in sorted(snap):
        value = snap[key]
        h.update(key.encode() + b"\0" + (value if isinstance(value, bytes) else value.encode()))
    return h.hexdigest()


def check_output(code: int, out: str, err: str) -> None:
    """What every command promises on any input."""
    assert code in (0, 1, 2, 130), (code, err)
    assert "Traceback" not in out + err, err
    assert "internal error" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) <= 1, err
    if code not in (0, 1):
        assert len(errors) == 1, (code, err)
    for text in (out, err):
        bad = sorted({ch for ch in text if ch not in "\n\t" and is_unsafe(ch)})
        assert not bad, (bad, text[-500:])


# --- kinds of bad file planted in place of a run file or an input file --------------------

Planter = Callable[[Path, Path], None]


def _replace(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def _link_to_victim(path: Path, victim: Path) -> None:
    _replace(path)
    path.symlink_to(victim)


def _link_to_dev_zero(path: Path, victim: Path) -> None:
    _replace(path)
    path.symlink_to("/dev/zero")


def _fifo(path: Path, victim: Path) -> None:
    _replace(path)
    os.mkfifo(path)


def _folder(path: Path, victim: Path) -> None:
    _replace(path)
    path.mkdir()


def _dangling(path: Path, victim: Path) -> None:
    _replace(path)
    path.symlink_to(victim.parent / "does-not-exist")


def _content(data: bytes) -> Planter:
    def plant(path: Path, victim: Path) -> None:
        _replace(path)
        path.write_bytes(data)

    return plant


DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_INT = b'{"run_id": "x", "n": ' + b"9" * 5000 + b"}"
BAD_FILES: dict[str, Planter] = {
    "link-to-victim": _link_to_victim,
    "link-to-dev-zero": _link_to_dev_zero,
    "fifo": _fifo,
    "folder": _folder,
    "dangling-link": _dangling,
    "deep-json": _content(DEEP + b"\n"),
    "huge-int": _content(HUGE_INT + b"\n"),
    "control-chars": _content(json.dumps({"run_id": EVIL, "label": EVIL}).encode() + b"\n"),
    "lone-surrogate": _content(b'{"run_id": "\\ud800", "answer": "\\udfff"}\n'),
    "bad-utf8": _content(b'{"run_id": "\xff\xfe"}\n'),
    "empty": _content(b""),
    "long-line": _content(b'{"run_id": "' + b"x" * 5000 + b'"}\n'),
}
