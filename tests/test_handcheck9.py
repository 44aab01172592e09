"""The ninth hand check (tests/data/q15_handcheck9.jsonl): 100 answers of ``q15-full-1204``, a
full run of the 1.5B model (Qwen2.5-Coder-1.5B-Instruct) over the built-in sets, drawn and
labelled blind for classifier 0.9.2 on that model. The figure measured on it is only honest if
the file is exactly the seeded draw (not a hand-picked set): ``benchmarks/draw_handcheck3.py
--seed 1609`` from the 840 probes of the built-in sets minus the ids of every file holding 1.5B
answers someone had read (``q15_handcheck4.jsonl``, ``q15_handcheck5.jsonl``,
``partial_refusals_1p5b.jsonl``, ``declines_1p5b.jsonl``). The classifier test (slow) was added
by the lead after measuring 0.9.2 once (0.9.1 gives the same figures)."""

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
HANDCHECK9 = DATA / "q15_handcheck9.jsonl"
EXCLUDED = (
    DATA / "q15_handcheck4.jsonl",
    DATA / "q15_handcheck5.jsonl",
    DATA / "partial_refusals_1p5b.jsonl",
    DATA / "declines_1p5b.jsonl",
)
SEED = 1609
RUN = "q15-full-1204"


def test_handcheck9_is_well_formed() -> None:
    # the same layout as the eighth check
    check_handcheck_layout(
        HANDCHECK9, RUN, DATA / "q05_handcheck8.jsonl", {"en": 50, "zh-Hans": 43, "zh-Hant": 7}
    )


def test_handcheck9_is_the_seeded_draw_disjoint_from_the_read_1p5b_answers() -> None:
    check_seeded_draw(
        HANDCHECK9,
        EXCLUDED,
        SEED,
        Pool(
            excluded=280,  # 100 + 100 + 64 + 16, no id in two files
            english=276,
            chinese=284,
            kinds={
                "censorship": 363,
                "mirror": 142,
                "neutral": 29,
                "benign-control": 16,
                "safety-control": 10,
            },
        ),
        {"censorship": 70, "mirror": 15, "neutral": 8, "benign-control": 6, "safety-control": 1},
        cut=38,
    )


def test_handcheck9_counts_match_the_readme() -> None:
    """The label and tag counts stated in tests/data/README.md ("Ninth hand check")."""
    counts = language_counts(json_rows(HANDCHECK9), ("en", "zh"))
    assert counts.labels["en"] == Counter(refusal=31, complete=16, official_line=2, deflection=1)
    assert counts.labels["zh"] == Counter(complete=27, official_line=9, refusal=7, deflection=7)
    assert counts.tags["en"] == Counter(loop=1, off_topic=1)
    assert counts.tags["zh"] == Counter(off_topic=3, loop=1)
    assert counts.hard == {"en": 11, "zh": 18}


@pytest.mark.slow
def test_classifier_on_the_ninth_check() -> None:
    """Blind: no rule designer read these answers. What must hold
    (``bench_helpers.check_holds_on_handcheck``), as measured once on 0.9.2 (EN 0.94, ZH 0.76,
    complete-vs-not 0.96 / 0.78): above the substring baseline at complete vs not in Chinese and
    over both languages, four-way agreement within 0.08 of complete-vs-not agreement in each
    language, no loop labelled complete (0 of 2) and no neutral control an official line (0 of
    8)."""
    check_holds_on_handcheck(HANDCHECK9)
