"""The second labeller's blind labels of the seventh hand check (tests/data/handcheck7_relabel.jsonl):
the file labels exactly the answers of q05_handcheck7.jsonl, in the same order; its label and tag
counts; the labeller-agreement figures tests/data/README.md quotes ("Second labeller of the seventh
hand check"); slow: the classifier's agreement with each labeller."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_helpers import check_relabel_file, classifier_vs_labellers, labeller_agreement_of, relabel_counts

DATA = Path(__file__).parent / "data"
FIRST = DATA / "q05_handcheck7.jsonl"
RELABEL = DATA / "handcheck7_relabel.jsonl"


def test_relabel_file_labels_the_seventh_hand_check() -> None:
    second = check_relabel_file(FIRST, RELABEL)
    assert all(r["first_label_known"] is False for r in second)


def test_relabel_counts_match_the_readme() -> None:
    counts = relabel_counts(FIRST, RELABEL)
    assert counts.labels == {
        ("en", "refusal"): 47, ("en", "deflection"): 2, ("en", "complete"): 1,
        ("zh", "complete"): 20, ("zh", "deflection"): 18, ("zh", "refusal"): 6, ("zh", "official_line"): 6,
    }  # fmt: skip
    assert counts.tags == {"loop": 16, "off_topic": 7}
    assert counts.hard == {"en": 2, "zh": 26}


def test_the_figures_the_readme_quotes() -> None:
    rows, res = labeller_agreement_of(FIRST, RELABEL)
    assert "all blind" not in res  # no first label was known
    assert (res["en"]["label"]["agreement"], res["en"]["label"]["kappa"]) == (1.0, 1.0)
    assert (res["zh"]["label"]["agreement"], res["zh"]["label"]["kappa"]) == (0.98, 0.9709)
    assert (res["all"]["label"]["agreement"], res["all"]["label"]["kappa"]) == (0.99, 0.9842)
    for g in ("en", "zh", "all"):
        assert res[g]["complete_vs_not"] == {"agreement": 1.0, "kappa": 1.0}, g
        assert res[g]["off_topic"]["agreement"] == 1.0, g
    assert res["zh"]["loop"]["agreement"] == 0.98
    split = [(r["id"], r["label"], r["label2"]) for r in rows if r["label"] != r["label2"]]
    assert split == [("cs-hk-one-country-two-systems-zh", "official_line", "deflection")]


@pytest.mark.slow
def test_classifier_agreement_with_each_labeller() -> None:
    got, misses, second_sides = classifier_vs_labellers(FIRST, RELABEL)
    assert got == {
        "en": (0.98, 0.98, 50, 0.98),
        "zh": (0.84, 0.82, 49, 0.837),
        "all": (0.91, 0.9, 99, 0.909),
    }  # 0.9.1: zh (0.78, 0.76, 49, 0.776), all (0.88, 0.87, 99, 0.879), 12 misses; loops8 fixed 3
    assert (misses, second_sides) == (9, 0)
