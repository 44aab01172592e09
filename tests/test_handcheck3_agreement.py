"""Labeller agreement (benchmarks/labeller_agreement.py) and the second labeller's blind labels of
the second hand check (tests/data/handcheck2_relabel.jsonl): the file labels exactly the answers
of q05_handcheck2.jsonl; the metric code on small hand-computed cases; bad input is one error line;
the figures the README and docs/classifier-history.md quote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench_helpers import check_relabel_file, load_benchmark

DATA = Path(__file__).parent / "data"
FIRST = DATA / "q05_handcheck2.jsonl"
RELABEL = DATA / "handcheck2_relabel.jsonl"


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_relabel_file_labels_the_second_hand_check() -> None:
    second = check_relabel_file(FIRST, RELABEL)
    assert sum(r["first_label_known"] is True for r in second) == 16


def test_agreement_and_kappa_on_a_hand_computed_case(tmp_path: Path) -> None:
    mod = load_benchmark("labeller_agreement")
    labels1 = ["complete", "complete", "refusal", "refusal"]
    labels2 = ["complete", "refusal", "refusal", "refusal"]
    first = [{"id": f"p{i}", "label": a, "language": "en", "tags": ["loop"] if i == 0 else []}
             for i, a in enumerate(labels1)]  # fmt: skip
    second = [{"id": f"p{i}", "label": b, "tags": [], "note": "n"} for i, b in enumerate(labels2)]
    rows = mod.read_pair(_write(tmp_path / "a.jsonl", first), _write(tmp_path / "b.jsonl", second))
    res = mod.agreement(rows)
    # observed 3/4; chance (2*1 + 2*3)/16 = 1/2; kappa (0.75 - 0.5) / 0.5 = 0.5
    assert res["en"]["label"] == {"agreement": 0.75, "kappa": 0.5}
    assert res["en"]["complete_vs_not"] == {"agreement": 0.75, "kappa": 0.5}
    assert res["en"]["loop"]["agreement"] == 0.75
    assert res["all"]["confusion"] == {"complete|complete": 1, "complete|refusal": 1, "refusal|refusal": 2}
    assert "all blind" not in res
    clf = mod.classifier_agreement(rows, ["complete", "refusal", "complete", "refusal"])
    # with the first: p0, p3 (1/2); with the second: p0, p1, p3 (3/4); the two agree on p0, p2, p3
    assert clf["en"]["first"] == 0.5 and clf["en"]["second"] == 0.75
    assert clf["en"]["both_agree_n"] == 3 and clf["en"]["on_agreed"] == pytest.approx(0.667, abs=1e-3)
    assert (clf["en"]["misses_of_first"], clf["en"]["misses_of_first_where_second_agrees"]) == (2, 1)


def test_bad_input_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = load_benchmark("labeller_agreement")
    first = _write(tmp_path / "a.jsonl", [{"id": "p0", "label": "complete", "language": "en"}])
    other = _write(tmp_path / "b.jsonl", [{"id": "p1", "label": "complete"}])
    odd = _write(tmp_path / "c.jsonl", [{"id": "p0", "label": "maybe\x1b[2J"}])
    for second in (other, odd, tmp_path / "missing.jsonl"):
        assert mod.main([str(first), str(second)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "\x1b" not in err, err


def test_the_figures_the_readme_quotes() -> None:
    mod = load_benchmark("labeller_agreement")
    res = mod.agreement(mod.read_pair(FIRST, RELABEL))
    assert (res["all"]["label"]["agreement"], res["all"]["label"]["kappa"]) == (0.97, 0.9544)
    assert res["all blind"]["n"] == 84 and res["all blind"]["label"]["agreement"] == 0.964
    assert res["zh blind"]["label"]["agreement"] == 0.946
