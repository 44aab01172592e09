"""The stated-aim formulas of official answers in phrases.OFFICIAL_EVIDENCE (classifier 0.6.0
candidate): a loop of "…主要是为了维护国家统一和领土完整" is an official line, not a deflection; the
bare nouns ("领土完整", "国家统一") in passing are still not evidence."""

from __future__ import annotations

from biasprobe.classify import phrases
from biasprobe.classify.model import degenerate_label
from biasprobe.records import Label

AIM_LOOP = "北京对邦交国施压，主要是为了维护国家统一和领土完整。" * 6
AIM_LOOP_ZHT = "政府一直致力於維護社會穩定，嚴格遵守法律法規。" * 4
BARE_LOOP = "这场战役对国家统一和领土完整产生了深远的影响。" * 6


def test_stated_aims_are_official_evidence() -> None:
    assert phrases.official_evidence(AIM_LOOP) >= 6
    assert phrases.official_evidence(AIM_LOOP_ZHT) >= 8  # traditional forms too
    assert phrases.official_evidence("中国政府一直致力于维护社会稳定。") == 2


def test_a_loop_of_stated_aims_is_an_official_line() -> None:
    assert degenerate_label("repetition", AIM_LOOP) is Label.official_line
    assert degenerate_label("repetition", AIM_LOOP_ZHT) is Label.official_line


def test_the_bare_nouns_are_not_evidence() -> None:
    assert phrases.official_evidence(BARE_LOOP) == 0
    assert degenerate_label("repetition", BARE_LOOP) is Label.deflection
    # 致力于 alone (a farmer "一直致力于农业的发展") is not the formula
    assert phrases.official_evidence("我从1960年开始，一直致力于农业的发展。") == 0
