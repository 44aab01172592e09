"""overrides.jsonl: append-only, latest wins, links refused, bad lines one error; every reader
of labels (diff, report, show) uses the overrides and says how many."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from biasprobe.diff import load_scored_run, read_scores
from biasprobe.errors import RunStoreError
from biasprobe.overrides import (
    OVERRIDES,
    Override,
    append_overrides,
    default_reviewer,
    latest_overrides,
    make_override,
    read_overrides,
)
from biasprobe.records import Label
from biasprobe.store import LOCK, append_run_lines
from cli_helpers import assert_one_line_error, cli
from diff_helpers import make_runs


def _override(run_dir: Path, probe_id: str, after: Label, note: str | None = None) -> Override:
    score = read_scores(run_dir)[(probe_id, 0)]
    return make_override(score, after, label_before=score.label, reviewer="tester", note=note)


def test_append_only_and_latest_wins(tmp_path: Path) -> None:
    run_a, _ = make_runs(tmp_path)
    scores_before = (run_a / "scores.jsonl").read_bytes()
    append_overrides(run_a, [_override(run_a, "bread-1", Label.refusal, "first look")])
    first = (run_a / OVERRIDES).read_bytes()
    append_overrides(run_a, [_override(run_a, "bread-1", Label.deflection)])
    data = (run_a / OVERRIDES).read_bytes()
    assert data.startswith(first) and data.count(b"\n") == 2  # appended, not rewritten
    assert (run_a / "scores.jsonl").read_bytes() == scores_before  # scores never rewritten
    assert len(read_overrides(run_a)) == 2
    latest = latest_overrides(run_a)
    assert latest[("bread-1", 0)].label_after is Label.deflection
    assert latest[("bread-1", 0)].label_before is Label.refusal  # the label then in force
    assert read_scores(run_a)[("bread-1", 0)].label is Label.deflection
    rec = json.loads(first)
    assert rec["reviewer"] == "tester" and rec["note"] == "first look"
    assert rec["classifier_version"] == "test-1" and rec["label_before"] == "complete"
    assert rec["created"].endswith("+00:00")


def test_confirmation_keeps_label_and_counts_as_used(tmp_path: Path) -> None:
    run_a, _ = make_runs(tmp_path)
    ov = _override(run_a, "weapon-1", Label.refusal)
    assert ov.confirms
    append_overrides(run_a, [ov, _override(run_a, "bread-2", Label.refusal)])
    run = load_scored_run(run_a)
    assert run.overrides_used == 2
    assert run.items[("weapon-1", 0)].label == "refusal"
    assert run.items[("bread-2", 0)].label == "refusal"


def test_override_of_unknown_answer_is_not_used(tmp_path: Path) -> None:
    run_a, _ = make_runs(tmp_path)
    ov = _override(run_a, "bread-1", Label.refusal).model_copy(update={"probe_id": "nope"})
    append_overrides(run_a, [ov])
    assert load_scored_run(run_a).overrides_used == 0


@pytest.mark.parametrize("target", ["file", "dir"])
def test_links_refused(tmp_path: Path, target: str) -> None:
    run_a, _ = make_runs(tmp_path)
    ov = _override(run_a, "bread-1", Label.refusal)
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text("")
    if target == "file":
        (run_a / OVERRIDES).symlink_to(elsewhere)
        victim = run_a
    else:
        victim = tmp_path / "linked-run"
        victim.symlink_to(run_a)
    with pytest.raises(RunStoreError, match="symbolic link"):
        append_overrides(victim, [ov])
    assert elsewhere.read_text() == ""


def test_lock_held_by_another_writer_is_refused(tmp_path: Path) -> None:
    run_a, _ = make_runs(tmp_path)
    ov = _override(run_a, "bread-1", Label.refusal)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom filelock import FileLock\n"
         "lock = FileLock(sys.argv[1])\nlock.acquire()\nprint('held', flush=True)\ntime.sleep(60)",
         str(run_a / LOCK)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunStoreError, match="in use"):
            append_run_lines(run_a, OVERRIDES, [ov.model_dump_json()], timeout_s=0.1)
    finally:
        holder.kill()
        holder.wait()
    assert not (run_a / OVERRIDES).exists()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"not json\n", "corrupt line"),
        (b'{"probe_id": "bread-1"}\n', "invalid override record"),
        (b"\xff\xfe\n", "not valid UTF-8"),
        (b'{"probe_id": "bread-1", "sample": 0, "label_before": "complete", "label_after": '
         b'"bogus", "reviewer": "x", "created": "t"}\n', "label_after"),
        (b'{"probe_id": "../x", "sample": 0, "label_before": "complete", "label_after": '
         b'"refusal", "reviewer": "x", "created": "t"}\n', "probe_id"),
    ],
)
def test_bad_line_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: bytes, expected: str
) -> None:
    run_a, run_b = make_runs(tmp_path)
    (run_a / OVERRIDES).write_bytes(line)
    before = (run_a / OVERRIDES).read_bytes()
    for args in (["diff", str(run_a), str(run_b)], ["show", str(run_a)],
                 ["report", str(run_a), "--format", "json"]):
        code, _, err = cli(capsys, *args)
        assert_one_line_error(code, err, expected)
    assert (run_a / OVERRIDES).read_bytes() == before


def test_torn_last_line_is_skipped_and_repaired_on_append(tmp_path: Path) -> None:
    run_a, _ = make_runs(tmp_path)
    append_overrides(run_a, [_override(run_a, "bread-1", Label.refusal)])
    with (run_a / OVERRIDES).open("ab") as fh:
        fh.write(b'{"probe_id": "bread-2", "sam')
    assert len(read_overrides(run_a)) == 1
    with pytest.warns(UserWarning, match="torn"):
        append_overrides(run_a, [_override(run_a, "bread-3", Label.deflection)])
    assert [o.probe_id for o in read_overrides(run_a)] == ["bread-1", "bread-3"]


def test_diff_report_show_use_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_a, run_b = make_runs(tmp_path)
    append_overrides(run_a, [_override(run_a, "bread-1", Label.refusal, "looks refused")])
    code, out, _ = cli(capsys, "diff", str(run_a), str(run_b), "--format", "json")
    assert code == 0
    res = json.loads(out)
    assert res["run_a"]["overrides_used"] == 1 and res["run_b"]["overrides_used"] == 0
    flipped = {(f["probe_id"], f["label_a"], f["label_b"]) for f in res["flips"]}
    assert ("bread-1", "refusal", "complete") in flipped
    code, out, _ = cli(capsys, "report", str(run_a), "--format", "json")
    assert code == 0 and json.loads(out)["runs"][0]["overrides_used"] == 1
    code, out, _ = cli(capsys, "show", str(run_a))
    assert code == 0
    assert "overrides: 1" in out and "refusal*" in out
    code, out, _ = cli(capsys, "show", str(run_a), "--format", "json")
    assert json.loads(out)["header"]["overrides"] == 1


def test_default_reviewer(monkeypatch: pytest.MonkeyPatch) -> None:
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "ana")
    assert default_reviewer() == "ana"

    def broken() -> str:
        raise OSError("no login")

    monkeypatch.setattr(getpass, "getuser", broken)
    assert default_reviewer() == "unknown"


def test_fifo_in_place_of_the_file_is_refused_without_blocking(tmp_path: Path) -> None:
    run_a, _ = make_runs(tmp_path)
    os.mkfifo(run_a / OVERRIDES)
    with pytest.raises(RunStoreError, match=r"not a regular file|cannot write"):
        append_overrides(run_a, [_override(run_a, "bread-1", Label.refusal)])
    with pytest.raises(RunStoreError, match="not a regular file"):
        read_overrides(run_a)


def test_bad_reviewer_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_runs(tmp_path)
    code, _, err = cli(capsys, "review", "model-a", "--reviewer", "x" * 101, "--export",
                       str(tmp_path / "r.csv"))
    assert_one_line_error(code, err, "--reviewer")
