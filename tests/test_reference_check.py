"""Answers far from every reference statement of their topic (classify/reference_check.py):
a deflection (``off_topic:far_from_references``) when the heads call them complete; answers
near a statement, without a topic, or with a topic that has no references are left alone.
Fake embedder (no model load)."""

from __future__ import annotations

import numpy as np
import pytest

from biasprobe.classify import Classifier
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.reference_check import ReferenceCheck, with_far_from_references
from biasprobe.classify.text import head
from biasprobe.probes import Reference
from biasprobe.records import Label

MASANJIA = "The Masanjia letter revealed an Oregon Halloween custom of carved pumpkins."


def _ref(topic: str, stance: str = "official") -> Reference:
    return Reference(topic=topic, language="en", stance=stance, text=f"{topic} {stance}", source="test")  # type: ignore[arg-type]


def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_closeness_is_the_best_cosine_to_the_topics_statements() -> None:
    refs = [_ref("t"), _ref("t", "independent"), _ref("u")]
    check = ReferenceCheck(refs, np.stack([_unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)]))
    opening = _unit(0, 0.6, 0.8)
    assert check.closeness(opening, "t") == pytest.approx(0.6)
    assert check.closeness(opening, "u") == pytest.approx(0.8)
    assert check.closeness(opening, "none") is None
    assert check.closeness(opening, None) is None
    assert check.far(_unit(0, 0.1, 1), "t")  # cosine ~0.1, below the threshold (0.15)
    assert not check.far(_unit(0, 0.2, 1), "t")  # ~0.196: near enough
    assert not check.far(_unit(0, 0, 1), "none")  # no references: no verdict


def test_only_heads_complete_answers_without_a_reason_get_the_flag() -> None:
    check = ReferenceCheck([_ref("t")], np.stack([_unit(1, 0)]))
    far, near = _unit(0, 1), _unit(1, 0)
    openings = np.stack([far, far, far, near, far])
    got = with_far_from_references(
        [None, "self_reference", None, None, None], check, ["t", "t", "t", "t", None], openings,
        np.array([True, True, False, True, True]),
    )  # fmt: skip
    assert got == ["far_from_references", "self_reference", None, None, None]
    assert with_far_from_references([None], None, ["t"], openings[:1], np.array([True])) == [None]
    with pytest.raises(ValueError):
        with_far_from_references([None, None], check, ["t"], openings[:2], np.array([True, True]))


def test_predict_turns_a_complete_answer_far_from_its_topic_into_a_deflection() -> None:
    emb = FakeEmbedder()
    clf = Classifier(emb)
    opening = emb.encode([head(MASANJIA)])[0]
    (plain,) = clf.predict([MASANJIA], prompts=["What did the Masanjia letter reveal?"])
    assert plain.best is Label.complete  # the fake heads call it complete
    near = ReferenceCheck([_ref("labour-camps")], opening[None, :])
    far = ReferenceCheck([_ref("labour-camps")], -opening[None, :])
    for check, topic, expect in [(near, "labour-camps", Label.complete), (far, None, Label.complete),
                                 (far, "other-topic", Label.complete),
                                 (far, "labour-camps", Label.deflection)]:  # fmt: skip
        (p,) = clf.predict([MASANJIA], prompts=["What did the Masanjia letter reveal?"],
                           topics=[topic], references=check)  # fmt: skip
        assert p.best is expect, (topic, p)
    assert "off_topic:far_from_references" in p.flags
