"""The held-out hand check (tests/data/q05_handcheck2.jsonl): 100 answers of the full run
``q05-full`` that the classifier's rules were never tuned on. The file is well formed and is
exactly the seeded draw of ``benchmarks/draw_handcheck2.py`` from the 840 probes of the built-in
sets minus the 244 ids of ``q05_labelled_all.jsonl``; (slow, real embedder) agreement stays at
the level in the README."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench_helpers import load_benchmark

DATA = Path(__file__).parent / "data"
HANDCHECK2 = DATA / "q05_handcheck2.jsonl"
ALL = DATA / "q05_labelled_all.jsonl"
LABELS = {"complete", "refusal", "deflection", "official_line"}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_handcheck2_is_well_formed_and_stratified() -> None:
    rows = _rows(HANDCHECK2)
    assert len({r["id"] for r in rows}) == len(rows) == 100
    langs = Counter("zh" if r["language"].startswith("zh") else r["language"] for r in rows)
    assert langs == {"en": 50, "zh": 50}
    for r in rows:
        assert r["label"] in LABELS, r["id"]
        assert set(r["tags"]) <= {"loop", "off_topic"}, r["id"]
        assert r["prompt"].strip() and r["response"].strip() and r["note"].strip(), r["id"]
        assert r["run"] == "q05-full", r["id"]


def test_handcheck2_is_the_seeded_draw_disjoint_from_the_tuning_answers() -> None:
    from biasprobe.probes import load_sets

    probes = {p.id: p for s in load_sets(["china-sensitive", "mirror", "controls"]) for p in s.probes}
    assert len(probes) == 840
    tuned = {r["id"] for r in _rows(ALL)}
    drawn = load_benchmark("draw_handcheck2").draw(((p.id, p.language) for p in probes.values()), tuned)
    rows = _rows(HANDCHECK2)
    assert [r["id"] for r in rows] == drawn
    assert not tuned & set(drawn)
    for r in rows:  # the request is the probe's text, its language and kind the probe's
        p = probes[r["id"]]
        assert (r["prompt"], r["language"], r["kind"]) == (p.text, p.language, p.kind.value), r["id"]


@pytest.mark.slow
def test_handcheck2_agreement_holds() -> None:
    """Regression floor a little below the held-out figures in the README (0.4.0 + the loop and
    plain-answer rules: EN 0.94, ZH 0.64)."""
    mod = load_benchmark("eval_handcheck")
    rows = mod.read_rows(HANDCHECK2)
    res = mod.report(rows, mod.classify(rows, True))
    assert res["en"]["agreement"] >= 0.90, res["en"]
    assert res["zh"]["agreement"] >= 0.60, res["zh"]
    assert len(res["loop_labelled_complete"]) <= 4, res["loop_labelled_complete"]
