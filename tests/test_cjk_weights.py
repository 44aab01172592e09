"""Sample weights of the Chinese lexical head's training rows (issue 16, cjkdata): the extra
hand-labelled Chinese answers can be counted less than SpeechMap's, so a weight must move the
fit, and the default (no weights) must be the unweighted fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.lexical_cjk import train_cjk_lexical
from biasprobe.classify.model import FEATURES, Classifier

_NOT_COMPLETE = ["有关说法并不准确，应当客观看待，取得了巨大成就。",
                 "各方观点不一，应当客观看待，社会保持稳定。"]  # fmt: skip
_COMPLETE = ["当局压制异见，监禁记者，必须谴责。", "政府掩盖事实，打压维权人士，造成了苦难。"]
_ODD = "应当客观看待当局压制异见的事实。"  # wording of both classes, labelled complete


def _fit(weight_of_odd: float | None) -> float:
    texts = (_NOT_COMPLETE + _COMPLETE) * 3 + [_ODD, "The press was censored."]
    y = np.array([1, 1, 0, 0] * 3 + [0, 1])
    clf = Classifier(FakeEmbedder(), shipped_head=False)
    feats, _, _ = clf.features(texts)
    weights = None if weight_of_odd is None else np.r_[np.ones(len(texts) - 2), weight_of_odd, 1.0]
    head = train_cjk_lexical(texts, feats, y, FEATURES, min_df=1, weights=weights)
    return float(head.prob_not_complete([_ODD], feats[-2:-1])[0])


def test_weights_move_the_fit_and_ones_are_the_default() -> None:
    heavy, light = _fit(20.0), _fit(0.05)
    assert heavy < light
    assert abs(_fit(None) - _fit(1.0)) < 1e-6


def test_cjk_extra_refuses_the_blind_hand_checks() -> None:
    """``eval_speechmap.py --cjk-extra`` never trains on a blind set of the round (one error
    line), but takes a design set."""
    import pytest

    from bench_helpers import load_benchmark
    from biasprobe.classify.evaluate import EvalInputError

    es = load_benchmark("eval_speechmap")
    clf = Classifier(FakeEmbedder(), shipped_head=False)
    data = Path(__file__).parent / "data"
    blinds = ("q05_handcheck8", "handcheck8_relabel", "q15_handcheck9", "handcheck9_relabel",
              "q15_handcheck5", "jaru_handcheck")  # fmt: skip
    for blind in blinds:
        with pytest.raises(EvalInputError, match="blind test set"):
            es.cjk_extra_rows(clf, [str(data / f"{blind}.jsonl")])
    extra = es.cjk_extra_rows(clf, [str(data / "q05_handcheck7.jsonl")])  # a design set now
    assert extra is not None and len(extra[1]) > 0
