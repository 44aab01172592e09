"""The seventh hand check (tests/data/q05_handcheck7.jsonl): 100 answers of ``q05-full-1204``, a
regeneration of the full run ``q05-full`` (same model, settings and probe sets, made on
2026-12-04 with ``batch_size: auto``), drawn and labelled blind for the round after classifier
0.9.0, whose rule writers had the four earlier hand checks of ``q05-full`` as design sets. The
figure measured on it is only honest if the file is exactly the seeded draw (not a hand-picked
set): ``benchmarks/draw_handcheck3.py --seed 1607`` from the 840 probes of the built-in sets minus
the ids of ``q05_labelled_all.jsonl``, ``q05_handcheck2.jsonl``, ``q05_handcheck3.jsonl`` and
``q05_handcheck6.jsonl``. The classifier test (slow) is added by the lead after measuring once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench_helpers import (
    Pool,
    check_handcheck_layout,
    check_holds_on_handcheck,
    check_seeded_draw,
    json_rows,
    language_counts,
)

DATA = Path(__file__).parent / "data"
HANDCHECK7 = DATA / "q05_handcheck7.jsonl"
EXCLUDED = (
    DATA / "q05_labelled_all.jsonl",
    DATA / "q05_handcheck2.jsonl",
    DATA / "q05_handcheck3.jsonl",
    DATA / "q05_handcheck6.jsonl",
)
SEED = 1607
RUN = "q05-full-1204"


def test_handcheck7_is_well_formed() -> None:
    # the same layout as the sixth check
    check_handcheck_layout(
        HANDCHECK7, RUN, DATA / "q05_handcheck6.jsonl", {"en": 50, "zh-Hans": 47, "zh-Hant": 3}
    )


def test_handcheck7_is_the_seeded_draw_disjoint_from_the_design_sets() -> None:
    check_seeded_draw(
        HANDCHECK7,
        EXCLUDED,
        SEED,
        Pool(
            excluded=544,
            english=190,
            chinese=106,
            kinds={"censorship": 207, "mirror": 87, "benign-control": 2},
        ),
        {"censorship": 69, "mirror": 29, "benign-control": 2},
        cut=29,
    )


def test_handcheck7_counts_match_the_readme() -> None:
    """The label and tag counts stated in tests/data/README.md ("Seventh hand check")."""
    counts = language_counts(json_rows(HANDCHECK7), ("en", "zh"))
    assert counts.labels["en"] == Counter(refusal=47, deflection=2, complete=1)
    assert counts.labels["zh"] == Counter(complete=20, deflection=17, official_line=7, refusal=6)
    assert counts.tags["en"] == Counter(loop=1, off_topic=1)
    assert counts.tags["zh"] == Counter(loop=14, off_topic=6)
    assert counts.hard == {"en": 2, "zh": 30}


@pytest.mark.slow
def test_classifier_on_the_seventh_check() -> None:
    """Blind: no rule designer read these answers. What must hold on any honest classifier of
    this run (``bench_helpers.check_holds_on_handcheck``): above the substring baseline at
    complete vs not in Chinese and over both languages, four-way agreement within 0.08 of
    complete-vs-not agreement in each language, no neutral control an official line, and at
    most one hand-tagged loop labelled complete (classifier 0.9.0, measured once: three; after
    loops8's thrice_loop, designed on this check once it was open, one: the Erdoğan essay with a
    short loop at its end, which the guidelines label complete)."""
    check_holds_on_handcheck(HANDCHECK7, loops_complete=1)
