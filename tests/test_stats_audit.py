"""Statistics audit: exact reference checks and small seeded simulations of edge cases."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import t as student_t

from biasprobe.blindcheck import BlindData, blind_change, censored_value_of
from biasprobe.diff import Item, ScoredRun, _asymmetry_change, _slant_shift, _Units, asymmetry
from biasprobe.manifest import Manifest
from biasprobe.stats import (
    Z_80,
    Z_975,
    difference_estimate,
    mcnemar_exact,
    min_detectable_change,
    paired_bootstrap_ci,
    prompt_change,
    rnd,
    sign_flip_pvalue,
    stratified_estimate,
    stratified_permutation_pvalue,
    t_interval,
)


def _fifths(rate: float) -> list[float]:
    """Five samples' values with this rate."""
    k = round(rate * 5)
    return [1.0] * k + [0.0] * (5 - k)


def test_equal_changes_with_float_noise_give_no_interval_and_the_planning_sd() -> None:
    """Every prompt rose by one sample in five, from different bases: the differences are all
    1/5 but differ in the last bit (3/5 - 2/5 != 1/5 in floating point). The spread is zero, so
    no interval (not a zero-width one) and the planning sd for the detectable change (not ~0,
    which would read as unlimited power)."""
    a = [2 / 5, 0.0, 3 / 5, 4 / 5]
    b = [3 / 5, 1 / 5, 4 / 5, 1.0]
    d = [y - x for x, y in zip(a, b, strict=True)]
    assert len(set(d)) > 1  # the float noise this test is about
    assert t_interval(d) == (None, None)
    pc = prompt_change([_fifths(x) for x in a], [_fifths(x) for x in b])
    assert pc.ci_low is None and pc.ci_high is None
    assert min_detectable_change(d) == (Z_975 + Z_80) * math.sqrt(0.5) / 2


# --- the prompt is the unit of the language asymmetry's test and of the bootstrap intervals ---

PAIRS = 40
SAMPLES = 5


def _expit(x: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-x)))


def _item(pid: str, sample: int, lang: str, pair: str, censored: bool,
          slant: float | None = None) -> Item:  # fmt: skip
    return Item(probe_id=pid, sample=sample, language=lang, topic="t", jurisdiction=None,
                kind="censorship", pair_id=pair, prompt=pid, answer="",
                label="refusal" if censored else "complete", slant=slant)


def _run(name: str, en: np.ndarray, zh: np.ndarray) -> ScoredRun:
    """A run of PAIRS English/Chinese question pairs, SAMPLES answers each (bool arrays)."""
    items = [_item(f"q{i}-{lang}", s, lang, f"q{i}", bool(x[i, s]))
             for lang, x in (("en", en), ("zh-Hans", zh))
             for i in range(x.shape[0]) for s in range(x.shape[1])]
    return ScoredRun(name, Path("."), Manifest(run_id=name), {i.key: i for i in items}, ("t",))


def test_language_asymmetry_test_holds_its_size_with_several_samples() -> None:
    """No language gap on average, but English and Chinese differ question by question (as
    two model versions do in tests/test_stats_sim.py): the samples of one question are
    correlated, so the test must take the question as the unit. Seed 11, 300 runs of 40
    pairs x 5 samples: counting (pair, sample) units as independent McNemar pairs rejected
    13.5% (600 runs) at alpha = 0.05; a per-question test about 5%."""
    rng = np.random.default_rng(11)
    reps, rejected = 300, 0
    for _ in range(reps):
        u = rng.normal(-0.5, 1.2, size=(PAIRS, 1))
        e = rng.normal(0.0, 1.0, size=(PAIRS, 1))
        en = rng.random((PAIRS, SAMPLES)) < _expit(u + e)
        zh = rng.random((PAIRS, SAMPLES)) < _expit(u - e)
        p = asymmetry(_run("r", en, zh)).language.p_value
        assert p is not None
        rejected += p < 0.05
    assert rejected / reps <= 0.08, rejected / reps


def test_language_test_with_one_sample_is_mcnemar() -> None:
    rng = np.random.default_rng(3)
    en = rng.random((PAIRS, 1)) < 0.4
    zh = rng.random((PAIRS, 1)) < 0.6
    lang = asymmetry(_run("r", en, zh)).language
    assert lang.p_value == pytest.approx(
        mcnemar_exact(lang.en_only_censored, lang.zh_only_censored), rel=1e-9)


