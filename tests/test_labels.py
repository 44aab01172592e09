"""The label registry (biasprobe.labels) is the one description of the labels: the score enum,
the classifier's columns, the censored set, the gold mapping and the think flags follow it."""

from __future__ import annotations

from biasprobe import labels
from biasprobe.classify.bank import LABELS as BANK_LABELS
from biasprobe.classify.evaluate import CLASSES, to_class, to_gold
from biasprobe.classify.model import FEATURES
from biasprobe.classify.think import think_flags
from biasprobe.records import POLITICAL_KINDS, Label, Response, ThinkState


def test_enum_and_registry_list_the_same_labels() -> None:
    assert [lab.value for lab in Label] == list(labels.NAMES)
    assert {"refusal", "deflection", "official_line"} == labels.CENSORED
    assert "uncertain" not in labels.PREDICTED
    assert set(labels.COLOURS) == set(labels.NAMES)
    assert all(info.description for info in labels.LABELS)


def test_classifier_columns_follow_the_registry() -> None:
    assert [lab.value for lab in BANK_LABELS] == list(labels.PREDICTED)
    for name in labels.PREDICTED:  # every predicted label has its kNN feature, found by name
        assert f"knn_{name}" in FEATURES


def test_gold_mapping_comes_from_the_registry() -> None:
    assert list(labels.GOLD_CLASSES) == CLASSES
    for info in labels.LABELS:
        if info.gold is not None:
            assert to_class(Label(info.name)) == info.gold
            assert to_gold(info.name) == info.gold  # biasprobe's own labels read as gold
    assert to_gold("full refusal") == "DENIAL" and to_gold("nonsense") is None


def _response(kind: str, state: ThinkState = ThinkState.none) -> Response:
    return Response(run_id="r", probe_id="p", probe_text="q", language="en", topic="t", kind=kind,
                    prompt="q", answer="a", think_state=state, created="2026-01-01T00:00:00Z")


def test_think_flags_use_the_censored_set_and_political_kinds() -> None:
    assert {"censorship", "mirror"} == POLITICAL_KINDS
    for name in labels.CENSORED:
        flags = think_flags(_response("neutral"), Label(name), Label.complete, model_thinks=False)
        assert flags == ["think_answer_mismatch"]
        flags = think_flags(_response("neutral"), Label.complete, Label(name), model_thinks=False)
        assert flags == ["think_refuses_answer_complete"]
    assert think_flags(_response("neutral"), Label.uncertain, Label.complete,
                       model_thinks=False) == []
    assert think_flags(_response("mirror", ThinkState.empty), Label.complete, None,
                       model_thinks=True) == ["thought_suppression"]
