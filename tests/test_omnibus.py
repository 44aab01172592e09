"""The omnibus test of three or more runs (``stats.omnibus_permutation_pvalue``): against full
enumeration, its size and power in simulation, and its old form (Cochran's Q on each prompt's
majority label) as the baseline it replaced."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.stats import chi2, hypergeom

import biasprobe.stats as st
from biasprobe.stats import omnibus_permutation_pvalue


def cochran_q(table: list[list[bool]]) -> tuple[float, int, float]:
    """Cochran's Q on a prompts x runs 1/0 table with its chi-square p: (Q, df, p); the test
    ``compare`` used before, on each prompt's majority label."""
    x = np.asarray(table, dtype=float)
    k = x.shape[1]
    col, row, total = x.sum(axis=0), x.sum(axis=1), float(x.sum())
    denom = k * total - float((row**2).sum())
    if denom == 0:
        return 0.0, k - 1, 1.0
    q = (k - 1) * (k * float((col**2).sum()) - total**2) / denom
    return q, k - 1, float(chi2.sf(q, k - 1))


def _enumerated(values: list[list[list[float]]]) -> float:
    """The exact p-value: every order of every prompt's pooled samples, equally likely."""

    def spread(table: tuple[list[list[float]], ...]) -> float:
        totals = np.array([[sum(c) / len(c) for c in row] for row in table]).sum(axis=0)
        return float(((totals - totals.mean()) ** 2).sum())

    t_obs = spread(tuple(values))
    per_prompt = []
    for row in values:
        pooled = [v for cell in row for v in cell]
        bounds = np.cumsum([0, *(len(c) for c in row)])
        # the distinct orders of a multiset are equally likely
        per_prompt.append([[list(perm[bounds[j]:bounds[j + 1]]) for j in range(len(row))]
                           for perm in sorted(set(itertools.permutations(pooled)))])
    hits = total = 0
    for combo in itertools.product(*per_prompt):
        total += 1
        hits += spread(combo) >= t_obs - 1e-9
    return hits / total


ONE_SAMPLE = [[[1.0], [0.0], [1.0]], [[1.0], [1.0], [0.0]], [[0.0], [0.0], [1.0]],
              [[1.0], [1.0], [1.0]], [[1.0], [0.0], [0.0]], [[0.0], [1.0], [1.0]],
              [[1.0], [0.0], [1.0]]]
UNEQUAL_AND_SOFT = [[[1.0, 0.0], [0.0], [1.0, 1.0]], [[1.0, 0.5], [1.0], [0.0, 0.0]],
                    [[0.0], [0.0, 0.0], [1.0, 0.25]], [[1.0], [1.0, 0.0], [0.0]]]
# Four prompts with one censored answer among four samples (two in the first run): more
# prompts of that kind than its three splits (chances 1/2, 1/4, 1/4), so they are drawn as one
# multinomial; fewer are drawn prompt by prompt.
MANY_ALIKE = [[[1.0, 0.0], [0.0], [0.0]], [[0.0, 0.0], [1.0], [0.0]],
              [[0.0, 0.0], [1.0], [0.0]], [[0.0, 0.0], [0.0], [1.0]], [[1.0], [1.0], [0.0]]]
FOUR_RUNS = [[[1.0, 1.0], [0.0], [1.0], [0.0, 0.0]], [[0.0], [0.0, 1.0], [1.0, 1.0], [0.0]],
             [[1.0], [1.0], [1.0, 1.0], [0.0]]]


@pytest.mark.parametrize("values", [ONE_SAMPLE, UNEQUAL_AND_SOFT, FOUR_RUNS, MANY_ALIKE])
def test_matches_enumeration(values: list[list[list[float]]]) -> None:
    p, method = omnibus_permutation_pvalue(values)
    assert method == "monte_carlo"
    assert p == pytest.approx(_enumerated(values), abs=0.015)  # 20,000 draws: SE <= 0.0035


def test_prompts_drawn_one_by_one_match_enumeration_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many runs with many samples: a prompt's splits are too many to list, so its runs are
    # drawn in turn from a hypergeometric; forced here for every prompt.
    monkeypatch.setattr(st, "MAX_SUPPORT", 0)
    for values in (ONE_SAMPLE, FOUR_RUNS):
        assert omnibus_permutation_pvalue(values)[0] == pytest.approx(_enumerated(values),
                                                                      abs=0.015)


