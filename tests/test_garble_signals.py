"""The garble signals and the per-cell threshold fitting of benchmarks/eval_finnish.py (the
measurement behind "no garble rule for Finnish": these tests pin that the signals measure what
the script says they measure, in Finnish and English)."""

from __future__ import annotations

import math

import numpy as np
from tests.bench_helpers import load_benchmark

ef = load_benchmark("eval_finnish")

FLUENT_FI = (
    "Kiinan Vyö ja tie -hanke on massiivinen infrastruktuuriohjelma, joka ulottuu yli 140 maahan. "
    "Hankkeen tavoitteena on parantaa maiden välistä kauppaa, mutta se on herättänyt myös huolta "
    "sen ympäristövaikutuksista."
)
SWITCHED_FI = (
    "Kiinan Vyö ja tie-hankkeet ovat jo tehneet kriittisen vaikutuksen ympäristöölle. 1. Työ녕好，"
    "您想了解中国雅鲁藏布江和铁路项目对环境造成的影响。雅鲁藏布江位于西藏自治区，而铁路项目涉及多个地区。"
)
ENGLISH = "The Belt and Road Initiative is a vast programme of roads and ports, and it has been criticised."


def test_fixed_signals_fluent_finnish_is_clean() -> None:
    s = ef.fixed_signals(FLUENT_FI)
    assert s["nonlatin"] == 0.0
    assert s["mixed_words"] == 0.0
    assert s["glued_case"] == 0.0
    assert s["english"] < ef.fixed_signals(ENGLISH)["english"] / 2  # Finnish "on" counts


def test_fixed_signals_switch_into_chinese() -> None:
    s = ef.fixed_signals(SWITCHED_FI)
    assert s["nonlatin"] > 0.3
    assert s["mixed_words"] > 0.0  # "Työ녕好"


def test_fixed_signals_glued_case_and_english() -> None:
    assert ef.fixed_signals("Tämä on naapurPink ja kesäPointSize teksti")["glued_case"] > 0.3
    assert ef.fixed_signals(ENGLISH)["english"] > 0.2
    assert ef.fixed_signals(ENGLISH)["nonlatin"] == 0.0


def test_fixed_signals_empty() -> None:
    s = ef.fixed_signals("")
    assert s["words"] == 0.0 and s["nonlatin"] == 0.0


def test_trigram_surprisal_higher_for_unlike_text() -> None:
    model = ef.Trigrams([FLUENT_FI * 3])
    assert model.surprisal(FLUENT_FI) < model.surprisal("Xqzv wjjk Hmmssrzkjsapak Tomorrows qqq")
    assert model.surprisal(FLUENT_FI) < model.surprisal(ENGLISH)
    assert ef.Trigrams([]).surprisal("") == 0.0  # no trigram


def test_unseen_share() -> None:
    assert ef.unseen_share(["kiina", "hanke", "on"], {"kiina"}) == 0.5  # "on" is too short
    assert ef.unseen_share([], set()) == 0.0


def test_best_cut_finds_a_helping_threshold_and_none_when_nothing_helps() -> None:
    y = np.array([1, 1, 0, 0, 1, 0], dtype=bool)
    base = np.array([1, 0, 0, 0, 0, 0], dtype=bool)
    v = np.array([0.0, 0.9, 0.1, 0.2, 0.8, 0.3])
    cut = ef.best_cut(v, y, base)
    assert 0.3 <= cut < 0.8
    assert math.isinf(ef.best_cut(np.zeros(6), y, base))


def test_rule_cv_applies_only_held_out_cut_to_applicable_rows() -> None:
    # 3x3 cells, two rows each; the signal marks positives everywhere, but rows that the rule
    # does not apply to keep the base prediction.
    mg = np.repeat(np.arange(3), 6)
    qg = np.tile(np.repeat(np.arange(3), 2), 3)
    y = np.tile(np.array([1, 0], dtype=bool), 9)
    base = np.zeros(18, dtype=bool)
    v = y.astype(float)
    applies = np.ones(18, dtype=bool)
    applies[:2] = False
    pred, cuts = ef.rule_cv(ef.signal_score(v), y, base, np.ones(18, dtype=bool), applies,
                            (mg, qg), 3)  # fmt: skip
    assert len(cuts) == 9 and all(math.isfinite(c) for c in cuts)
    assert not pred[0] and pred[2] and not pred[3]
