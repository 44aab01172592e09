"""``biasprobe review``: the order, the key-driven session, the CSV round trip (and hostile CSV),
escaping in the terminal UI, and a whole session driven through a pseudo-terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from biasprobe.overrides import OVERRIDES, Override, read_overrides
from biasprobe.records import Exemplar, Label
from biasprobe.review import (
    ReviewInputError,
    ReviewItem,
    Session,
    export_csv,
    handle_key,
    load_items,
    order_items,
    priority,
    read_csv_decisions,
)
from cli_helpers import assert_one_line_error, cli
from review_helpers import real_run, response, score

SRC = Path(__file__).resolve().parents[1] / "src"


def _item(pid: str, label: Label, conf: float, other: Label | None = None,
          reviewed: bool = False) -> ReviewItem:
    s = score(pid, label, conf)
    ov = None
    if reviewed:
        ov = Override(probe_id=pid, label_before=label, label_after=label, reviewer="x",
                      created="2026-01-01T00:00:00+00:00")
    return ReviewItem(response=response(pid), score=s, label=label, override=ov,
                      other_label=other)


def test_order_flipped_uncertain_low_confidence_rest_reviewed() -> None:
    items = [
        _item("rest-hi", Label.complete, 0.99),
        _item("reviewed", Label.uncertain, 0.1, other=Label.complete, reviewed=True),
        _item("low", Label.refusal, 0.4),
        _item("rest-lo", Label.refusal, 0.7),
        _item("unc", Label.uncertain, 0.5),
        _item("same-in-b", Label.complete, 0.8, other=Label.complete),
        _item("flip-hi", Label.refusal, 0.95, other=Label.complete),
        _item("flip-lo", Label.complete, 0.3, other=Label.refusal),
        _item("low-lower", Label.deflection, 0.2),
    ]
    got = [it.response.probe_id for it in order_items(items)]
    assert got == ["flip-lo", "flip-hi", "unc", "low-lower", "low", "rest-lo", "same-in-b",
                   "rest-hi", "reviewed"]
    assert priority(items[2], low_confidence=0.3) == 3  # the threshold is a setting


def _session(items: list[ReviewItem]) -> tuple[Session, list[Override]]:
    written: list[Override] = []
    return Session(items=list(items), reviewer="ana", sink=written.extend), written


def test_keys_label_note_skip_back_confirm_quit() -> None:
    s, written = _session([_item("a", Label.complete, 0.5), _item("b", Label.refusal, 0.5),
                           _item("c", Label.uncertain, 0.5)])
    notes = iter(["  hedges, then refuses  "])
    assert "complete -> refusal" in (handle_key(s, "r", lambda _p: next(notes)) or "")
    assert handle_key(s, "n", lambda _p: next(notes)) is not None and s.note
    assert handle_key(s, "D", lambda _p: "") is not None  # upper case works too
    assert handle_key(s, "s", lambda _p: "") == "skipped" and s.index == 3
    assert handle_key(s, "x", lambda _p: "").startswith("end of the list")  # type: ignore[union-attr]
    handle_key(s, "b", lambda _p: "")
    assert "confirmed" in (handle_key(s, "\r", lambda _p: "") or "")
    assert handle_key(s, "q", lambda _p: "") is None
    assert [(o.probe_id, o.label_before, o.label_after, o.note) for o in written] == [
        ("a", Label.complete, Label.refusal, None),
        ("b", Label.refusal, Label.deflection, "hedges, then refuses"),
        ("c", Label.uncertain, Label.uncertain, None),
    ]
    assert all(o.reviewer == "ana" and o.classifier_version == "test-1" for o in written)
    assert s.items[0].label is Label.refusal and s.items[0].override == written[0]


def test_a_failed_write_keeps_the_session() -> None:
    from biasprobe.errors import RunStoreError

    def locked(_records: object) -> None:
        raise RunStoreError("run is in use by another biasprobe process")

    s = Session(items=[_item("a", Label.complete, 0.5)], reviewer="ana", sink=locked)
    assert (handle_key(s, "r", lambda _p: "") or "").startswith("not saved: run is in use")
    assert s.index == 0 and s.items[0].label is Label.complete and not s.decided


def test_note_is_dropped_when_moving_on() -> None:
    s, written = _session([_item("a", Label.complete, 0.5), _item("b", Label.complete, 0.5)])
    handle_key(s, "n", lambda _p: "for a")
    handle_key(s, "s", lambda _p: "")
    handle_key(s, "c", lambda _p: "")
    assert written[0].probe_id == "b" and written[0].note is None


def test_render_escapes_model_output() -> None:
    from rich.console import Console

    from biasprobe.cli._review import _render

    hostile = "ok \x1b]0;pwned\x07 \x1b[3A [bold]markup[/bold] \u202eevil"
    item = ReviewItem(
        response=response("h", answer=hostile),
        score=score("h", Label.complete, 0.9).model_copy(update={"nearest_exemplars": [
            Exemplar(label=Label.refusal, text="near \x1b[31m", similarity=0.5)]}),
        label=Label.complete,
    )
    s, _ = _session([item])
    buf = io.StringIO()
    _render(Console(file=buf, force_terminal=True, width=100), s, "status \x1b[1m", 0.6)
    out = buf.getvalue()
    assert "\x1b]0;" not in out and "\x1b[3A" not in out and "\u202e" not in out
    assert "\\x1b]0;pwned" in out and "[bold]markup[/bold]" in out and "\\u202e" in out
    assert "\x1b[31m" not in out


# --- CSV --------------------------------------------------------------------------------------


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_csv_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    out = tmp_path / "review.csv"
    code, _, err = cli(capsys, "review", "qwen-a", "--export", str(out))
    assert code == 0, err
    raw = out.read_text(encoding="utf-8")
    rows = _rows(raw)
    assert len(rows) == 22
    assert [r["probe_id"] for r in rows] == [it.response.probe_id for it in load_items(run_dir)]
    assert raw.splitlines()[1].startswith('"qwen-a","')  # every text cell is quoted
    rows[0]["new_label"], rows[0]["note"] = "Official line", "state position"
    keep = rows[1]["label"]
    rows[1]["new_label"] = keep
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    out.write_text(buf.getvalue(), encoding="utf-8")
    code, stdout, err = cli(capsys, "review", "qwen-a", "--import", str(out),
                            "--reviewer", "sheet")
    assert code == 0, err
    assert "imported 2 decisions" in stdout
    got = read_overrides(run_dir)
    assert [(o.probe_id, o.label_after.value, o.note, o.reviewer) for o in got] == [
        (rows[0]["probe_id"], "official_line", "state position", "sheet"),
        (rows[1]["probe_id"], keep, None, "sheet"),
    ]
    assert got[1].confirms


def test_csv_round_trip_of_a_long_answer_and_a_large_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An answer (or reasoning trace) over the csv module's default 128 KiB field limit: the
    sheet --export wrote must import back (it was 'not a readable CSV'); so must a sample
    number as large as ``import`` accepts."""
    from biasprobe.classify import score_run
    from biasprobe.importer import import_file

    src = tmp_path / "long.jsonl"
    src.write_text(json.dumps({"prompt_id": "p0", "prompt": "Q?", "response": "word " * 40000,
                               "sample": 10**25})
                   + "\n", encoding="utf-8")
    run_dir = import_file(src, "long").run_dir
    score_run(run_dir, embedder="fake", progress=False)
    sheet = tmp_path / "long.csv"
    assert cli(capsys, "review", "long", "--export", str(sheet))[0] == 0
    raw = sheet.read_bytes()
    assert raw.count(b'"","",""\r\n') == 1  # reviewed_by, new_label, note of the one row
    sheet.write_bytes(raw.replace(b'"","",""\r\n', b'"","refusal",""\r\n'))
    import csv

    limit = csv.field_size_limit()
    code, _, err = cli(capsys, "review", "long", "--import", str(sheet))
    assert code == 0, err
    assert [(o.sample, o.label_after.value) for o in read_overrides(run_dir)] == [
        (10**25, "refusal")]
    assert csv.field_size_limit() == limit  # raised for this sheet only, then put back


