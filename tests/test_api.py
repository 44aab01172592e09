"""The notebook API: biasprobe.open_run / Run.to_pandas / biasprobe.diff, on imported runs with
fixed scores (tests/diff_helpers.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import biasprobe
from biasprobe.errors import RunStoreError
from cli_helpers import cli
from diff_helpers import make_runs, planted


@pytest.fixture
def runs(tmp_path: Path) -> tuple[Path, Path]:
    return make_runs(tmp_path)


def test_open_run_by_id_and_by_path(runs: tuple[Path, Path]) -> None:
    run = biasprobe.open_run("model-a")
    assert run.run_id == "model-a" and run.model == "vendor/model-a"
    assert run.manifest.imported and run.manifest.source is not None
    assert len(run.responses) == len(run.scores) == len(planted())
    assert run.overrides == []
    by_path = biasprobe.open_run(runs[1])
    assert by_path.run_id == "model-b" and by_path.run_dir == runs[1]
    expected = {(p.prompt_id, 0): p.label_b for p in planted()}
    assert by_path.labels() == expected


def test_to_pandas_one_row_per_response_with_its_label(runs: tuple[Path, Path]) -> None:
    pytest.importorskip("pandas")
    frame = biasprobe.open_run("model-b").to_pandas()
    assert len(frame) == len(planted())
    want = {p.prompt_id: p.label_b for p in planted()}
    assert dict(zip(frame["probe_id"], frame["label"], strict=True)) == want
    assert {"answer", "language", "kind", "confidence", "reviewed"} <= set(frame.columns)
    assert not frame["reviewed"].any()


def test_overrides_are_applied_and_marked(runs: tuple[Path, Path]) -> None:
    first = planted()[0]
    line = {"schema_version": 1, "probe_id": first.prompt_id, "sample": 0,
            "label_before": first.label_a, "label_after": "deflection", "reviewer": "t",
            "created": "2026-12-02T00:00:00Z", "classifier_version": "fixed"}
    (runs[0] / "overrides.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    run = biasprobe.open_run("model-a")
    assert len(run.overrides) == 1
    assert run.labels()[(first.prompt_id, 0)] == "deflection"
    rows = {r["probe_id"]: r for r in run.rows()}
    assert rows[first.prompt_id]["reviewed"] and rows[first.prompt_id]["label"] == "deflection"
    assert sum(r["reviewed"] for r in rows.values()) == 1


def test_to_pandas_without_pandas_says_how_to_install(
    runs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'biasprobe\[pandas\]'"):
        biasprobe.open_run("model-a").to_pandas()


def test_unscored_run_and_missing_run(tmp_path: Path) -> None:
    make_runs(tmp_path, scored=False)
    run = biasprobe.open_run("model-a")
    assert run.scores == {} and all(r["label"] is None for r in run.rows())
    with pytest.raises(RunStoreError, match="not found"):
        biasprobe.open_run("no-such-run")


def test_diff_returns_what_the_cli_prints(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from biasprobe.results import DiffResult

    result = biasprobe.diff("model-a", runs[1])
    assert isinstance(result, DiffResult)
    code, out, _ = cli(capsys, "diff", "model-a", "model-b", "--format", "json")
    assert code == 0
    assert json.loads(json.dumps(result.to_json())) == json.loads(out)
    bh = biasprobe.diff("model-a", "model-b", correction="bh")
    assert bh.correction == "bh" and bh.to_json() != result.to_json()  # options reach diff_runs


def test_import_stays_light_and_diff_stays_callable() -> None:
    code = ("import sys, biasprobe; assert 'pydantic' not in sys.modules, 'pydantic'; "
            "import biasprobe.diff; from biasprobe.diff import diff_runs; "
            "assert callable(biasprobe.diff) and biasprobe.diff.__module__ == 'biasprobe'")
    subprocess.run([sys.executable, "-c", code], check=True)