def test_language_change_interval_resamples_questions() -> None:
    """Between two runs the language index changes question by question but not on average
    (Chinese rate logit u+g-s in A, u+g+s in B, s ~ N(0, 1.5), English alike: the true
    change is 0 by symmetry). Seed 21, 200 run pairs of 40 pairs x 5 samples: the bootstrap
    over (pair, sample) units covered 0 in 81.5%; resampling questions 94.0%."""
    rng = np.random.default_rng(21)
    reps, covered = 200, 0
    for _ in range(reps):
        u = rng.normal(-0.5, 1.2, size=(PAIRS, 1))
        g = rng.normal(0.0, 1.0, size=(PAIRS, 1))
        s = rng.normal(0.0, 1.5, size=(PAIRS, 1))
        a = _run("a", rng.random((PAIRS, SAMPLES)) < _expit(u),
                 rng.random((PAIRS, SAMPLES)) < _expit(u + g - s))
        b = _run("b", rng.random((PAIRS, SAMPLES)) < _expit(u),
                 rng.random((PAIRS, SAMPLES)) < _expit(u + g + s))
        ch = _asymmetry_change(_Units.of(a), _Units.of(b), asymmetry(a), asymmetry(b)).language
        assert ch.ci_low is not None and ch.ci_high is not None
        covered += ch.ci_low <= 0.0 <= ch.ci_high
    assert covered / reps >= 0.89, covered / reps


def test_slant_shift_interval_resamples_prompts() -> None:
    """The slant of B moves prompt by prompt (sd 0.5) but not on average; samples of a prompt
    share it. Seed 8, 200 run pairs of 40 prompts x 5 samples: the bootstrap over (prompt,
    sample) pairs covered 0 in 65%, as if 200 independent pairs had been drawn; resampling
    prompts 93%."""
    rng = np.random.default_rng(8)
    reps, covered = 200, 0
    for _ in range(reps):
        base = rng.normal(0.0, 0.5, size=(PAIRS, 1))
        move = rng.normal(0.0, 0.5, size=(PAIRS, 1))
        sa = base + rng.normal(0.0, 0.2, size=(PAIRS, SAMPLES))
        sb = base + move + rng.normal(0.0, 0.2, size=(PAIRS, SAMPLES))
        pairs = [(_item(f"q{i}", s, "en", f"q{i}", False, float(sa[i, s])),
                  _item(f"q{i}", s, "en", f"q{i}", False, float(sb[i, s])))
                 for i in range(PAIRS) for s in range(SAMPLES)]
        sh = _slant_shift(pairs)
        assert sh.ci_low is not None and sh.ci_high is not None
        covered += sh.ci_low <= 0.0 <= sh.ci_high
    assert covered / reps >= 0.89, covered / reps


def test_cluster_bootstrap_reference() -> None:
    """One pair per cluster: the same bootstrap as pairs; one cluster: no interval."""
    x, y = [0.0, 0.1, 0.2, 0.3, 0.7], [0.5, 0.1, 0.9, 0.3, 0.2]
    assert paired_bootstrap_ci(x, y, clusters=list("abcde")) == paired_bootstrap_ci(x, y)
    one = paired_bootstrap_ci(x, y, clusters=["p"] * 5)
    assert one.mean == pytest.approx(0.14) and one.ci_low is None and one.ci_high is None


def test_a_stratum_read_in_full_is_exact_even_with_one_answer() -> None:
    """A stratum (a kind, or a government's mirror answers in a language) of one answer that
    was read is known exactly (finite-population correction 0), as a stratum of 32 read in
    full is: it must not take the interval away from the whole it is part of."""
    whole = difference_estimate([0.3], [1.0], [0.3])
    assert (whole.value, whole.ci_low, whole.ci_high, whole.se) == (1.0, 1.0, 1.0, 0.0)
    rng = np.random.default_rng(4)
    pred = list(rng.random(100))
    idx = rng.choice(100, 20, replace=False)
    labels = [float(rng.random() < pred[i]) for i in idx]
    other = difference_estimate(pred, labels, [pred[i] for i in idx])
    assert other.se is not None and other.value is not None
    est = stratified_estimate([(1, whole, 1), (100, other, 20)])
    se = 100 / 101 * other.se
    half = float(student_t.ppf(0.975, 19)) * se
    value = (1.0 + 100 * other.value) / 101
    assert est.se == pytest.approx(se, rel=1e-12)
    assert (est.ci_low, est.ci_high) == pytest.approx((value - half, value + half), rel=1e-12)
    # every stratum read in full: exact
    both = stratified_estimate([(1, whole, 1), (1, difference_estimate([0.5], [0.0], [0.5]), 1)])
    assert (both.value, both.ci_low, both.ci_high) == (0.5, 0.5, 0.5)