def test_csv_export_neutralises_formulas(tmp_path: Path) -> None:
    from biasprobe.importer import import_file

    src = tmp_path / "evil.jsonl"
    src.write_text(json.dumps({"prompt_id": "p1", "prompt": "=HYPERLINK(\"http://x\")",
                               "response": "-1+2", "topic": "@SUM(A1)"}) + "\n")
    run_dir = import_file(src, "evil").run_dir
    from biasprobe.classify.score import score_run

    score_run(run_dir, embedder="fake", progress=False)
    rows = _rows(export_csv(load_items(run_dir)))
    assert rows[0]["prompt"].startswith("'=") and rows[0]["answer"] == "'-1+2"
    assert rows[0]["topic"] == "'@SUM(A1)"


def test_csv_export_escapes_control_characters_and_keeps_lines(tmp_path: Path) -> None:
    """A review sheet printed in a terminal cannot drive it; its answers keep their lines, and
    only a cell's first character is neutralised (a reader sees "a - b" as written)."""
    from biasprobe.classify.score import score_run
    from biasprobe.importer import import_file

    src = tmp_path / "evil.jsonl"
    answer = "\uff1dcmd\n- item one\n\x1b[31mred\x07 a - b"
    src.write_text(json.dumps({"prompt_id": "p1", "prompt": "q", "response": answer}) + "\n")
    run_dir = import_file(src, "evil").run_dir
    score_run(run_dir, embedder="fake", progress=False)
    text = export_csv(load_items(run_dir))
    assert "\x1b" not in text and "\x07" not in text
    got = _rows(text)[0]["answer"]
    assert got == "'\uff1dcmd\n- item one\n\\x1b[31mred\\x07 a - b"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("probe_id,sample,new_label\ntaiwan-status-en,0,banana\n", "unknown label 'banana'"),
        ("probe_id,sample,new_label\nno-such-probe,0,refusal\n", "no answer 'no-such-probe'"),
        ("probe_id,sample,new_label\ntaiwan-status-en,x,refusal\n", "is not a whole number"),
        # str.isdigit() accepts these, int() does not: one error line, not an internal error
        ("probe_id,sample,new_label\ntaiwan-status-en,\u00b2,refusal\n", "is not a whole number"),
        ("probe_id,sample,new_label\ntaiwan-status-en," + "9" * 5000 + ",refusal\n",
         "is not a whole number"),
        ("run_id,probe_id,sample,order,blind_seed,new_label\n"
         "qwen-a,taiwan-status-en,0,\u00b9,1,refusal\n", "must be whole numbers"),
        ("run_id,probe_id,sample,order,blind_seed,new_label\n"
         "qwen-a,taiwan-status-en,0,1," + "9" * 5000 + ",refusal\n", "must be whole numbers"),
        ("probe_id,sample,new_label\ntaiwan-status-en,7,refusal\n", "sample 7"),
        ("run_id,probe_id,sample,new_label\nother,taiwan-status-en,0,refusal\n", "not this run"),
        ("probe_id,sample\ntaiwan-status-en,0\n", "no column new_label"),
        ("", "no column"),
        ("probe_id,sample,new_label\ntaiwan-status-en,0,refusal\n"
         "tank-man-en,0,=cmd|' /C calc'!A0\n", "line 3: unknown label"),
        # one answer given two labels in one sheet: which one was meant?
        ("probe_id,sample,new_label\ntaiwan-status-en,0,refusal\ntank-man-en,0,refusal\n"
         "taiwan-status-en,,complete\n", "line 4: 'taiwan-status-en' sample 0 was set to "
         "refusal on line 2"),
    ],
)
def test_bad_csv_is_one_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    code, _, err = cli(capsys, "review", "qwen-a", "--import", str(path))
    assert_one_line_error(code, err, expected)
    assert not (run_dir / OVERRIDES).exists()


