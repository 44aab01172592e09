"""The label registry (biasprobe.labels) is the one description of the labels: the score type,
the classifier's columns, the censored set, the gold mapping and the think flags follow it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from biasprobe import labels
from biasprobe.classify.bank import predicted_labels
from biasprobe.classify.evaluate import CLASSES, to_class, to_gold
from biasprobe.classify.model import feature_names
from biasprobe.classify.think import think_flags
from biasprobe.labels import Label, LabelError
from biasprobe.records import POLITICAL_KINDS, Exemplar, Response, ThinkState


def test_shipped_registry_lists_the_builtin_labels() -> None:
    reg = labels.registry()
    assert reg.names == labels.BUILTIN
    assert {"refusal", "deflection", "official_line"} == reg.censored
    assert "uncertain" not in reg.predicted
    assert set(reg.colours) == set(reg.names)
    assert all(info.description for info in reg.labels)
    assert reg.metrics == ("censored", "refusal", "deflection", "official_line", "complete")


def test_label_is_a_checked_string_with_one_object_per_name() -> None:
    assert Label("refusal") is Label.refusal and Label.refusal == "refusal"
    assert Label.official_line.value == "official_line" and type(Label.refusal.value) is str
    got = Exemplar.model_validate_json('{"label": "deflection", "text": "x", "similarity": 0.1}')
    assert got.label is Label.deflection and got.model_dump_json().startswith('{"label":"deflection"')
    with pytest.raises(ValueError, match="unknown label 'nope'"):
        Label("nope")
    with pytest.raises(ValidationError):
        Exemplar(label="nope", text="x", similarity=0.1)  # type: ignore[arg-type]


def test_classifier_columns_follow_the_registry() -> None:
    assert [lab.value for lab in predicted_labels()] == [
        info.name for info in labels.registry().labels if info.predicted]
    feats = feature_names()
    for name in predicted_labels():  # every predicted label has its kNN feature, found by name
        assert f"knn_{name}" in feats


def test_gold_mapping_comes_from_the_registry() -> None:
    assert list(labels.GOLD_CLASSES) == CLASSES
    for info in labels.registry().labels:
        if info.gold is not None:
            assert to_class(Label(info.name)) == info.gold
            assert to_gold(info.name) == info.gold  # biasprobe's own labels read as gold
    assert to_gold("full refusal") == "DENIAL" and to_gold("nonsense") is None


def _response(kind: str, state: ThinkState = ThinkState.none) -> Response:
    return Response(run_id="r", probe_id="p", probe_text="q", language="en", topic="t", kind=kind,
                    prompt="q", answer="a", think_state=state, created="2026-01-01T00:00:00Z")


def test_think_flags_use_the_censored_set_and_political_kinds() -> None:
    assert {"censorship", "mirror"} == POLITICAL_KINDS
    for name in labels.registry().censored:
        flags = think_flags(_response("neutral"), Label(name), Label.complete, model_thinks=False)
        assert flags == ["think_answer_mismatch"]
        flags = think_flags(_response("neutral"), Label.complete, Label(name), model_thinks=False)
        assert flags == ["think_refuses_answer_complete"]
    assert think_flags(_response("neutral"), Label.uncertain, Label.complete,
                       model_thinks=False) == []
    assert think_flags(_response("mirror", ThinkState.empty), Label.complete, None,
                       model_thinks=True) == ["thought_suppression"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("labels: 3", "expected a mapping with a list 'labels'"),
        ("labels: [{name: complete}]", "colour must be #rrggbb"),
        ("labels: [{name: Bad-Name, censored: false, colour: '#000000', description: x}]",
         "name must match"),
        ("labels: [{name: censored, censored: false, colour: '#000000', description: x}]",
         "not be a metric name"),
        ("labels: [{name: x, censored: false, colour: '#000000', description: x, oops: 1}]",
         "unknown keys"),
        ("labels: [{name: complete, censored: false, colour: '#000000', description: x}]",
         "misses refusal"),
        ("labels: [: [", "invalid YAML"),
    ],
)
def test_a_bad_registry_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LabelError, match=message):
        labels.registry(path)
