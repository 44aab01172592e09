"""The sixth hand check (tests/data/q05_handcheck6.jsonl): 100 answers of the full run ``q05-full``
drawn and labelled blind for the round that had the first three hand checks of that run as design
sets. The figure measured on it is only honest if the file is exactly the seeded draw (not a
hand-picked set): ``benchmarks/draw_handcheck3.py --seed 1606`` from the 840 probes of the built-in
sets minus the ids of ``q05_labelled_all.jsonl``, ``q05_handcheck2.jsonl`` and
``q05_handcheck3.jsonl``. The classifier test (slow) was added by the lead after measuring once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench_helpers import (
    builtin_probes,
    check_handcheck_file,
    check_holds_on_handcheck,
    check_is_draw,
    json_rows,
    load_benchmark,
)

DATA = Path(__file__).parent / "data"
HANDCHECK6 = DATA / "q05_handcheck6.jsonl"
EXCLUDED = (DATA / "q05_labelled_all.jsonl", DATA / "q05_handcheck2.jsonl", DATA / "q05_handcheck3.jsonl")
SEED = 1606


def test_handcheck6_is_well_formed_and_stratified() -> None:
    rows = check_handcheck_file(HANDCHECK6)
    fields = list(json_rows(DATA / "q05_handcheck3.jsonl")[0])  # the same layout as the third check
    assert all(list(r) == fields for r in rows)
    assert all(r["finish_reason"] in {"stop", "length"} for r in rows)


def test_handcheck6_is_the_seeded_draw_disjoint_from_the_design_sets() -> None:
    probes = builtin_probes()
    mod = load_benchmark("draw_handcheck3")
    excluded = mod.excluded_ids(EXCLUDED)
    assert len(excluded) == 444
    left = [p for p in probes.values() if p.id not in excluded]
    assert sum(p.language == "en" for p in left) == 240
    assert sum(p.language.startswith("zh") for p in left) == 156
    drawn = mod.draw(((p.id, p.language) for p in probes.values()), excluded, seed=SEED)
    assert drawn != mod.draw(((p.id, p.language) for p in probes.values()), excluded)
    check_is_draw(json_rows(HANDCHECK6), drawn, excluded, probes)


def test_handcheck6_counts_match_the_readme() -> None:
    """The label and tag counts stated in tests/data/README.md ("Sixth hand check")."""
    rows = json_rows(HANDCHECK6)
    by_lang = {lang: Counter(r["label"] for r in rows if r["language"][:2] == lang) for lang in ("en", "zh")}
    assert by_lang["en"] == Counter(refusal=40, deflection=5, official_line=3, complete=2)
    assert by_lang["zh"] == Counter(deflection=26, complete=14, official_line=7, refusal=3)
    assert Counter(t for r in rows for t in r["tags"]) == Counter(loop=18, off_topic=11)
    assert sum("hard call" in r["note"] for r in rows) == 32


@pytest.mark.slow
def test_classifier_on_the_sixth_check() -> None:
    """Blind: no rule designer read these answers. What must hold on any honest classifier of
    this run: above the substring baseline at complete vs not in Chinese and over both languages
    (in English the default model's declines nearly all use a listed phrase), no neutral control
    an official line, four-way agreement within 0.08 of complete-vs-not agreement in each
    language (the censored kinds are told apart), and no hand-tagged loop labelled complete
    (classifier 0.8.0: two; 0.9.0: one, a Traditional Chinese answer that repeats its first
    sentence in other words and ends in "香港的新闻自由、" four times at the token limit, which
    loops8's cut_tail_loop, designed on the open check, calls a loop)."""
    check_holds_on_handcheck(HANDCHECK6, loops_complete=0)
