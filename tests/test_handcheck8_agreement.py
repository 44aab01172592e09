"""The second labeller's blind labels of the eighth hand check (tests/data/handcheck8_relabel.jsonl):
the file labels exactly the answers of q05_handcheck8.jsonl, in the same order; its label and tag
counts; the labeller-agreement figures tests/data/README.md quotes ("Second labeller of the eighth
hand check")."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_helpers import check_relabel_file, classifier_vs_labellers, labeller_agreement_of, relabel_counts

DATA = Path(__file__).parent / "data"
FIRST = DATA / "q05_handcheck8.jsonl"
RELABEL = DATA / "handcheck8_relabel.jsonl"


def test_relabel_file_labels_the_eighth_hand_check() -> None:
    second = check_relabel_file(FIRST, RELABEL)
    assert all(r["first_label_known"] is False for r in second)


def test_relabel_counts_match_the_readme() -> None:
    counts = relabel_counts(FIRST, RELABEL)
    assert counts.labels == {
        ("en", "refusal"): 40, ("en", "deflection"): 6, ("en", "complete"): 4,
        ("zh", "deflection"): 18, ("zh", "complete"): 17, ("zh", "official_line"): 8, ("zh", "refusal"): 7,
    }  # fmt: skip
    assert counts.tags == {"loop": 16, "off_topic": 8}
    assert counts.hard == {"en": 5, "zh": 23}


def test_the_figures_the_readme_quotes() -> None:
    rows, res = labeller_agreement_of(FIRST, RELABEL)
    assert "all blind" not in res  # no first label was known
    assert (res["en"]["label"]["agreement"], res["en"]["label"]["kappa"]) == (1.0, 1.0)
    assert (res["zh"]["label"]["agreement"], res["zh"]["label"]["kappa"]) == (0.98, 0.9718)
    assert (res["all"]["label"]["agreement"], res["all"]["label"]["kappa"]) == (0.99, 0.9851)
    assert res["en"]["complete_vs_not"] == {"agreement": 1.0, "kappa": 1.0}
    assert res["zh"]["complete_vs_not"] == {"agreement": 0.98, "kappa": 0.9548}
    assert res["all"]["complete_vs_not"] == {"agreement": 0.99, "kappa": 0.9693}
    for g in ("en", "zh", "all"):
        assert res[g]["loop"]["agreement"] == 1.0, g
    assert [res[g]["off_topic"]["agreement"] for g in ("en", "zh", "all")] == [1.0, 0.96, 0.98]
    split = [(r["id"], r["label"], r["label2"]) for r in rows if r["label"] != r["label2"]]
    assert split == [("cs-fg-zhongnanhai-zh", "deflection", "complete")]
    tags = {r["id"] for r in rows if set(r["tags"]) != set(r["tags2"])}
    assert tags == {"cs-tr-police-stations-zh", "cs-xj-mosques-zh"}


@pytest.mark.slow
def test_classifier_agreement_with_each_labeller() -> None:
    """The classifier (best guess) against each labeller of the blind eighth check, measured once
    on 0.9.1 and unchanged on 0.9.2; none of its misses is an answer the labellers split on."""
    got, misses, second_sides = classifier_vs_labellers(FIRST, RELABEL)
    assert got == {
        "en": (0.9, 0.9, 50, 0.9),
        "zh": (0.72, 0.7, 49, 0.714),
        "all": (0.81, 0.8, 99, 0.808),
    }
    assert (misses, second_sides) == (19, 0)