def test_one_sample_a_prompt_is_cochrans_q_in_exact_form() -> None:
    # Large table, one 1/0 sample per prompt and run: the chi-square approximation of Cochran's
    # Q is good here, and the permutation p agrees with it.
    rng = np.random.default_rng(3)
    rates = rng.beta(0.5, 0.5, 400)
    table = [[bool(rng.random() < min(1.0, r + (0.04 if j == 2 else 0))) for j in range(3)]
             for r in rates]
    _, _, p_chi2 = cochran_q(table)
    p, _ = omnibus_permutation_pvalue([[[float(x)] for x in row] for row in table])
    assert 0.001 < p_chi2 < 0.2
    assert p == pytest.approx(p_chi2, rel=0.25)


def test_the_support_of_a_split_is_the_hypergeometric() -> None:
    points, probs = st._hypergeometric_support((5, 3), 4)
    assert len(points) == st._split_count((5, 3), 4) == 4  # 1..4 of the ones in the first group
    for row, prob in zip(points, probs, strict=True):
        assert prob == pytest.approx(hypergeom.pmf(round(row[0] * 5), 8, 4, 5))
        assert row[0] * 5 + row[1] * 3 == pytest.approx(4)
    assert st._split_count((5, 5, 5), 7) == len(st._hypergeometric_support((5, 5, 5), 7)[0])
    assert st._split_count((2, 2), 5) == 0


def test_the_order_of_prompts_does_not_change_the_p_value() -> None:
    rng = np.random.default_rng(0)
    values = [[[float(v) for v in rng.integers(0, 2, size=rng.integers(1, 4))] for _ in range(3)]
              for _ in range(30)]
    values[3][1] = [0.45]
    values[7][0] = [0.5, 1.0]
    p = omnibus_permutation_pvalue(values)
    for seed in range(3):
        order = np.random.default_rng(seed).permutation(len(values))
        assert omnibus_permutation_pvalue([values[i] for i in order]) == p


def test_constant_prompts_and_bad_input() -> None:
    assert omnibus_permutation_pvalue([[[1.0], [1.0, 1.0], [1.0]]]) == (1.0, "exact")
    assert omnibus_permutation_pvalue([[[1.0], [math.nan], [0.0]]])[1] == "undefined"
    with pytest.raises(ValueError):
        omnibus_permutation_pvalue([[[1.0], [], [0.0]]])
    with pytest.raises(ValueError):
        omnibus_permutation_pvalue([[[1.0], [0.0], [0.0]], [[1.0], [0.0]]])


def _simulate(rng: np.random.Generator, *, prompts: int, runs: int, samples: int,
              shift: float, keep_one: bool = False) -> list[list[list[float]]]:
    """Runs of one model family: each prompt has a rate (Beta(0.5, 0.5)); the last run's
    log-odds are shifted by ``shift``. ``keep_one``: the second run counts one sample of each
    prompt (the others left out as uncertain)."""
    rate = rng.beta(0.5, 0.5, prompts).clip(1e-6, 1 - 1e-6)
    logit = np.log(rate / (1 - rate))
    table = []
    for i in range(prompts):
        row = []
        for j in range(runs):
            p = 1 / (1 + math.exp(-(logit[i] + (shift if j == runs - 1 else 0.0))))
            n = 1 if keep_one and j == 1 else samples
            row.append([float(x) for x in rng.random(n) < p])
        table.append(row)
    return table


def _majority_q(table: list[list[list[float]]]) -> float:
    return cochran_q([[2 * sum(c) > len(c) for c in row] for row in table])[2]


REPS = 300


@pytest.mark.parametrize(("samples", "keep_one"), [(1, False), (5, False), (5, True)])
def test_holds_its_size(samples: int, keep_one: bool) -> None:
    rng = np.random.default_rng(21)
    rejected = sum(
        omnibus_permutation_pvalue(
            _simulate(rng, prompts=40, runs=3, samples=samples, shift=0.0, keep_one=keep_one),
            resamples=2000, seed=s)[0] < 0.05
        for s in range(REPS))
    # 300 null tables: 15 expected; a binomial 99.9% band is about 4..29.
    assert 4 <= rejected <= 29, rejected


def test_uses_every_sample_where_majority_labels_did_not() -> None:
    # Five samples a prompt, the third run's log-odds up by 0.7: the permutation test on the
    # prompts' rates finds the change far more often than Cochran's Q on majority labels.
    rng = np.random.default_rng(22)
    perm = q = 0
    for s in range(REPS):
        table = _simulate(rng, prompts=40, runs=3, samples=5, shift=0.7)
        perm += omnibus_permutation_pvalue(table, resamples=2000, seed=s)[0] < 0.05
        p_q = _majority_q(table)
        q += p_q < 0.05
    assert perm / REPS > 0.55 and perm - q > 0.15 * REPS, (perm, q)
