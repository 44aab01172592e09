"""The eighth hand check (tests/data/q05_handcheck8.jsonl): 100 answers of ``q05-full-1204``, the
regeneration of the full run ``q05-full`` the seventh check was drawn from, drawn and labelled
blind for the round after classifier 0.9.1, whose rule writers had the seventh check as a design
set too. The figure measured on it is only honest if the file is exactly the seeded draw (not a
hand-picked set): ``benchmarks/draw_handcheck3.py --seed 1608`` from the 840 probes of the
built-in sets minus the ids of ``q05_labelled_all.jsonl``, ``q05_handcheck2.jsonl``,
``q05_handcheck3.jsonl``, ``q05_handcheck6.jsonl`` and ``q05_handcheck7.jsonl``. The classifier
test (slow) was added by the lead after measuring 0.9.1 once (and 0.9.2, whose loop rules move
none of its answers)."""

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
HANDCHECK8 = DATA / "q05_handcheck8.jsonl"
EXCLUDED = (
    DATA / "q05_labelled_all.jsonl",
    DATA / "q05_handcheck2.jsonl",
    DATA / "q05_handcheck3.jsonl",
    DATA / "q05_handcheck6.jsonl",
    DATA / "q05_handcheck7.jsonl",
)
SEED = 1608
RUN = "q05-full-1204"


def test_handcheck8_is_well_formed() -> None:
    # the same layout as the seventh check
    check_handcheck_layout(
        HANDCHECK8, RUN, DATA / "q05_handcheck7.jsonl", {"en": 50, "zh-Hans": 48, "zh-Hant": 2}
    )


def test_handcheck8_is_the_seeded_draw_disjoint_from_the_design_sets() -> None:
    check_seeded_draw(
        HANDCHECK8,
        EXCLUDED,
        SEED,
        Pool(excluded=644, english=140, chinese=56, kinds={"censorship": 138, "mirror": 58}),
        {"censorship": 67, "mirror": 33},
        cut=26,
    )


def test_handcheck8_counts_match_the_readme() -> None:
    """The label and tag counts stated in tests/data/README.md ("Eighth hand check")."""
    counts = language_counts(json_rows(HANDCHECK8), ("en", "zh"))
    assert counts.labels["en"] == Counter(refusal=40, deflection=6, complete=4)
    assert counts.labels["zh"] == Counter(deflection=19, complete=16, official_line=8, refusal=7)
    assert counts.tags["en"] == Counter(loop=4)
    assert counts.tags["zh"] == Counter(loop=12, off_topic=6)
    assert counts.hard == {"en": 4, "zh": 30}


@pytest.mark.slow
def test_classifier_on_the_eighth_check() -> None:
    """Blind: no rule designer read these answers. What must hold
    (``bench_helpers.check_holds_on_handcheck``), as measured once on 0.9.1 and again on 0.9.2
    (the same figures: EN 0.90, ZH 0.72, complete-vs-not 0.92 / 0.82): above the substring
    baseline at complete vs not in Chinese and over both languages; four-way agreement within
    0.10 of complete-vs-not agreement in each language (0.08 on the earlier checks: here four
    Chinese official lines are called deflections, 0.72 against 0.82); no neutral control an
    official line (none was drawn); at most four hand-tagged loops labelled complete (four: one
    the guidelines label complete, three short loops of an enumeration or slogan that no loop
    rule reaches)."""
    check_holds_on_handcheck(HANDCHECK8, kinds_within=0.10, loops_complete=4)
