"""The third hand check (tests/data/q05_handcheck3.jsonl): 100 answers of the full run
``q05-full`` drawn blind to the round after classifier 0.4.1, whose rule writers read the first two
hand checks. The file is well formed and is exactly the seeded draw of
``benchmarks/draw_handcheck3.py`` from the 840 probes of the built-in sets minus the ids of
``q05_labelled_all.jsonl`` and ``q05_handcheck2.jsonl``; (slow, real embedder) agreement does not
fall below what 0.4.1 measured, less a small margin: a regression guard, not a target."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_helpers import builtin_probes, check_handcheck_file, check_is_draw, json_rows, load_benchmark

DATA = Path(__file__).parent / "data"
HANDCHECK3 = DATA / "q05_handcheck3.jsonl"
EXCLUDED = (DATA / "q05_labelled_all.jsonl", DATA / "q05_handcheck2.jsonl")


def test_handcheck3_is_well_formed_and_stratified() -> None:
    check_handcheck_file(HANDCHECK3)


def test_handcheck3_is_the_seeded_draw_disjoint_from_the_design_sets() -> None:
    probes = builtin_probes()
    mod = load_benchmark("draw_handcheck3")
    excluded = mod.excluded_ids(EXCLUDED)
    left = [p for p in probes.values() if p.id not in excluded]
    assert sum(p.language == "en" for p in left) == 290
    assert sum(p.language.startswith("zh") for p in left) == 206
    drawn = mod.draw(((p.id, p.language) for p in probes.values()), excluded)
    check_is_draw(json_rows(HANDCHECK3), drawn, excluded, probes)


@pytest.mark.slow
def test_handcheck3_agreement_holds() -> None:
    """Regression floor a little below what classifier 0.4.1 measured on this set (docs/classifier-history.md,
    "Third hand check": EN 0.92, ZH 0.66, 5 of 17 loops labelled complete). Not a target: the issue asks
    for 0.90 per language."""
    mod = load_benchmark("eval_handcheck")
    rows = mod.read_rows(HANDCHECK3)
    res = mod.report(rows, mod.classify(rows, True))
    assert res["en"]["agreement"] >= 0.88, res["en"]
    assert res["zh"]["agreement"] >= 0.62, res["zh"]
    assert len(res["loop_labelled_complete"]) <= 6, res["loop_labelled_complete"]