def test_change_of_a_language_gap_is_not_clipped_to_one_point() -> None:
    """A change of a gap between two runs lies in [-2, 2] (the China gap's change is bounded
    so already): English went from all censored to none, Chinese from none to all, every
    answer read: the gap zh - en changed by +2 exactly, not +1."""
    keys = [(f"{lang}{i}", 0) for lang in ("en", "zh") for i in range(4)]
    language = {k: "en" if k[0].startswith("en") else "zh" for k in keys}

    def run(en: str, zh: str) -> BlindData:
        label = {k: en if language[k] == "en" else zh for k in keys}
        return BlindData(language=language, probability={k: censored_value_of(v)
                                                         for k, v in label.items()},
                         seeds=(1,), classifier_label=label, reader_label=dict(label),
                         kind=dict.fromkeys(keys, "censorship"),
                         jurisdiction=dict.fromkeys(keys))

    change = blind_change(run("refusal", "complete"), run("complete", "refusal"))
    assert change is not None
    gap = next(g for g in change.gaps if g.label is None)
    assert (gap.classifier_gap, gap.gap, gap.ci_low, gap.ci_high) == (2.0, 2.0, 2.0, 2.0)
    refusal = next(g for g in change.label_gaps if g.label == "refusal")
    assert (refusal.gap, refusal.ci_low, refusal.ci_high) == (2.0, 2.0, 2.0)


def test_sign_flip_with_a_missing_difference_is_undefined_not_significant() -> None:
    """A NaN difference (e.g. an internals projection that overflowed) made every |T*| >= NaN
    comparison false, so the Monte Carlo p-value was its floor 1/20001: 'significant'."""
    p, method = sign_flip_pvalue([0.5, math.nan, -0.2])
    assert math.isnan(p) and method == "undefined"
    assert rnd(prompt_change([[0.1], [math.nan], [0.3]], [[0.2], [0.5], [0.1]], 20).p_value) is None


# --- unequal sample counts per prompt: the sign flip is not valid, the stratified permutation is


def _unequal_null(seed: int, reps: int) -> tuple[list[list[list[float]]], list[list[list[float]]]]:
    """Null runs (A and B share every prompt's rate) where A keeps five samples of each of 40
    prompts and B one (the rest left out as uncertain), at low rates."""
    rng = np.random.default_rng(seed)
    runs_a, runs_b = [], []
    for _ in range(reps):
        p = rng.beta(0.3, 10, size=40)
        runs_a.append([(rng.random(5) < q).astype(float).tolist() for q in p])
        runs_b.append([(rng.random(1) < q).astype(float).tolist() for q in p])
    return runs_a, runs_b


def test_unequal_counts_hold_the_size_where_the_sign_flip_did_not() -> None:
    """The mean of one sample and the mean of five have different spreads, so their difference
    is not symmetric under the null and the sign flip rejected too often (measured here, and
    7.3% in the audit's own setting); splitting each prompt's pooled samples at random is the
    permutation test that holds. Seed 5, 1,000 null run pairs."""
    runs_a, runs_b = _unequal_null(5, 1000)
    old, new = [], []
    for va, vb in zip(runs_a, runs_b, strict=True):
        d = [sum(b) / len(b) - sum(a) / len(a) for a, b in zip(va, vb, strict=True)]
        old.append(sign_flip_pvalue(d, [5, 1] * len(d))[0])
        pc = prompt_change(va, vb)
        assert pc.test == "permutation_exact"
        new.append(pc.p_value)
    old_rate = float((np.array(old) < 0.05).mean())
    new_rate = float((np.array(new) < 0.05).mean())
    print(f"rejections at 5%: sign flip {old_rate:.3f}, stratified permutation {new_rate:.3f}")
    assert old_rate > 0.07  # the flaw this test is about
    assert new_rate <= 0.055


