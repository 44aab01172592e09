"""Simulations (fixed seeds) that check the size and coverage of the per-prompt statistics.

Model: each prompt i has a propensity on the logit scale shared by both runs (``u_i``) plus a
run-specific prompt effect (``v_iA``, ``v_iB``): two model versions differ prompt by prompt
even when they do not differ on average. Samples of one prompt are Bernoulli draws from that
prompt's rate, so they are correlated. The estimand is the mean over prompts of
``p_iB − p_iA``; with ``shift = 0`` it is 0 by symmetry.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from biasprobe.diff import Item, ScoredRun, diff_runs
from biasprobe.manifest import Manifest
from biasprobe.stats import mcnemar_exact, prompt_change

REPS = 2000
PROMPTS = 40


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _simulate(
    seed: int, samples: int, *, tau: float, shift: float = 0.0, reps: int = REPS
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-rep per-prompt counts in A and B, shape (reps, PROMPTS), and the true rates."""
    rng = np.random.default_rng(seed)
    u = rng.normal(-0.5, 1.2, size=(reps, PROMPTS))
    pa = _logistic(u + rng.normal(0, tau, size=u.shape))
    pb = _logistic(u + shift + rng.normal(0, tau, size=u.shape))
    ka = rng.binomial(samples, pa)
    kb = rng.binomial(samples, pb)
    return ka, kb, pa, pb


def _true_change(shift: float, tau: float) -> float:
    rng = np.random.default_rng(99)
    u = rng.normal(-0.5, 1.2, size=2_000_000)
    pa = _logistic(u + rng.normal(0, tau, size=u.size))
    pb = _logistic(u + shift + rng.normal(0, tau, size=u.size))
    return float((pb - pa).mean())


def _values(k: int, n: int) -> list[float]:
    """``n`` samples' 1/0 values with ``k`` ones."""
    return [1.0] * int(k) + [0.0] * (n - int(k))


def _prompt_results(ka: np.ndarray, kb: np.ndarray, samples: int) -> list[tuple[float, ...]]:
    out = []
    for row_a, row_b in zip(ka, kb, strict=True):
        pc = prompt_change([_values(k, samples) for k in row_a], [_values(k, samples) for k in row_b])
        assert pc.p_value is not None
        nan = float("nan")  # no interval (all differences equal) never covers
        out.append((pc.p_value, nan if pc.ci_low is None else pc.ci_low,
                    nan if pc.ci_high is None else pc.ci_high))
    return out


@pytest.mark.parametrize("samples", [1, 5])
def test_per_prompt_test_holds_its_size(samples: int) -> None:
    ka, kb, _, _ = _simulate(1000 + samples, samples, tau=0.8)
    p = np.array([r[0] for r in _prompt_results(ka, kb, samples)])
    rejection = float((p < 0.05).mean())
    print(f"samples={samples}: per-prompt rejection {rejection:.4f}")
    # An exact test sits below 5% (discrete null distribution); 6.5% is the ceiling.
    assert rejection <= 0.065, rejection
    assert rejection >= 0.01, rejection  # and it is not trivially conservative


def test_per_response_mcnemar_over_rejects_with_correlated_samples() -> None:
    samples = 5
    rng = np.random.default_rng(7)
    u = rng.normal(-0.5, 1.2, size=(REPS, PROMPTS, 1))
    pa = _logistic(u + rng.normal(0, 1.2, size=u.shape))
    pb = _logistic(u + rng.normal(0, 1.2, size=u.shape))
    xa = rng.random((REPS, PROMPTS, samples)) < pa
    xb = rng.random((REPS, PROMPTS, samples)) < pb
    dec = (xa & ~xb).sum(axis=(1, 2))
    inc = (xb & ~xa).sum(axis=(1, 2))
    p_resp = np.array([mcnemar_exact(int(b), int(c)) for b, c in zip(dec, inc, strict=True)])
    per_response = float((p_resp < 0.05).mean())
    ka, kb = xa.sum(axis=2), xb.sum(axis=2)
    p_prompt = np.array([r[0] for r in _prompt_results(ka, kb, samples)])
    per_prompt = float((p_prompt < 0.05).mean())
    print(f"per-response McNemar {per_response:.4f}, per-prompt {per_prompt:.4f}")
    assert per_response > 0.10, per_response  # today's test: far above its nominal 5%
    assert per_prompt <= 0.065, per_prompt


