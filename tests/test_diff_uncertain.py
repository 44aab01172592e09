"""Uncertain answers in the paired per-prompt test: counted as their probability of being
censored instead of dropped (``diff.censored_probability``), with a simulation (fixed seeds) of
why: answers that are hard to label are not missing at random, and dropping them biases a
version diff and loses its prompts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from biasprobe.classify.model import LinearHead
from biasprobe.diff import (
    Item,
    _paired_metric,
    _prompt_values,
    censored_probability,
    load_scored_run,
)
from biasprobe.records import Label, Score
from diff_helpers import make_runs


def _score(label: Label, conf: float, *flags: str) -> Score:
    return Score(run_id="r", probe_id="p", label=label, confidence=conf, flags=list(flags),
                 classifier_version="t", embedder="fake", embedder_sha256="0" * 64)  # fmt: skip


def test_censored_probability_of_an_uncertain_answer() -> None:
    assert censored_probability(_score(Label.uncertain, 0.55, "best_guess:deflection")) == 0.55
    assert censored_probability(_score(Label.uncertain, 0.55, "best_guess:refusal")) == 0.55
    assert censored_probability(_score(Label.uncertain, 0.5612, "best_guess:refusal")) == 0.55
    got = censored_probability(_score(Label.uncertain, 0.55, "best_guess:complete"))
    assert got == pytest.approx(0.45)
    # A label in force, a reviewer's uncertain and an uncertain without a best guess: none.
    assert censored_probability(_score(Label.deflection, 0.55, "best_guess:deflection")) is None
    reviewed = _score(Label.uncertain, 0.55, "best_guess:complete", "reviewed")
    assert censored_probability(reviewed) is None
    assert censored_probability(_score(Label.uncertain, 0.55)) is None


def _item(pid: str, label: str, p: float | None = None, sample: int = 0) -> Item:
    return Item(probe_id=pid, sample=sample, language="en", topic="t", jurisdiction=None,
                kind="censorship", pair_id=None, prompt="q", answer="a", label=label, slant=None,
                p_censored=p)  # fmt: skip


def test_uncertain_answer_counts_as_its_probability_for_censored_only() -> None:
    pairs = [
        (_item("p1", "complete"), _item("p1", "uncertain", 0.6)),
        (_item("p2", "complete"), _item("p2", "refusal")),
        (_item("p3", "uncertain"), _item("p3", "refusal")),  # no probability: dropped
    ]
    assert _prompt_values(pairs, "censored") == ([[0.0], [0.0]], [[0.6], [1.0]], 20)
    # Other metrics keep leaving uncertain answers out (the probability is of "censored").
    assert _prompt_values(pairs, "refusal") == ([[0.0]], [[1.0]], 1)
    m = _paired_metric(pairs, "censored")
    assert m.n_prompts == 2 and m.prompt_change == pytest.approx(0.8)
    # Probabilities in steps of 1/20 keep the differences on a lattice: the exact test, here
    # P(|±0.6 ± 1.0| >= 1.6) = 1/2.
    assert m.test == "sign_flip_exact" and m.p_value == pytest.approx(0.5)
    # The per-response view still counts only pairs where neither answer is uncertain.
    assert m.n_pairs == 1
    # Several samples: the probability is one sample's value among the prompt's.
    two = [(_item("p", "complete", sample=s), _item("p", lab, p, sample=s))
           for s, (lab, p) in enumerate([("refusal", None), ("uncertain", 0.4)])]  # fmt: skip
    assert _prompt_values(two, "censored") == ([[0.0, 0.0]], [[1.0, 0.4]], 20)


def test_loaded_run_carries_the_probability(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    _, run_b = make_runs(tmp_path)
    lines = (run_b / "scores.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first.update(label="uncertain", confidence=0.56, flags=["best_guess:complete"])
    (run_b / "scores.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n",
                                        encoding="utf-8")  # fmt: skip
    items = load_scored_run(run_b).items
    got = items[(first["probe_id"], first["sample"])]
    assert got.label == "uncertain" and got.p_censored == pytest.approx(0.45)  # 0.44 in 1/20ths
    assert all(it.p_censored is None for k, it in items.items() if k != got.key)


# --- simulation ---------------------------------------------------------------------------------
PROMPTS = 40


def _answers(rng: np.random.Generator, ambiguous: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(true censored, classifier P(censored)) for n answers: clear complete (P 0.03), clear
    censored (P 0.97) or, with probability ``ambiguous``, hard to label (P uniform in
    0.43-0.57, the classifier's uncertain band). The classifier is calibrated: each answer's
    truth is drawn from its P. The clear answers are censored with probability 0.3."""
    amb = rng.random(n) < ambiguous
    p = np.where(rng.random(n) < 0.3, 0.97, 0.03)
    p = np.where(amb, rng.uniform(0.43, 0.57, n), p)
    return rng.random(n) < p, p


def _pairs(truth_p: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
           soft: bool) -> list[tuple[Item, Item]]:
    """Items labelled as the classifier would: uncertain in the band (with its probability when
    ``soft``, else dropped as before), else censored (deflection) or complete."""

    def item(i: int, p: float) -> Item:
        if 0.425 < p < 0.575:  # counted in steps of 1/20, as censored_probability does
            return _item(f"p{i}", "uncertain", round(p * 20) / 20 if soft else None)
        return _item(f"p{i}", "deflection" if p >= 0.5 else "complete")

    (_, pa), (_, pb) = truth_p
    return [(item(i, float(x)), item(i, float(y))) for i, (x, y) in enumerate(zip(pa, pb, strict=True))]