def _enumerated(values_a: list[list[float]], values_b: list[list[float]]) -> float:
    """Two-sided p of the stratified permutation test by listing every split of every prompt
    (equal counts: the swap only), for tiny inputs."""
    import itertools

    per_prompt = []
    for a, b in zip(values_a, values_b, strict=True):
        if len(a) == len(b):
            d = sum(b) / len(b) - sum(a) / len(a)
            per_prompt.append([d, -d])
            continue
        pooled = a + b
        outs = []
        for idx in itertools.combinations(range(len(pooled)), len(b)):
            inb = [pooled[i] for i in idx]
            ina = [pooled[i] for i in range(len(pooled)) if i not in idx]
            outs.append(sum(inb) / len(inb) - sum(ina) / len(ina))
        per_prompt.append(outs)
    t_obs = abs(sum(sum(b) / len(b) - sum(a) / len(a) for a, b in zip(values_a, values_b, strict=True)))
    hits = total = 0
    for combo in itertools.product(*per_prompt):
        total += 1
        hits += abs(sum(combo)) >= t_obs - 1e-9
    return hits / total


def test_stratified_permutation_matches_enumeration() -> None:
    a = [[1.0, 0.0, 0.0], [1.0], [0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    b = [[1.0], [0.0, 0.0], [1.0, 1.0], [1.0, 0.0]]
    want = _enumerated(a, b)
    p, method = stratified_permutation_pvalue(a, b)
    assert method == "exact" and p == pytest.approx(want, abs=1e-12)
    # A probability among the values of a prompt with unequal counts: Monte Carlo, within its
    # error of the enumeration.
    soft = [[*v, 0.05] if i == 0 else v for i, v in enumerate(b)]  # not 1/0: no exact path
    p_mc, method = stratified_permutation_pvalue(a, soft, steps=20)
    want_mc = _enumerated(a, soft)
    assert method == "monte_carlo" and p_mc == pytest.approx(want_mc, abs=0.01)


def test_equal_counts_keep_the_sign_flip_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    a = [(rng.random(3) < 0.4).astype(float).tolist() for _ in range(30)]
    b = [(rng.random(3) < 0.6).astype(float).tolist() for _ in range(30)]
    d = [sum(y) / 3 - sum(x) / 3 for x, y in zip(a, b, strict=True)]
    assert stratified_permutation_pvalue(a, b) == sign_flip_pvalue(d, [3] * 60)
    assert prompt_change(a, b).test == "sign_flip_exact"


def test_stratified_permutation_refuses_a_prompt_without_values() -> None:
    with pytest.raises(ValueError):
        stratified_permutation_pvalue([[1.0], []], [[0.0], [1.0]])


def test_a_prompt_with_one_value_throughout_changes_no_p_value() -> None:
    """Pooled values all alike give 0 under every split; leaving such a prompt out of the null
    (as the code does, for speed) must not move p, on the exact and the Monte Carlo path."""
    a = [[1.0, 0.0, 0.0], [1.0], [0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    b = [[1.0], [0.0, 0.0], [1.0, 1.0], [1.0, 0.0]]
    const_a, const_b = [*a, [1.0, 1.0, 1.0]], [*b, [1.0]]
    assert stratified_permutation_pvalue(const_a, const_b) == stratified_permutation_pvalue(a, b)
    assert _enumerated(const_a, const_b) == pytest.approx(_enumerated(a, b), abs=1e-12)
    soft = [[*v, 0.05] if i == 0 else v for i, v in enumerate(b)]
    assert (stratified_permutation_pvalue([*a, [0.5, 0.5]], [*soft, [0.5]], steps=20)
            == stratified_permutation_pvalue(a, soft, steps=20))


# --- run-level rates with several samples per prompt: the interval is clustered by prompt -----


def test_clustered_wilson_by_hand_and_with_one_sample() -> None:
    from biasprobe.stats import clustered_wilson, wilson_ci

    # One answer a prompt: exactly the plain Wilson interval (every shipped run's figures).
    assert clustered_wilson([(1, 1), (0, 1), (1, 1)]) == wilson_ci(2, 3)
    # p = 3/6; ratio variance 3/2 * ((2-1)^2 + (0-1)^2 + (1-1)^2) / 6^2 = 1/12 against the
    # binomial 0.25/6 = 1/24: deff 2 (= n/m, the most), so Wilson at 1.5 of 3 answers.
    from statsmodels.stats.proportion import proportion_confint

    got = clustered_wilson([(2, 2), (0, 2), (1, 2)])
    lo, hi = proportion_confint(1.5, 3, method="wilson")
    assert (got.k, got.n, got.rate) == (3, 6, 0.5)
    assert (got.ci_low, got.ci_high) == pytest.approx((lo, hi), abs=1e-12)
    # Every answer censored: the spread cannot be estimated, so the prompts are the units.
    all_yes = clustered_wilson([(5, 5)] * 4)
    assert (all_yes.ci_low, all_yes.ci_high) == pytest.approx(
        (wilson_ci(4, 4).ci_low, wilson_ci(4, 4).ci_high), abs=1e-12)
    # Samples that vary within every prompt as much as between: deff 1, the plain interval.
    even = clustered_wilson([(1, 2)] * 10)
    assert (even.ci_low, even.ci_high) == pytest.approx(
        (wilson_ci(10, 20).ci_low, wilson_ci(10, 20).ci_high), abs=1e-12)


def test_clustered_rate_interval_covers_with_several_samples() -> None:
    """30 prompts whose rates differ (Beta(0.5, 0.5): some always refused, some never), five
    samples each; the estimand is the rate over such prompts. Counting the 150 answers as
    independent (plain Wilson) covered 0.75 at a nominal 0.95 (seed 0, 2,000 runs; 0.84 with
    three samples), clustered by prompt 0.95; here (seed 4, 1,000 runs) 0.77 and 0.96."""
    from biasprobe.stats import clustered_wilson, wilson_ci

    rng = np.random.default_rng(4)
    covered_plain = covered = 0
    for _ in range(1000):
        k = rng.binomial(5, rng.beta(0.5, 0.5, 30))
        plain = wilson_ci(int(k.sum()), 150)
        got = clustered_wilson([(int(x), 5) for x in k])
        assert got.ci_low is not None and got.ci_high is not None
        assert plain.ci_low is not None and plain.ci_high is not None
        covered += got.ci_low <= 0.5 <= got.ci_high
        covered_plain += plain.ci_low <= 0.5 <= plain.ci_high
    print(f"coverage: plain Wilson {covered_plain / 1000:.3f}, clustered {covered / 1000:.3f}")
    assert covered_plain / 1000 < 0.85  # the flaw
    assert 0.93 <= covered / 1000 <= 0.975


def test_run_rates_are_clustered_by_prompt() -> None:
    """`rates` (show, report, diff's run summaries) and the language rates use the clustered
    interval: two runs with the same answers per prompt, one sample or three copies of it."""
    from biasprobe.diff import rates
    from biasprobe.stats import clustered_wilson

    pattern = [True, True, False, True, False, False, True, True]
    one = [_item(f"q{i}", 0, "en", f"q{i}", c) for i, c in enumerate(pattern)]
    three = [_item(f"q{i}", s, "en", f"q{i}", c) for i, c in enumerate(pattern) for s in range(3)]
    r1, r3 = rates(one).metrics["censored"], rates(three).metrics["censored"]
    assert r1.rate == r3.rate == 5 / 8
    # three identical samples carry no more information than one: the same interval
    assert (r3.ci_low, r3.ci_high) == pytest.approx((r1.ci_low, r1.ci_high), abs=1e-9)
    want = clustered_wilson([(3 * c, 3) for c in pattern])
    assert r3.ci_low == pytest.approx(want.ci_low, abs=1e-9)


def test_per_response_rates_of_a_diff_are_clustered_too() -> None:
    from biasprobe.diff import _paired_metric

    pattern = [True, True, False, True, False, False, True, True]

    def pairs(samples: int) -> list[tuple[Item, Item]]:
        return [(_item(f"q{i}", s, "en", f"q{i}", c), _item(f"q{i}", s, "en", f"q{i}", not c))
                for i, c in enumerate(pattern) for s in range(samples)]

    one, three = _paired_metric(pairs(1), "censored"), _paired_metric(pairs(3), "censored")
    for side in ("a", "b"):
        r1, r3 = getattr(one, side), getattr(three, side)
        assert r3.n == 3 * r1.n and r3.rate == r1.rate
        assert (r3.ci_low, r3.ci_high) == pytest.approx((r1.ci_low, r1.ci_high), abs=1e-9)
