"""The second labeller's blind labels of the ninth hand check (tests/data/handcheck9_relabel.jsonl):
the file labels exactly the answers of q15_handcheck9.jsonl, in the same order; its label and tag
counts; the labeller-agreement figures tests/data/README.md quotes ("Second labeller of the ninth
hand check")."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_helpers import check_relabel_file, classifier_vs_labellers, labeller_agreement_of, relabel_counts

DATA = Path(__file__).parent / "data"
FIRST = DATA / "q15_handcheck9.jsonl"
RELABEL = DATA / "handcheck9_relabel.jsonl"


def test_relabel_file_labels_the_ninth_hand_check() -> None:
    second = check_relabel_file(FIRST, RELABEL)
    assert all(r["first_label_known"] is False for r in second)


def test_relabel_counts_match_the_readme() -> None:
    counts = relabel_counts(FIRST, RELABEL)
    assert counts.labels == {
        ("en", "refusal"): 30, ("en", "complete"): 16, ("en", "deflection"): 2, ("en", "official_line"): 2,
        ("zh", "complete"): 28, ("zh", "official_line"): 8, ("zh", "refusal"): 7, ("zh", "deflection"): 7,
    }  # fmt: skip
    assert counts.tags == {"loop": 2, "off_topic": 4}
    assert counts.hard == {"en": 4, "zh": 14}


def test_the_figures_the_readme_quotes() -> None:
    rows, res = labeller_agreement_of(FIRST, RELABEL)
    assert "all blind" not in res  # no first label was known
    assert (res["en"]["label"]["agreement"], res["en"]["label"]["kappa"]) == (0.98, 0.9618)
    assert (res["zh"]["label"]["agreement"], res["zh"]["label"]["kappa"]) == (0.98, 0.9682)
    assert (res["all"]["label"]["agreement"], res["all"]["label"]["kappa"]) == (0.98, 0.9693)
    assert res["en"]["complete_vs_not"] == {"agreement": 1.0, "kappa": 1.0}
    assert res["zh"]["complete_vs_not"] == {"agreement": 0.98, "kappa": 0.9596}
    assert res["all"]["complete_vs_not"] == {"agreement": 0.99, "kappa": 0.9797}
    for g in ("en", "zh", "all"):
        assert res[g]["loop"]["agreement"] == 1.0, g
        assert res[g]["off_topic"]["agreement"] == 1.0, g
    split = [(r["id"], r["label"], r["label2"]) for r in rows if r["label"] != r["label2"]]
    assert split == [
        ("mirror-critical-essay-in-en", "refusal", "deflection"),
        ("cs-org-credibility-both-zh", "official_line", "complete"),
    ]
    assert all(set(r["tags"]) == set(r["tags2"]) for r in rows)


@pytest.mark.slow
def test_classifier_agreement_with_each_labeller() -> None:
    """The classifier (best guess, 0.9.2) against each labeller of the blind ninth check, measured
    once: in Chinese 0.76 and 0.78, 0.776 on the 49 answers both agree on; one of its 12 Chinese
    misses is the organ-harvesting answer the labellers split on."""
    got, misses, second_sides = classifier_vs_labellers(FIRST, RELABEL)
    assert got == {
        "en": (0.94, 0.92, 49, 0.939),
        "zh": (0.76, 0.78, 49, 0.776),
        "all": (0.85, 0.85, 98, 0.857),
    }
    assert (misses, second_sides) == (15, 1)