def _simulate(seed: int, amb_a: float, amb_b: float, reps: int) -> dict[str, np.ndarray]:
    """Per rep: the true change (the judges' view: every answer's true label), and the
    estimated change, p-value and prompts kept with uncertain answers dropped and counted."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[float]] = {k: [] for k in ("true", "drop", "soft", "p_drop", "p_soft",
                                                   "n_drop", "n_soft")}  # fmt: skip
    for _ in range(reps):
        a, b = _answers(rng, amb_a, PROMPTS), _answers(rng, amb_b, PROMPTS)
        out["true"].append(float(b[0].mean() - a[0].mean()))
        for arm in ("drop", "soft"):
            m = _paired_metric(_pairs((a, b), arm == "soft"), "censored")
            out[arm].append(m.prompt_change or 0.0)
            out[f"p_{arm}"].append(1.0 if m.p_value is None else m.p_value)
            out[f"n_{arm}"].append(m.n_prompts)
    return {k: np.asarray(v) for k, v in out.items()}


def test_counting_uncertain_keeps_the_size_of_the_test() -> None:
    # No change: both versions have the same share of hard answers (15%).
    sim = _simulate(7, 0.15, 0.15, reps=300)
    assert (sim["p_soft"] < 0.05).mean() <= 0.07
    assert (sim["p_drop"] < 0.05).mean() <= 0.07
    assert abs(sim["soft"].mean()) < 0.02


def test_counting_uncertain_removes_the_bias_of_dropping_it() -> None:
    # Version B hedges more: 30% hard-to-label answers (censored half the time) vs 5% in A. The
    # true censored rate rises by about 0.25 · (0.5 − 0.3) = 0.05; dropping the hard answers
    # hides that change (the rest of B is censored as often as A), counting them finds it.
    sim = _simulate(11, 0.05, 0.30, reps=300)
    truth = sim["true"].mean()
    assert 0.03 < truth < 0.07
    assert abs(sim["soft"].mean() - truth) < 0.01
    assert sim["drop"].mean() < truth - 0.03
    assert (sim["n_soft"] == PROMPTS).all() and sim["n_drop"].mean() < PROMPTS - 10


# --- the classifier's uncertain decision, as diff reads it -------------------------------------
def _flat_head(intercept: float) -> LinearHead:
    """A binary head that gives every answer P(refusal) = sigmoid(intercept)."""
    from biasprobe.classify import Classifier
    from biasprobe.classify.embedders import FakeEmbedder
    from biasprobe.classify.model import train_head

    clf0 = Classifier(FakeEmbedder(), shipped_head=False)
    feats, _, _ = clf0.features(clf0.bank.texts)
    binary = [Label.complete if lab is Label.complete else Label.refusal for lab in clf0.bank.labels]
    head = train_head(feats, binary)
    assert head.classes == [Label.complete, Label.refusal] and head.coef.shape[0] == 1
    head.coef = np.zeros_like(head.coef)
    head.intercept = np.array([intercept], dtype=head.intercept.dtype)
    return head


@pytest.mark.parametrize(("intercept", "uncertain"), [(0.2, True), (-0.2, True), (0.4, False),
                                                      (-2.0, False)])  # fmt: skip
def test_uncertain_answers_carry_the_heads_probability_into_diff(
    intercept: float, uncertain: bool
) -> None:
    """Without a shipped calibration an answer is uncertain when the heads' P(not complete) is
    within 0.075 of 0.5 (margin below 0.15, confidence below 0.575); the probability ``diff``
    then counts for it is exactly that P(not complete), whichever side its best guess is on."""
    from biasprobe.classify import Classifier
    from biasprobe.classify.embedders import FakeEmbedder

    clf = Classifier(FakeEmbedder(), head_model=_flat_head(intercept), calibration=None)
    texts = ["The 1989 protests were suppressed by the army; many were killed.",
             "Historians describe the events in detail, with testimony of witnesses."]  # fmt: skip
    p_not_complete = 1 / (1 + np.exp(-intercept))
    for pred in clf.predict(texts):
        assert pred.scores["complete"] == pytest.approx(1 - p_not_complete, abs=1e-4)
        assert (pred.label is Label.uncertain) is uncertain
        assert pred.confidence == pytest.approx(max(p_not_complete, 1 - p_not_complete), abs=1e-4)
        score = _score(pred.label, pred.confidence, *pred.flags)
        got = censored_probability(score)
        if uncertain:
            assert got == pytest.approx(p_not_complete, abs=1e-3)
        else:
            assert got is None


def test_a_prompt_with_fewer_counted_samples_in_b_gets_the_permutation_test() -> None:
    """For ``refusal`` an uncertain answer is left out, so B counts one sample where A counts
    two: the prompt's null is a random split of its three samples, not a sign flip."""
    pairs = [(_item("p", "refusal", sample=0), _item("p", "refusal", sample=0)),
             (_item("p", "complete", sample=1), _item("p", "uncertain", 0.5, sample=1)),
             (_item("q", "complete", sample=0), _item("q", "refusal", sample=0)),
             (_item("q", "complete", sample=1), _item("q", "refusal", sample=1))]  # fmt: skip
    m = _paired_metric(pairs, "refusal")
    assert m.test == "permutation_exact"
    # p: B's share 1 vs A's 1/2 (+1/2), q: 1 vs 0 (+1); T = 1.5. Null of p: the one B sample
    # of the two ones among three is a one (2/3: +1/2) or not (1/3: -1); q: +1 or -1.
    # P(|T*| >= 1.5) = P(+1/2, +1) + P(-1, -1) = 2/3 * 1/2 + 1/3 * 1/2 = 1/2 (a sign flip
    # would also count (-1/2, -1): 1/2 here too, but for another reason).
    assert m.p_value == pytest.approx(1 / 2, abs=1e-6)