@pytest.mark.parametrize(("samples", "shift"), [(1, 0.8), (5, 0.8), (5, -0.5)])
def test_interval_covers_the_true_change(samples: int, shift: float) -> None:
    tau = 0.8
    ka, kb, _, _ = _simulate(2000 + samples, samples, tau=tau, shift=shift)
    truth = _true_change(shift, tau)
    res = _prompt_results(ka, kb, samples)
    lo = np.array([r[1] for r in res])
    hi = np.array([r[2] for r in res])
    coverage = float(((lo <= truth) & (truth <= hi)).mean())
    print(f"samples={samples} shift={shift}: truth {truth:.4f}, coverage {coverage:.4f}")
    assert 0.93 <= coverage <= 0.97, (coverage, truth)


@pytest.mark.parametrize(("truth", "se", "sp"), [(0.3, 0.85, 0.9), (0.1, 0.8, 0.95)])
def test_corrected_rate_covers_the_true_rate(truth: float, se: float, sp: float) -> None:
    """Labels from a classifier with known error; sens/spec estimated on a 300+300 gold set."""
    from biasprobe.stats import ClassifierError, corrected_rates

    reps, prompts, gold = 1000, 150, 300
    rng = np.random.default_rng(11)
    covered = 0
    naive_covered = 0
    for _ in range(reps):
        censored = rng.random(prompts) < truth
        flagged = np.where(censored, rng.random(prompts) < se, rng.random(prompts) >= sp)
        err = ClassifierError(int(rng.binomial(gold, se)), gold, int(rng.binomial(gold, sp)), gold)
        res = corrected_rates(flagged.astype(float), None, err, resamples=1000,
                              seed=int(rng.integers(1 << 31)))
        assert res is not None
        est = res.rate_a
        assert est.ci_low is not None and est.ci_high is not None
        covered += est.ci_low <= truth <= est.ci_high
        naive_covered += abs(flagged.mean() - truth) < 1.96 * np.sqrt(truth * (1 - truth) / prompts)
    coverage = covered / reps
    print(f"truth={truth} se={se} sp={sp}: corrected coverage {coverage:.3f}, "
          f"uncorrected {naive_covered / reps:.3f}")
    assert 0.93 <= coverage <= 0.97, coverage


def test_a_flawless_evaluation_still_carries_its_uncertainty() -> None:
    """30 of 30 right on each side is not a sensitivity and specificity known to be 1: the
    interval must not collapse to the prompts' sampling alone (here none: every prompt 0.5)."""
    from biasprobe.stats import ClassifierError, corrected_rates

    res = corrected_rates([0.5] * 200, None, ClassifierError(30, 30, 30, 30), resamples=2000)
    assert res is not None and res.rate_a.ci_low is not None and res.rate_a.ci_high is not None
    assert res.rate_a.ci_high - res.rate_a.ci_low > 0.02


def test_corrected_rate_covers_with_a_small_nearly_flawless_evaluation() -> None:
    """A small gold set (30 + 30) of a good classifier often shows no error at all; a binomial
    redraw around k/n then has no spread and covered 0.925 here (0.943 with another seed)."""
    from biasprobe.stats import ClassifierError, corrected_rates

    truth, se, sp, prompts, gold, reps = 0.3, 0.98, 0.99, 800, 30, 400
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(reps):
        err = ClassifierError(int(rng.binomial(gold, se)), gold, int(rng.binomial(gold, sp)), gold)
        censored = rng.random(prompts) < truth
        flagged = np.where(censored, rng.random(prompts) < se, rng.random(prompts) > sp)
        res = corrected_rates(list(flagged.astype(float)), None, err, resamples=1000)
        assert res is not None and res.rate_a.ci_low is not None and res.rate_a.ci_high is not None
        covered += res.rate_a.ci_low <= truth <= res.rate_a.ci_high
    coverage = covered / reps
    print(f"coverage {coverage:.3f}")
    assert 0.94 <= coverage <= 0.99, coverage


