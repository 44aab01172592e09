"""Small statistics layer over statsmodels/scipy, used by ``biasprobe.diff`` and the report.

- :func:`wilson_ci`: 95% Wilson score interval for a proportion
  (``statsmodels.stats.proportion.proportion_confint(method="wilson")``).
- :func:`clustered_wilson` / :func:`cluster_rate`: the Wilson interval of answers clustered by
  prompt (several samples of one prompt), at the effective sample size n/deff; the plain
  Wilson interval with one sample a prompt.
- :func:`stratified_permutation_pvalue`: the paired per-prompt test of a change between two runs
  (a sign flip per prompt with equal sample counts, a random split of its pooled samples
  otherwise).
- :func:`omnibus_permutation_pvalue`: do three or more runs share one rate? The same
  stratified split of each prompt's pooled samples, among all the runs (``compare``, ``report``).
- :func:`mcnemar_exact`: exact McNemar test on the discordant pairs of a paired 2×2 table
  (``statsmodels.stats.contingency_tables.mcnemar(exact=True)``; equal to a two-sided binomial
  test of ``b`` successes in ``b + c`` trials with p = 0.5).
- :func:`adjust_pvalues`: Holm (family-wise) or Benjamini–Hochberg (false discovery rate)
  correction across groups. BH is ``statsmodels.stats.multitest.multipletests``; Holm is the
  same step-down formula written out in numpy, because statsmodels' Holm branch calls
  ``gc.collect()`` on every call (~0.1 s each in a process that has loaded scipy/pandas).
  Tests check both against statsmodels.
- :func:`paired_bootstrap_ci`: mean of paired differences with a seeded percentile bootstrap
  95% interval, pairs or clusters of pairs (a prompt's samples) resampled (numpy; a few lines
  are clearer than ``scipy.stats.bootstrap`` here and it is deterministic for a given seed).
- :func:`difference_estimate`: a run's rate corrected by a random hand-labelled sample of its
  own answers (the survey-sampling difference estimator, the mean case of prediction-powered
  inference), with a t interval; :func:`stratified_estimate` and :func:`combine_estimates`
  combine such estimates of several strata (languages: a whole-run rate, a gap between two);
  used by the blind check (:mod:`biasprobe.blindcheck`).

Heavy imports stay inside the functions so importing this module is cheap.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np

Correction = Literal["holm", "bh"]

ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240604


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "k": self.k,
            "n": self.n,
            "rate": rnd(self.rate),
            "ci_low": rnd(self.ci_low),
            "ci_high": rnd(self.ci_high),
        }


def rnd(x: float | None, digits: int = 10) -> float | None:
    """Round to ``digits`` significant digits (stable JSON across platforms); None/NaN -> None."""
    if x is None:
        return None
    xf = float(x)
    if math.isnan(xf):
        return None
    return float(f"{xf:.{digits}g}")


@lru_cache(maxsize=65536)
def wilson_ci(k: int, n: int, alpha: float = ALPHA) -> Proportion:
    """Rate k/n with its Wilson score interval; rate and interval are None when n == 0."""
    if n <= 0:
        return Proportion(k=k, n=n, rate=None, ci_low=None, ci_high=None)
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    return Proportion(k=k, n=n, rate=k / n, ci_low=float(lo), ci_high=float(hi))


def clustered_wilson(
    counts: Sequence[tuple[int, int]], alpha: float = ALPHA
) -> Proportion:
    """Rate and Wilson interval of answers clustered by prompt: ``counts`` holds (yes, answers)
    per prompt. The samples of one prompt are correlated, so the interval is the Wilson
    interval at the *effective* number of answers ``n / deff`` (Kish's design effect, as in
    survey statistics, e.g. Korn & Graubard 1998): ``deff`` = the ratio estimator's
    linearisation variance ``m/(m-1) * sum((k_i - p n_i)^2) / n^2`` over the binomial
    ``p(1-p)/n``, kept between 1 (answers independent) and ``n/m`` (every prompt answered the
    same way each time: the prompts are the units), and ``n/m`` when every answer is yes or
    every answer is no (the spread cannot be estimated: the cautious end). With one answer per
    prompt this is exactly :func:`wilson_ci`.
    """
    clusters = [(k, n) for k, n in counts if n > 0]
    total_k = sum(k for k, _ in clusters)
    total_n = sum(n for _, n in clusters)
    m = len(clusters)
    if total_n == m:  # one answer a prompt (or none): the plain Wilson interval
        return wilson_ci(total_k, total_n, alpha)
    p = total_k / total_n
    v_srs = p * (1 - p) / total_n
    v_ratio = (m / (m - 1) * sum((k - p * n) ** 2 for k, n in clusters) / total_n**2
               if m > 1 else 0.0)
    most = total_n / m
    deff = most if v_srs <= 0 else min(most, max(1.0, v_ratio / v_srs))
    n_eff = total_n / deff
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(p * n_eff, n_eff, alpha=alpha, method="wilson")
    return Proportion(k=total_k, n=total_n, rate=p, ci_low=float(lo), ci_high=float(hi))


def cluster_rate(outcomes: Iterable[tuple[Hashable, bool]], alpha: float = ALPHA) -> Proportion:
    """:func:`clustered_wilson` of ``(cluster, yes)`` outcomes (a cluster: a prompt, whose
    samples are correlated)."""
    counts: dict[Hashable, list[int]] = {}
    for key, yes in outcomes:
        c = counts.setdefault(key, [0, 0])
        c[0] += bool(yes)
        c[1] += 1
    return clustered_wilson([(k, n) for k, n in counts.values()], alpha)


@lru_cache(maxsize=65536)
def mcnemar_exact(b: int, c: int) -> float:
    """Exact McNemar p-value from the discordant counts ``b`` (yes→no) and ``c`` (no→yes).

    With no discordant pairs there is no evidence of change: p = 1.
    """
    if b + c == 0:
        return 1.0
    from statsmodels.stats.contingency_tables import mcnemar

    # The concordant cells do not enter the exact test; zeros keep the table valid.
    result = mcnemar([[0, b], [c, 0]], exact=True)
    return float(min(1.0, result.pvalue))


def adjust_pvalues(
    pvalues: Sequence[float | None], method: Correction = "holm"
) -> list[float | None]:
    """Adjust a family of p-values; ``None`` entries (untestable groups) stay ``None``."""
    present = [(i, p) for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    if not present:
        return out
    values = [p for _, p in present]
    if method == "holm":
        adjusted = _holm(values)
    elif method == "bh":
        from statsmodels.stats.multitest import multipletests

        adjusted = [float(q) for q in multipletests(values, alpha=ALPHA, method="fdr_bh")[1]]
    else:
        raise ValueError(f"unknown correction {method!r}")
    for (i, _), q in zip(present, adjusted, strict=True):
        out[i] = float(min(1.0, q))
    return out


def _holm(pvalues: list[float]) -> list[float]:
    """Holm step-down: sort ascending, multiply the i-th (0-based) by m - i, running max."""
    import numpy as np

    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1))
    out = np.empty_like(p)
    out[order] = np.minimum(stepped, 1.0)
    return [float(q) for q in out]


@dataclass(frozen=True)
class Shift:
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "n": self.n,
            "mean_shift": rnd(self.mean),
            "ci_low": rnd(self.ci_low),
            "ci_high": rnd(self.ci_high),
        }


def paired_bootstrap_ci(
    a: Sequence[float],
    b: Sequence[float],
    *,
    clusters: Sequence[object] | None = None,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    alpha: float = ALPHA,
) -> Shift:
    """Mean of ``b - a`` over pairs with a percentile bootstrap interval (pairs resampled).

    ``clusters`` (one id per pair, e.g. the prompt of each (prompt, sample) pair): whole
    clusters are resampled instead, so correlated pairs of one prompt are not taken for
    independent ones; without it each pair is its own cluster. One cluster: no interval.
    """
    import numpy as np

    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    n = len(a)
    if n == 0:
        return Shift(n=0, mean=None, ci_low=None, ci_high=None)
    if clusters is not None and len(clusters) != n:
        raise ValueError("one cluster per pair")
    diffs = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    mean = float(diffs.mean())
    index: dict[object, int] = {}
    group = np.array([index.setdefault(c, len(index)) for c in (clusters or range(n))],
                     dtype=np.int64)
    m = len(index)
    if m == 1:
        return Shift(n=n, mean=mean, ci_low=None, ci_high=None)
    sums = np.bincount(group, weights=diffs, minlength=m)
    sizes = np.bincount(group, minlength=m).astype(float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, m, size=(resamples, m))
    means = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return Shift(n=n, mean=mean, ci_low=float(lo), ci_high=float(hi))


# --- per-prompt (clustered) inference ---------------------------------------------------------

SIGN_FLIP_MC_RESAMPLES = 20000
EXACT_MAX_DENOMINATOR = 720
Z_975 = 1.959963984540054
Z_80 = 0.8416212335729143
# Per-prompt differences closer than this are equal: rates computed from different counts
# differ in the last bits (3/5 - 2/5 != 1/5), which must not read as a (tiny) spread.
EQUAL_TOL = 1e-9


@dataclass(frozen=True)
class PromptChange:
    """Per-prompt paired change: mean of per-prompt differences, interval and test."""

    n: int
    mean_a: float | None
    mean_b: float | None
    change: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: str
    up: int
    down: int


def sign_flip_pvalue(
    diffs: Sequence[float],
    denominators: Sequence[int] | None = None,
    *,
    resamples: int = SIGN_FLIP_MC_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, str]:
    """Two-sided paired sign-flip permutation test of ``sum(diffs) == 0``; (p, method).

    Each per-prompt difference keeps its size and gets a random sign. The test is *exact*
    when every difference is a multiple of ``1/L`` for a common ``L`` (the lcm of
    ``denominators``, the per-prompt sample counts) up to :data:`EXACT_MAX_DENOMINATOR`: the
    null distribution of the sum is built by convolution over integers. With one sample per
    prompt this is exactly the exact McNemar test. Otherwise a seeded Monte Carlo estimate
    ``(1 + #{|T*| >= |T|}) / (1 + resamples)``. A missing (NaN) or infinite difference: no
    test, ``(nan, "undefined")`` (NaN compares false, which would give the smallest p).
    """
    import numpy as np

    d = np.asarray(diffs, dtype=float)
    if not np.isfinite(d).all():
        return math.nan, "undefined"
    d = d[d != 0]
    if d.size == 0:
        return 1.0, "exact"
    lcm = _common_denominator(denominators)
    if lcm is not None:
        ints = np.rint(np.abs(d) * lcm).astype(np.int64)
        if np.allclose(ints, np.abs(d) * lcm, atol=1e-6):
            return _exact_sign_flip(ints, int(np.rint(abs(d.sum()) * lcm))), "exact"
    rng = np.random.default_rng(seed)
    t_obs = abs(d.sum())
    hits = 0
    for start in range(0, resamples, 2000):
        size = min(2000, resamples - start)
        signs = rng.integers(0, 2, size=(size, d.size)) * 2 - 1
        hits += int((np.abs(signs @ d) >= t_obs - 1e-9).sum())
    return (1 + hits) / (1 + resamples), "monte_carlo"


def member_permutation_pvalue(
    units: Sequence[tuple[Sequence[float], int]],
    *,
    resamples: int = SIGN_FLIP_MC_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, str]:
    """Two-sided stratified permutation test that one member of each unit differs from the
    unit's other members; (p, method).

    ``units`` holds per unit its members' values and the index of the designated member (e.g.
    per mirror template and language: each government's censored rate, China designated). The
    statistic is ``T = sum over units of (designated - mean of the others)``. Under the null the
    members of a unit are exchangeable, so each unit's designated member is, in turn, any of its
    members with equal chance: the null distribution of ``T``, estimated from ``resamples``
    seeded draws, ``(1 + #{|T*| >= |T|}) / (1 + resamples)``. Units with fewer than two members,
    or whose members are all alike, add nothing and are left out. A non-finite value: no test.
    """
    import numpy as np

    contributions: list[np.ndarray] = []
    t_obs = 0.0
    for values, designated in units:
        x = np.asarray(values, dtype=float)
        if x.size < 2:
            continue
        if not np.isfinite(x).all():
            return math.nan, "undefined"
        # each member's value minus the mean of the others, were it the designated one
        v = x - (x.sum() - x) / (x.size - 1)
        t_obs += float(v[designated])
        if np.ptp(v) > EQUAL_TOL:
            contributions.append(v)
    if not contributions:
        return 1.0, "exact"
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, resamples, 2000):
        size = min(2000, resamples - start)
        total = np.zeros(size)
        for v in contributions:
            total += v[rng.integers(0, v.size, size=size)]
        hits += int((np.abs(total) >= abs(t_obs) - 1e-9).sum())
    return (1 + hits) / (1 + resamples), "monte_carlo"


def _common_denominator(denominators: Sequence[int] | None) -> int | None:
    if not denominators:
        return None
    lcm = 1
    for q in set(denominators):
        lcm = math.lcm(lcm, int(q))
        if lcm > EXACT_MAX_DENOMINATOR:
            return None
    return lcm


def _exact_sign_flip(sizes: object, t_obs: int) -> float:
    """P(|sum s_i a_i| >= t_obs) for independent fair signs s_i and integer sizes a_i."""
    import numpy as np

    a = np.asarray(sizes, dtype=np.int64)
    total = int(a.sum())
    dist = np.zeros(2 * total + 1)
    dist[total] = 1.0
    for size in a:
        s = int(size)
        shifted = np.zeros_like(dist)
        shifted[: dist.size - s] += dist[s:]
        shifted[s:] += dist[: dist.size - s]
        dist = shifted * 0.5
    values = np.abs(np.arange(-total, total + 1))
    return float(min(1.0, dist[values >= t_obs].sum()))


@lru_cache(maxsize=4096)
def _t_quantile(q: float, df: float) -> float:
    from scipy.stats import t as student_t

    return float(student_t.ppf(q, df))


def t_interval(diffs: Sequence[float], alpha: float = ALPHA) -> tuple[float | None, float | None]:
    """Student-t interval for the mean of per-prompt differences.

    None with fewer than 2 prompts, and when every difference is the same (a zero-width
    interval would claim certainty the data do not give).
    """
    import numpy as np

    d = np.asarray(diffs, dtype=float)
    if d.size < 2 or float(d.max() - d.min()) <= EQUAL_TOL:
        return None, None
    half = _t_quantile(1 - alpha / 2, d.size - 1) * float(d.std(ddof=1)) / math.sqrt(d.size)
    mean = float(d.mean())
    return max(-1.0, mean - half), min(1.0, mean + half)


def stratified_permutation_pvalue(
    values_a: Sequence[Sequence[float]],
    values_b: Sequence[Sequence[float]],
    steps: int = 1,
    *,
    resamples: int = SIGN_FLIP_MC_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, str]:
    """Two-sided stratified permutation test of ``sum over prompts of (mean_b - mean_a) == 0``;
    (p, method).

    ``values_a[i]`` and ``values_b[i]`` are prompt ``i``'s per-sample values in A and in B (1/0,
    or a probability on a ``1/steps`` grid). Under the null a prompt's samples in A and B are
    exchangeable; prompts are independent strata. A prompt with as many samples in A as in B
    gets its difference with a random sign (the swap of A and B: the sign-flip test of
    :func:`sign_flip_pvalue`, with one sample per prompt the exact McNemar test). A prompt with
    different counts (answers left out as uncertain, runs with different ``samples``) gets every
    split of its pooled samples into ``len(a)`` and ``len(b)``: there a sign flip is not valid,
    as the mean of one sample and the mean of five differ in spread and their difference is not
    symmetric under the null (simulated in ``tests/test_stats_audit.py``: 9% rejections at 5%
    with 40 prompts at low rates, B keeping one of five samples).

    Exact (by convolution of the per-prompt null distributions on a common integer grid) when
    the grid's denominator is at most :data:`EXACT_MAX_DENOMINATOR` and the prompts with
    unequal counts hold only 1/0 values (their null is hypergeometric); otherwise a seeded
    Monte Carlo estimate ``(1 + #{|T*| >= |T|}) / (1 + resamples)``.
    """
    import numpy as np

    if len(values_a) != len(values_b):
        raise ValueError("values_a and values_b must have one entry per prompt each")
    # Plain Python per prompt: a diff runs this for every metric and group, over prompts
    # with a handful of samples each, where numpy's per-call cost dominates.
    sizes = [(len(a), len(b)) for a, b in zip(values_a, values_b, strict=True)]
    if any(na == 0 or nb == 0 for na, nb in sizes):
        raise ValueError("every prompt needs at least one value in A and in B")
    if not all(math.isfinite(v) for side in (values_a, values_b) for vals in side for v in vals):
        return math.nan, "undefined"
    sums = [(sum(a), sum(b)) for a, b in zip(values_a, values_b, strict=True)]
    diffs = [sb / nb - sa / na for (sa, sb), (na, nb) in zip(sums, sizes, strict=True)]
    equal = [i for i, (na, nb) in enumerate(sizes) if na == nb]
    # A prompt whose pooled values are all the same gives 0 under every split: left out of the
    # null (as a zero difference is left out of the sign flip), which changes no p-value.
    unequal = [i for i, (na, nb) in enumerate(sizes)
               if na != nb and len({*values_a[i], *values_b[i]}) > 1]
    if not unequal:
        dens = [n * steps for i in equal for n in sizes[i]]  # constant unequal ones add 0
        return sign_flip_pvalue(diffs, dens, resamples=resamples, seed=seed)
    t_obs = abs(sum(diffs))
    binary = all(v in (0.0, 1.0) for i in unequal for side in (values_a[i], values_b[i])
                 for v in side)
    ones = [round(sums[i][0] + sums[i][1]) for i in unequal] if binary else []
    if binary:
        exact = _exact_stratified([diffs[i] for i in equal], [sizes[i] for i in equal],
                                  [(*sizes[i], k) for i, k in zip(unequal, ones, strict=True)],
                                  t_obs, steps)
        if exact is not None:
            return exact, "exact"
    rng = np.random.default_rng(seed)
    by_sizes: dict[tuple[int, int], np.ndarray] = {}
    if not binary:  # each prompt's pooled values, B's first, stacked per (n_a, n_b)
        for shape in sorted({sizes[i] for i in unequal}):
            by_sizes[shape] = np.array([[*values_b[i], *values_a[i]] for i in unequal
                                        if sizes[i] == shape], dtype=float)
    d_eq = np.array([diffs[i] for i in equal if diffs[i] != 0], dtype=float)
    n_a = np.array([sizes[i][0] for i in unequal])
    n_b = np.array([sizes[i][1] for i in unequal])
    hits = 0
    for start in range(0, resamples, 2000):
        size = min(2000, resamples - start)
        total = (rng.integers(0, 2, size=(size, d_eq.size)) * 2 - 1) @ d_eq
        if binary:  # the ones that land in B, for every prompt and draw at once
            k = np.array(ones)
            x = rng.hypergeometric(k, n_a + n_b - k, n_b, size=(size, len(unequal)))
            total = total + (x / n_b - (k - x) / n_a).sum(axis=1)
        else:
            for (na, nb), pooled in by_sizes.items():
                total = total + _split_draws(rng, pooled, na, nb, size)
        hits += int((np.abs(total) >= t_obs - 1e-9).sum())
    return (1 + hits) / (1 + resamples), "monte_carlo"


def _split_draws(
    rng: np.random.Generator, pooled: np.ndarray, na: int, nb: int, size: int
) -> np.ndarray:
    """``size`` draws of the summed ``mean_b - mean_a`` of prompts whose pooled values are the
    rows of ``pooled`` (B's first), each split at random into ``nb`` for B and ``na`` for A."""
    means = _multi_split_draws(rng, pooled, (nb, na), size)
    change: np.ndarray = means[:, 0] - means[:, 1]
    return change


# Work bound of the exact stratified test (grid cells times support points summed over
# prompts): 65 million took 0.1 s (840 prompts, a diff's "all" row); beyond the bound the
# Monte Carlo estimate is cheaper.
EXACT_MAX_WORK = 300_000_000


def _exact_stratified(
    d_equal: Sequence[float],
    sizes_equal: Sequence[tuple[int, int]],
    unequal: Sequence[tuple[int, int, int]],
    t_obs: float,
    steps: int,
) -> float | None:
    """Exact p of :func:`stratified_permutation_pvalue`: ``unequal`` holds (n_a, n_b, ones)
    per prompt with 1/0 values; None when the grid or the work is too large."""
    import numpy as np

    lcm = _common_denominator(
        [n * steps for s in sizes_equal for n in s] + [n for na, nb, _ in unequal for n in (na, nb)]
    )
    if lcm is None:
        return None
    d = np.abs(np.asarray(d_equal, dtype=float)) * lcm
    ints = np.rint(d).astype(np.int64)
    if not np.allclose(ints, d, atol=1e-6):
        return None
    supports: list[tuple[np.ndarray, np.ndarray]] = []
    for na, nb, k in unequal:
        m = na + nb
        xs = np.arange(max(0, k - na), min(k, nb) + 1)
        pmf = np.array([math.comb(k, x) * math.comb(m - k, nb - x) for x in xs], dtype=float)
        offsets = np.rint((xs / nb - (k - xs) / na) * lcm).astype(np.int64)
        supports.append((offsets, pmf / pmf.sum()))
    supports += [(np.array([-a, a]), np.array([0.5, 0.5])) for a in ints if a]
    total = int(sum(int(np.abs(o).max()) for o, _ in supports))
    if sum(o.size for o, _ in supports) * (2 * total + 1) > EXACT_MAX_WORK:
        return None
    dist = np.zeros(2 * total + 1)
    dist[total] = 1.0
    for offsets, probs in supports:
        new = np.zeros_like(dist)
        for o, pr in zip(offsets.tolist(), probs.tolist(), strict=True):
            if o >= 0:
                new[o:] += pr * dist[: dist.size - o]
            else:
                new[: dist.size + o] += pr * dist[-o:]
        dist = new
    values = np.abs(np.arange(-total, total + 1))
    return float(min(1.0, dist[values >= round(t_obs * lcm) - 1e-6].sum()))


def prompt_change(
    values_a: Sequence[Sequence[float]],
    values_b: Sequence[Sequence[float]],
    steps: int = 1,
) -> PromptChange:
    """Clustered paired change over prompts from each prompt's per-sample values in A and in B
    (1/0, or probabilities on a ``1/steps`` grid): mean of per-prompt rate differences, its t
    interval and :func:`stratified_permutation_pvalue`."""
    n = len(values_a)
    if n == 0:
        return PromptChange(0, None, None, None, None, None, None, "none", 0, 0)
    rates_a = [sum(v) / len(v) for v in values_a]
    rates_b = [sum(v) / len(v) for v in values_b]
    diffs = [b - a for a, b in zip(rates_a, rates_b, strict=True)]
    lo, hi = t_interval(diffs)
    p, method = stratified_permutation_pvalue(values_a, values_b, steps)
    unequal = any(len(a) != len(b) for a, b in zip(values_a, values_b, strict=True))
    return PromptChange(
        n=n,
        mean_a=sum(rates_a) / n,
        mean_b=sum(rates_b) / n,
        change=sum(diffs) / n,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        test=f"{'permutation' if unequal else 'sign_flip'}_{method}",
        up=sum(1 for x in diffs if x > 0),
        down=sum(1 for x in diffs if x < 0),
    )


def cohens_h(p_a: float | None, p_b: float | None) -> float | None:
    """Cohen's h = 2·asin(√p_b) − 2·asin(√p_a) (0.2 small, 0.5 medium, 0.8 large)."""
    if p_a is None or p_b is None:
        return None
    return 2 * math.asin(math.sqrt(p_b)) - 2 * math.asin(math.sqrt(p_a))


def min_detectable_change(diffs: Sequence[float]) -> float | None:
    """Smallest change a two-sided 5% paired test detects with 80% power over these prompts.

    Normal approximation ``(z_.975 + z_.80) · sd / √n`` with ``sd`` the standard deviation of
    the per-prompt differences; when they are all equal (sd = 0) the planning value √0.5 (two
    independent fair coins) is used instead, so few prompts never read as high power.
    """
    n = len(diffs)
    if n < 2:
        return None
    mean = sum(diffs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in diffs) / (n - 1))
    if max(diffs) - min(diffs) <= EQUAL_TOL:
        sd = math.sqrt(0.5)
    return min(1.0, (Z_975 + Z_80) * sd / math.sqrt(n))


def omnibus_permutation_pvalue(
    values: Sequence[Sequence[Sequence[float]]],
    *,
    resamples: int = SIGN_FLIP_MC_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, str]:
    """Stratified permutation test that three or more runs share one rate; (p, method).

    ``values[i][j]`` holds prompt ``i``'s per-sample values in run ``j`` (1/0, or a
    probability), at least one each. The statistic is the spread of the runs' rates,
    ``T = sum over runs of (R_j - mean R)^2`` with ``R_j`` the sum over prompts of prompt
    ``i``'s mean in run ``j``. Under the null a prompt's samples are exchangeable across the
    runs and prompts are independent strata, so each draw splits every prompt's pooled samples
    at random into groups of its counts (the multivariate hypergeometric for 1/0 values) and
    ``p = (1 + #{T* >= T}) / (1 + resamples)`` over seeded draws. With one 1/0 sample per
    prompt and run this is Cochran's Q test in its exact, conditional form (Q is a monotone
    function of ``T`` once each prompt's number of censored runs is fixed); unlike Cochran's Q
    on majority labels it uses every sample, and it stays valid when runs differ in how many
    samples of a prompt they count. Prompts whose pooled values are all alike add the same to
    every run and are left out. A non-finite value: no test.
    """
    import numpy as np

    k = len(values[0]) if values else 0
    if any(len(row) != k for row in values) or k < 2:
        raise ValueError("every prompt needs one list of values per run, two runs or more")
    if any(not cell for row in values for cell in row):
        raise ValueError("every prompt needs at least one value in every run")
    if not all(math.isfinite(v) for row in values for cell in row for v in cell):
        return math.nan, "undefined"
    rows = [row for row in values if len({v for cell in row for v in cell}) > 1]
    if not rows:
        return 1.0, "exact"
    observed = np.array([[sum(cell) / len(cell) for cell in row] for row in rows]).sum(axis=0)
    t_obs = float(((observed - observed.mean()) ** 2).sum())
    soft: dict[tuple[int, ...], list[list[float]]] = {}
    binary: Counter[tuple[tuple[int, ...], int]] = Counter()  # (counts, ones) -> prompts
    for r in rows:
        sizes = tuple(len(c) for c in r)
        if all(v in (0.0, 1.0) for cell in r for v in cell):
            binary[sizes, round(sum(sum(c) for c in r))] += 1
        else:
            soft.setdefault(sizes, []).append([v for c in r for v in c])
    # A 1/0 prompt's split is multivariate hypergeometric with a small support; the prompts
    # sharing counts and ones are iid, so their summed contribution is a multinomial count of
    # each support point: one draw per kind of prompt rather than per prompt.
    # (Many runs with many samples make the support too large: those prompts are drawn one by
    # one, run after run, from the hypergeometric of what the earlier runs left.)
    # Kinds in sorted order, so the p-value does not depend on the order of the prompts.
    kinds: list[tuple[tuple[np.ndarray, np.ndarray], int]] = []
    large: list[tuple[tuple[int, ...], int]] = []
    for (sizes, ones), n in sorted(binary.items()):
        if _split_count(sizes, ones) <= MAX_SUPPORT:
            kinds.append((_hypergeometric_support(sizes, ones), n))
        else:
            large += [(sizes, ones)] * n
    counts = np.array([sizes for sizes, _ in large], dtype=np.int64).reshape(-1, k)
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, resamples, 2000):
        size = min(2000, resamples - start)
        totals = np.zeros((size, k))
        for (points, probs), n in kinds:
            if n < len(probs):  # fewer prompts than splits: draw each prompt's split
                idx = np.searchsorted(np.cumsum(probs), rng.random((size, n)) * probs.sum())
                totals += points[np.minimum(idx, len(probs) - 1)].sum(axis=1)
            else:
                totals += rng.multinomial(n, probs, size=size) @ points
        if large:
            left_ones = np.tile([ones for _, ones in large], (size, 1))
            left = np.tile(counts.sum(axis=1), (size, 1))
            for j in range(k):
                x = (left_ones if j == k - 1 else rng.hypergeometric(
                    left_ones, left - left_ones, counts[:, j], size=left.shape))
                totals[:, j] += (x / counts[:, j]).sum(axis=1)
                left_ones = left_ones - x
                left = left - counts[:, j]
        for sizes, pooled in sorted(soft.items()):
            totals += _multi_split_draws(rng, np.array(sorted(pooled)), sizes, size)
        stat = ((totals - totals.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        # relative tolerance: a tie summed in another order must still count as a tie
        hits += int((stat >= t_obs - 1e-9 * max(1.0, t_obs)).sum())
    return (1 + hits) / (1 + resamples), "monte_carlo"


MAX_SUPPORT = 5000  # splits of one prompt enumerated at most (else drawn one by one)


def _split_count(sizes: tuple[int, ...], ones: int) -> int:
    """How many ways ``ones`` ones split among groups of ``sizes`` (as counts per group)."""
    ways = [1] + [0] * ones  # ways[t]: splits of t ones among the groups so far
    for n_j in sizes:
        ways = [sum(ways[t - x] for x in range(min(n_j, t) + 1)) for t in range(ones + 1)]
    return ways[ones]


def _hypergeometric_support(
    sizes: tuple[int, ...], ones: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every split of ``ones`` ones among groups of ``sizes`` (as each group's mean, one row
    per split) and its probability, ``prod C(n_j, x_j) / C(sum n, ones)``."""
    import numpy as np

    splits: list[tuple[int, ...]] = [()]
    for j, n_j in enumerate(sizes):
        rest = sum(sizes[j + 1:])
        splits = [(*x, x_j) for x in splits for x_j in range(n_j + 1)
                  if sum(x) + x_j <= ones <= sum(x) + x_j + rest]
    weights = np.array([math.prod(math.comb(n, x) for n, x in zip(sizes, split, strict=True))
                        for split in splits], dtype=float)
    return np.array(splits, dtype=float) / np.array(sizes), weights / weights.sum()


def _multi_split_draws(
    rng: np.random.Generator, pooled: np.ndarray, sizes: tuple[int, ...], size: int
) -> np.ndarray:
    """``size`` draws of each run's summed mean over prompts whose pooled values are the rows
    of ``pooled``, each split at random into groups of ``sizes`` (one column per run)."""
    import numpy as np

    rows, m = pooled.shape
    bounds = np.cumsum((0, *sizes))
    out = np.zeros((size, len(sizes)))
    step = max(1, 4_000_000 // (rows * m))  # draws per block: bounded memory
    for start in range(0, size, step):
        n = min(step, size - start)
        shuffled = rng.permuted(np.broadcast_to(pooled, (n, rows, m)), axis=2)
        for j, n_j in enumerate(sizes):
            seg = shuffled[:, :, bounds[j]:bounds[j + 1]]
            out[start:start + n, j] = (seg.sum(axis=2) / n_j).sum(axis=1)
    return out


# --- misclassification (Rogan–Gladen) ---------------------------------------------------------

CORRECTION_RESAMPLES = 2000


@dataclass(frozen=True)
class ClassifierError:
    """Sensitivity and specificity of the censored/complete decision, as counts.

    sensitivity = sens_k / sens_n (censored answers labelled censored), specificity =
    spec_k / spec_n (complete answers labelled complete).
    """

    sens_k: int
    sens_n: int
    spec_k: int
    spec_n: int
    source: str = ""

    @property
    def sensitivity(self) -> float:
        return self.sens_k / self.sens_n

    @property
    def specificity(self) -> float:
        return self.spec_k / self.spec_n


def rogan_gladen(p: float, sensitivity: float, specificity: float) -> float:
    """True rate from an observed rate: (p + Sp − 1) / (Se + Sp − 1), clipped to [0, 1]."""
    return min(1.0, max(0.0, (p + specificity - 1) / (sensitivity + specificity - 1)))


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a 95% interval."""

    value: float | None
    ci_low: float | None
    ci_high: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {"value": rnd(self.value), "ci_low": rnd(self.ci_low), "ci_high": rnd(self.ci_high)}


@dataclass(frozen=True)
class Corrected:
    """Misclassification-corrected rates (and change) with percentile bootstrap intervals."""

    rate_a: Estimate
    rate_b: Estimate | None
    change: Estimate | None


def corrected_rates(
    rates_a: Sequence[float],
    rates_b: Sequence[float] | None,
    err: ClassifierError,
    *,
    resamples: int = CORRECTION_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> Corrected | None:
    """Rogan–Gladen corrected mean per-prompt rate(s) and change, intervals carrying both the
    sampling of prompts (prompts resampled, jointly in A and B) and the uncertainty of
    sensitivity/specificity (each drawn from its Jeffreys posterior, Beta(k + 1/2, n - k + 1/2):
    unlike a binomial redraw around k/n, it keeps a spread when the evaluation found no error,
    k = n, where the redraw has none and the intervals were too narrow: simulated coverage
    0.91-0.95 with the redraw, 0.94-0.98 with the posterior over five settings of a nearly
    flawless classifier with a 25-50 + 25-50 evaluation, tests/test_stats_sim.py).
    """
    import numpy as np

    ra = np.asarray(rates_a, dtype=float)
    if ra.size == 0:
        return None
    rb = None if rates_b is None else np.asarray(rates_b, dtype=float)
    rng = np.random.default_rng(seed)
    se = rng.beta(err.sens_k + 0.5, err.sens_n - err.sens_k + 0.5, resamples)
    sp = rng.beta(err.spec_k + 0.5, err.spec_n - err.spec_k + 0.5, resamples)
    idx = rng.integers(0, ra.size, size=(resamples, ra.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.where(se + sp - 1 > 0, se + sp - 1, np.nan)
        ta = np.clip((ra[idx].mean(axis=1) + sp - 1) / denom, 0, 1)
        tb = None if rb is None else np.clip((rb[idx].mean(axis=1) + sp - 1) / denom, 0, 1)
    point_a = rogan_gladen(float(ra.mean()), err.sensitivity, err.specificity)
    rate_a = _percentile(point_a, ta)
    if rb is None or tb is None:
        return Corrected(rate_a, None, None)
    point_b = rogan_gladen(float(rb.mean()), err.sensitivity, err.specificity)
    return Corrected(rate_a, _percentile(point_b, tb), _percentile(point_b - point_a, tb - ta))


def _percentile(point: float, draws: object) -> Estimate:
    import numpy as np

    values = np.asarray(draws, dtype=float)
    if np.isnan(values).all():
        return Estimate(point, None, None)
    lo, hi = np.nanquantile(values, [ALPHA / 2, 1 - ALPHA / 2])
    return Estimate(point, float(lo), float(hi))


@dataclass(frozen=True)
class DifferenceEstimate:
    """A population mean from a predictor on all of it and a random labelled sample of it."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    predicted: float  # mean of the predictor over the whole population
    sample_mean: float | None  # mean of the labels alone on the sample (no predictor)


def difference_estimate(
    predicted: Sequence[float],
    sample_labels: Sequence[float],
    sample_predicted: Sequence[float],
    alpha: float = ALPHA,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> DifferenceEstimate:
    """Mean of the true labels over a finite population of ``N = len(predicted)`` items, from
    the predictor's value on every item and the true label of a **uniform random sample** of
    ``n`` of them (drawn without replacement, before anyone saw the predictions).

    Estimate: ``mean(predicted) + mean(label - prediction over the sample)`` — unbiased for
    any predictor, however wrong, because the sample is random (survey sampling's difference
    estimator; prediction-powered inference's mean estimator). Standard error: ``sqrt((1 - n/N)
    * s2 / n)`` with the finite-population correction, where ``s2`` is the sample variance of
    the differences computed with two pseudo-differences added (``+1`` and ``-1``), so that a
    small sample on which the predictor never erred does not give a zero-width interval (its
    coverage is measured in ``tests/test_blindcheck_sim.py``). Interval: estimate ± t(n-1)·SE,
    clipped to ``bounds`` ([0, 1] for a rate, [-1, 1] for a change of rate: values are then
    per-item differences of two runs). Every item labelled: the exact mean (SE 0, even of one
    item). Otherwise fewer than two labels: no interval.
    """
    lo, hi = bounds
    big_n, n = len(predicted), len(sample_labels)
    if n != len(sample_predicted):
        raise ValueError("sample_labels and sample_predicted differ in length")
    if big_n == 0 or n > big_n:
        raise ValueError("the sample must come from a non-empty population")
    base = math.fsum(predicted) / big_n
    if n == 0:
        return DifferenceEstimate(None, None, None, None, base, None)
    diffs = [h - c for h, c in zip(sample_labels, sample_predicted, strict=True)]
    value = min(hi, max(lo, base + math.fsum(diffs) / n))
    sample_mean = math.fsum(sample_labels) / n
    if n == big_n:  # every item read: the mean is known (finite-population correction 0)
        return DifferenceEstimate(value, value, value, 0.0, base, sample_mean)
    if n < 2:
        return DifferenceEstimate(value, None, None, None, base, sample_mean)
    padded = [*diffs, 1.0, -1.0]
    mean_p = math.fsum(padded) / len(padded)
    s2 = math.fsum((d - mean_p) ** 2 for d in padded) / (len(padded) - 1)
    se = math.sqrt(max(0.0, 1.0 - n / big_n) * s2 / n)
    half = _t_quantile(1 - alpha / 2, n - 1) * se
    return DifferenceEstimate(value, max(lo, value - half), min(hi, value + half), se, base,
                              sample_mean)


def stratified_estimate(
    strata: Sequence[tuple[int, DifferenceEstimate, int]],
    alpha: float = ALPHA,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> DifferenceEstimate:
    """The population mean from per-stratum estimates ``(stratum size, estimate, sample size)``:
    each weighted by its share of the population (:func:`combine_estimates`). Valid however the
    sample was shared among the strata (e.g. a reader who read more Chinese answers than
    English ones), as long as each stratum's sample is uniform within it."""
    total = sum(size for size, _, _ in strata)
    if total == 0:
        raise ValueError("no strata")
    return combine_estimates([(size / total, e, n) for size, e, n in strata], alpha, bounds)


def combine_estimates(
    parts: Sequence[tuple[float, DifferenceEstimate, int]],
    alpha: float = ALPHA,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> DifferenceEstimate:
    """``sum(weight * estimate)`` of estimates from samples drawn apart ``(weight, estimate,
    sample size)``: a stratified mean (weights = shares) or a gap between two strata (weights
    +1 and -1). Variances add; a t interval with Welch–Satterthwaite degrees of freedom. A part
    with no sample: no estimate; one with a single label (not its whole stratum): no
    interval."""
    if not parts:
        raise ValueError("nothing to combine")
    predicted = math.fsum(w * e.predicted for w, e, _ in parts)
    if any(e.value is None or e.sample_mean is None for _, e, _ in parts):
        return DifferenceEstimate(None, None, None, None, predicted, None)
    value = min(bounds[1], max(bounds[0], math.fsum(w * (e.value or 0.0) for w, e, _ in parts)))
    sample_mean = math.fsum(w * (e.sample_mean or 0.0) for w, e, _ in parts)
    if any(e.se is None for _, e, _ in parts):
        return DifferenceEstimate(value, None, None, None, predicted, sample_mean)
    terms = [((w * (e.se or 0.0)) ** 2, n) for w, e, n in parts]
    var = math.fsum(t for t, _ in terms)
    # A part read in full (variance 0, possibly of one label) adds nothing, not a 0/0.
    denom = math.fsum(t * t / (n - 1) for t, n in terms if t > 0)
    df = max(1.0, var * var / denom) if denom > 0 else float(sum(n for _, n in terms) - 1)
    half = _t_quantile(1 - alpha / 2, df) * math.sqrt(var) if var > 0 else 0.0
    return DifferenceEstimate(value, max(bounds[0], value - half), min(bounds[1], value + half),
                              math.sqrt(var), predicted, sample_mean)
