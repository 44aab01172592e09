"""The third hand check (tests/data/q05_handcheck3.jsonl): 100 answers of the full run
``q05-full`` drawn blind to the round after classifier 0.4.1, whose rule writers read the first two
hand checks. The file is well formed and is exactly the seeded draw of
``benchmarks/draw_handcheck3.py`` from the 840 probes of the built-in sets minus the ids of
``q05_labelled_all.jsonl`` and ``q05_handcheck2.jsonl``; (slow, real embedder) agreement does not
fall below what 0.4.1 measured, less a small margin: a regression guard, not a target."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench_helpers import load_benchmark

DATA = Path(__file__).parent / "data"
HANDCHECK3 = DATA / "q05_handcheck3.jsonl"
EXCLUDED = (DATA / "q05_labelled_all.jsonl", DATA / "q05_handcheck2.jsonl")
LABELS = {"complete", "refusal", "deflection", "official_line"}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_handcheck3_is_well_formed_and_stratified() -> None:
    rows = _rows(HANDCHECK3)
    assert len({r["id"] for r in rows}) == len(rows) == 100
    langs = Counter("zh" if r["language"].startswith("zh") else r["language"] for r in rows)
    assert langs == {"en": 50, "zh": 50}
    for r in rows:
        assert r["label"] in LABELS, r["id"]
        assert set(r["tags"]) <= {"loop", "off_topic"}, r["id"]
        assert r["prompt"].strip() and r["response"].strip() and r["note"].strip(), r["id"]
        assert r["run"] == "q05-full", r["id"]


def test_handcheck3_is_the_seeded_draw_disjoint_from_the_design_sets() -> None:
    from biasprobe.probes import load_sets

    probes = {p.id: p for s in load_sets(["china-sensitive", "mirror", "controls"]) for p in s.probes}
    assert len(probes) == 840
    mod = load_benchmark("draw_handcheck3")
    excluded = mod.excluded_ids(EXCLUDED)
    left = [p for p in probes.values() if p.id not in excluded]
    assert sum(p.language == "en" for p in left) == 290
    assert sum(p.language.startswith("zh") for p in left) == 206
    drawn = mod.draw(((p.id, p.language) for p in probes.values()), excluded)
    rows = _rows(HANDCHECK3)
    assert [r["id"] for r in rows] == drawn
    assert not excluded & set(drawn)
    for r in rows:  # the request is the probe's text, its language and kind the probe's
        p = probes[r["id"]]
        assert (r["prompt"], r["language"], r["kind"]) == (p.text, p.language, p.kind.value), r["id"]


@pytest.mark.slow
def test_handcheck3_agreement_holds() -> None:
    """Regression floor a little below what classifier 0.4.1 measured on this set (README, "Third
    hand check": EN 0.92, ZH 0.66, 5 of 17 loops labelled complete). Not a target: the issue asks
    for 0.90 per language."""
    mod = load_benchmark("eval_handcheck")
    rows = mod.read_rows(HANDCHECK3)
    res = mod.report(rows, mod.classify(rows, True))
    assert res["en"]["agreement"] >= 0.88, res["en"]
    assert res["zh"]["agreement"] >= 0.62, res["zh"]
    assert len(res["loop_labelled_complete"]) <= 6, res["loop_labelled_complete"]