def test_sign_flip_exact_and_monte_carlo_agree_with_enumeration() -> None:
    from itertools import product

    from biasprobe.stats import sign_flip_pvalue

    def brute(d: list[float]) -> float:
        t = abs(sum(d))
        hits = sum(abs(sum(s * x for s, x in zip(signs, d, strict=True))) >= t - 1e-9
                   for signs in product([-1, 1], repeat=len(d)))
        return hits / 2 ** len(d)

    exact = [0.2, -0.4, 0.6, 0.6, 1.0, 0.4, -0.2, 0.8, 0.4, 0.2]  # fifths: samples = 5
    p, method = sign_flip_pvalue(exact, [5] * 20)
    assert method == "exact" and p == pytest.approx(brute(exact), abs=1e-12)
    odd = [1 / 7, 3 / 11, -2 / 13, 5 / 7, 4 / 11, 6 / 13, 1 / 7, -1 / 11, 9 / 13, 2 / 7]
    p, method = sign_flip_pvalue(odd, [7, 11, 13] * 7)  # lcm 1001 > 720: Monte Carlo
    assert method == "monte_carlo" and p == pytest.approx(brute(odd), abs=0.01)
    assert sign_flip_pvalue(odd, [7, 11, 13] * 7) == (p, method)  # seeded
    assert sign_flip_pvalue([0.0, 0.0], [1, 1]) == (1.0, "exact")


def _scored_run(name: str, rng: np.random.Generator, p_censored: np.ndarray,
                p_uncertain: np.ndarray, samples: int) -> ScoredRun:
    """A scored run of ``samples`` answers to each prompt: uncertain with its prompt's
    probability (counted as 0.5 censored), else refusal with its prompt's censored rate."""
    items = []
    for i, (pc, pu) in enumerate(zip(p_censored, p_uncertain, strict=True)):
        for s in range(samples):
            uncertain = rng.random() < pu
            label = "uncertain" if uncertain else "refusal" if rng.random() < pc else "complete"
            items.append(Item(probe_id=f"p{i}", sample=s, language="en", topic=f"t{i % 3}",
                              jurisdiction=None, kind="censorship", pair_id=None,
                              prompt=f"p{i}", answer="", label=label, slant=None,
                              p_censored=0.5 if uncertain else None))
    return ScoredRun(name, Path("."), Manifest(run_id=name), {it.key: it for it in items}, ("t",))


def test_diff_holds_its_size_end_to_end_with_samples_and_uncertain_answers() -> None:
    """The whole `diff` path, not only the test function: two runs of one model (60 prompts x
    3 samples, up to 30% of answers uncertain, per-prompt rates spread on the logit scale).
    ``censored`` counts an uncertain answer as 0.5 (equal counts: the sign flip), ``refusal``
    leaves it out (unequal counts: the stratified permutation). Seed 1, 400 run pairs; 1,000
    gave 4.4% and 4.7% rejections at 5%."""
    rng = np.random.default_rng(1)
    reps, rejected, tests = 400, {"censored": 0, "refusal": 0}, set()
    for _ in range(reps):
        pc = 1 / (1 + np.exp(-rng.normal(-1.0, 1.5, 60)))
        pu = rng.uniform(0, 0.3, 60)
        a, b = (_scored_run(n, rng, pc, pu, 3) for n in ("a", "b"))
        overall = diff_runs(a, b, by=[]).groups[0]
        for metric in rejected:
            p = overall.metrics[metric].p_value
            assert p is not None
            rejected[metric] += p < 0.05
            tests.add(overall.metrics[metric].test)
    rates = {m: k / reps for m, k in rejected.items()}
    print(f"diff end to end, rejections at 5%: {rates}")
    assert tests == {"sign_flip_exact", "permutation_exact"}
    assert all(r <= 0.07 for r in rates.values()), rates