def test_a_row_without_a_sample_names_one_only_where_the_prompt_has_one(tmp_path: Path) -> None:
    items = [_item("one", Label.complete, 0.9)]
    items += [ReviewItem(response=response("two", sample=k), score=score("two", Label.complete,
                         0.9, sample=k), label=Label.complete) for k in (0, 1)]
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("probe_id,sample,new_label\none,,refusal\n", encoding="utf-8")
    got = read_csv_decisions(sheet, items, "r")
    assert [(d.item.key, d.label) for d in got] == [(("one", 0), Label.refusal)]
    sheet.write_text("probe_id,new_label\none,refusal\ntwo,refusal\n", encoding="utf-8")
    with pytest.raises(ReviewInputError, match="line 3: no sample given, and 'two' has 2 "):
        read_csv_decisions(sheet, items, "r")
    # the same label twice is one decision said twice, not a conflict
    sheet.write_text("probe_id,sample,new_label\ntwo,1,refusal\ntwo,1,Refusal\n",
                     encoding="utf-8")
    assert [d.line for d in read_csv_decisions(sheet, items, "r")] == [2, 3]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_csv_that_is_not_a_regular_file_is_one_error_without_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A FIFO would block the read for ever and /dev/zero never ends: refused at once."""
    import signal

    run_dir = real_run(tmp_path, "qwen-a")
    path = tmp_path / "sheet.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()

    class Hang(BaseException):  # not caught by main(), unlike TimeoutError (an OSError)
        pass

    def hang(signum: int, frame: object) -> None:
        raise Hang()

    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(10)
    try:
        code, _, err = cli(capsys, "review", "qwen-a", "--import", str(path))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert_one_line_error(code, err, str(path))
    assert not (run_dir / OVERRIDES).exists()


def test_binary_csv_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    path = tmp_path / "bad.csv"
    path.write_bytes(b"probe_id,new_label\n\xff\xfe\x00\x00")
    code, _, err = cli(capsys, "review", "qwen-a", "--import", str(path))
    assert_one_line_error(code, err, "not valid UTF-8")
    path.write_bytes(b"probe_id,new_label\n\"tank-man-en\x00,refusal\n")
    code, _, err = cli(capsys, "review", "qwen-a", "--import", str(path))
    assert_one_line_error(code, err, "not a readable CSV")
    assert not (run_dir / OVERRIDES).exists()


def test_review_without_terminal_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real_run(tmp_path, "qwen-a")
    code, _, err = cli(capsys, "review", "qwen-a")
    assert_one_line_error(code, err, "needs a terminal")


# --- a whole session through a pseudo-terminal -------------------------------------------------


class Pty:
    """``biasprobe ARGS`` on a pseudo-terminal, fed key presses like a person at a keyboard."""

    def __init__(self, args: list[str]) -> None:
        import fcntl
        import struct
        import termios

        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        env = {**os.environ, "PYTHONPATH": str(SRC), "TERM": "xterm-256color",
               "COLUMNS": "120", "LINES": "50"}
        self.proc = subprocess.Popen([sys.executable, "-m", "biasprobe", *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.out = b""

    def read_until(self, marker: bytes, count: int = 1, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.out.count(marker) < count:
            assert time.monotonic() < deadline, f"waited for {marker!r}: {self.out[-2000:]!r}"
            if select.select([self.master], [], [], 0.2)[0]:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    break

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def finish(self) -> int:
        self.read_until(b"written to", timeout=60)
        code = self.proc.wait(timeout=60)
        os.close(self.master)
        return code


def _other(label: Label) -> tuple[bytes, Label]:
    return (b"d", Label.deflection) if label is not Label.deflection else (b"o", Label.official_line)


def test_review_session_through_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_a = real_run(tmp_path, "qwen-a")
    real_run(tmp_path, "qwen-b")
    order = load_items(run_a)
    key1, label1 = _other(order[0].label)
    key2, label2 = _other(order[1].label)
    help_line = b"y/enter confirm"
    term = Pty(["review", "qwen-a", "qwen-b", "--reviewer", "tester"])
    term.read_until(help_line, 1)
    term.send(key1)                       # 1st answer: a new label
    term.read_until(help_line, 2)
    term.send(b"n")                       # 2nd answer: a note, then a new label
    term.read_until(b"note: ")
    term.send(b"canned state line\r")
    term.read_until(help_line, 3)
    term.send(key2)
    term.read_until(help_line, 4)
    term.send(b"s")                       # 3rd: skip, then come back and confirm
    term.read_until(help_line, 5)
    term.send(b"b")
    term.read_until(help_line, 6)
    term.send(b"y")
    term.read_until(help_line, 7)
    term.send(b"q")
    assert term.finish() == 0
    assert b"3 decisions (2 changed)" in term.out
    got = read_overrides(run_a)
    assert [(o.probe_id, o.label_after, o.note, o.reviewer) for o in got] == [
        (order[0].response.probe_id, label1, None, "tester"),
        (order[1].response.probe_id, label2, "canned state line", "tester"),
        (order[2].response.probe_id, order[2].label, None, "tester"),
    ]
    # diff and report use the reviewed labels and say how many were used
    code, out, err = cli(capsys, "diff", "qwen-a", "qwen-b", "--format", "json")
    assert code == 0, err
    res = json.loads(out)
    assert res["run_a"]["overrides_used"] == 3 and res["run_b"]["overrides_used"] == 0
    flips = {(f["probe_id"], f["label_a"]) for f in res["flips"]}
    assert flips == {(order[0].response.probe_id, label1.value),
                     (order[1].response.probe_id, label2.value)}
    code, out, err = cli(capsys, "report", "qwen-a", "qwen-b", "--format", "json")
    assert code == 0, err
    assert [r["overrides_used"] for r in json.loads(out)["runs"]] == [3, 0]
    code, out, _ = cli(capsys, "diff", "qwen-a", "qwen-b")
    # the first line after the runs' control-check warnings (the Chinese answers' since 0.9.2)
    first = next(line for line in out.splitlines() if not line.startswith("WARNING: control check"))
    assert code == 0 and "3 labels set by reviewers" in first
    for fmt in ("md", "html"):
        code, out, _ = cli(capsys, "report", "qwen-a", "qwen-b", "--format", fmt)
        assert code == 0 and out.count("3 labels set by reviewers") == 1
