from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.errors import RunStoreError
from biasprobe.records import Response
from biasprobe.store import (
    RESPONSES,
    RunStore,
    check_run_id,
    read_manifest,
    read_responses,
    resolve_run_dir,
)


def _resp(pid: str, sample: int = 0) -> Response:
    return Response(run_id="r", probe_id=pid, sample=sample, probe_text="q", language="en",
                    topic="t", kind="neutral", prompt="p", answer="a ✓ 答", created="now")


def _manifest(fp: str = "x") -> dict[str, object]:
    return {"run_id": "r", "fingerprint": {"a": fp, "nested": {"b": 1}}}


def test_create_append_reopen(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    with RunStore.open(run_dir, _manifest()) as store:
        store.append([_resp("p1"), _resp("p2")])
    with RunStore.open(run_dir, _manifest()) as store:
        assert store.done_keys() == {("p1", 0), ("p2", 0)}
        assert "resumed" in store.manifest
    lines = (run_dir / RESPONSES).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "答" in lines[0]  # ensure_ascii=False
    assert read_manifest(run_dir)["created"]


def test_fingerprint_mismatch_refused_and_data_kept(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    with RunStore.open(run_dir, _manifest("x")) as store:
        store.append([_resp("p1")])
    with pytest.raises(RunStoreError, match=r"a changed"):
        RunStore.open(run_dir, _manifest("y"))
    assert len(read_responses(run_dir)) == 1


def test_torn_last_line_repaired_with_warning(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    with RunStore.open(run_dir, _manifest()) as store:
        store.append([_resp("p1"), _resp("p2")])
    with (run_dir / RESPONSES).open("a") as fh:
        fh.write('{"run_id": "r", "probe_id": "p3", "ans')
    with pytest.warns(UserWarning, match="torn last line"), RunStore.open(
        run_dir, _manifest()
    ) as store:
        assert store.done_keys() == {("p1", 0), ("p2", 0)}
    assert (run_dir / RESPONSES).read_text().endswith("\n")


def test_corrupt_middle_line_is_an_error_not_a_deletion(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    with RunStore.open(run_dir, _manifest()) as store:
        store.append([_resp("p1")])
    path = run_dir / RESPONSES
    path.write_text("garbage\n" + path.read_text())
    before = path.read_bytes()
    with pytest.raises(RunStoreError, match=":1: corrupt line"):
        read_responses(run_dir)
    assert path.read_bytes() == before


def test_second_writer_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    with RunStore.open(run_dir, _manifest()), pytest.raises(
        RunStoreError, match="in use by another biasprobe process"
    ):
        RunStore.open(run_dir, _manifest())
    RunStore.open(run_dir, _manifest()).close()  # released afterwards


def test_corrupt_manifest(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text("{not json")
    with pytest.raises(RunStoreError, match="corrupt manifest"):
        RunStore.open(run_dir, _manifest())


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", ".hidden", "", "a" * 300, "x/../../etc"])
def test_run_ids_cannot_escape_outputs(bad: str) -> None:
    with pytest.raises(RunStoreError):
        check_run_id(bad)


def test_resolve_run_dir(outputs: Path) -> None:
    with RunStore.open(outputs / "myrun", _manifest()):
        pass
    assert resolve_run_dir("myrun") == outputs / "myrun"
    assert resolve_run_dir(str(outputs / "myrun")) == outputs / "myrun"
    with pytest.raises(RunStoreError, match="not found"):
        resolve_run_dir("other")
    json.loads((outputs / "myrun" / "manifest.json").read_text())


def test_run_files_names_every_file_a_run_folder_owns() -> None:
    from biasprobe import internals, judgements, overrides, store
    from biasprobe.classify import score

    owned = {store.MANIFEST, store.RESPONSES, store.SCORES, store.LOCK, store.LOCK_PID,
             score.CANNED, score.SCORES_META, overrides.OVERRIDES, judgements.JUDGEMENTS,
             internals.INTERNALS, internals.DIRECTION}
    assert owned == store.RUN_FILES


@pytest.mark.parametrize(
    "args",
    [("report", "model-a", "-o", "{run}/responses.jsonl", "--format", "json"),
     ("report", "model-a", "model-b", "-o", "{run}/manifest.json"),
     ("review", "model-a", "--export", "{run}/scores.jsonl"),
     ("review", "model-a", "--blind", "--export", "{run}/overrides.jsonl")],
)
def test_an_output_never_replaces_a_file_of_a_run_folder(
    args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cli_helpers import assert_one_line_error, cli
    from diff_helpers import make_runs

    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    run_a, _ = make_runs(tmp_path)
    (run_a / "overrides.jsonl").write_text("")
    before = {p.name: p.read_bytes() for p in run_a.iterdir() if p.is_file()}
    code, _, err = cli(capsys, *(a.format(run=run_a) for a in args))
    assert_one_line_error(code, err, "is a file of the run folder")
    assert {p.name: p.read_bytes() for p in run_a.iterdir() if p.is_file()} == before
    # beside the run's files, a new name is fine
    code, _, err = cli(capsys, "report", "model-a", "-o", str(run_a / "report.md"))
    assert code == 0, err
