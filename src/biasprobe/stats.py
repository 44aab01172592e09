"""Small statistics layer over statsmodels/scipy, used by ``biasprobe.diff`` and the report.

- :func:`wilson_ci`: 95% Wilson score interval for a proportion
  (``statsmodels.stats.proportion.proportion_confint(method="wilson")``).
- :func:`mcnemar_exact`: exact McNemar test on the discordant pairs of a paired 2×2 table
  (``statsmodels.stats.contingency_tables.mcnemar(exact=True)``; equal to a two-sided binomial
  test of ``b`` successes in ``b + c`` trials with p = 0.5).
- :func:`adjust_pvalues`: Holm (family-wise) or Benjamini–Hochberg (false discovery rate)
  correction across groups. BH is ``statsmodels.stats.multitest.multipletests``; Holm is the
  same step-down formula written out in numpy, because statsmodels' Holm branch calls
  ``gc.collect()`` on every call (~0.1 s each in a process that has loaded scipy/pandas).
  Tests check both against statsmodels.
- :func:`paired_bootstrap_ci`: mean of paired differences with a seeded percentile bootstrap
  95% interval (numpy; a few lines are clearer than ``scipy.stats.bootstrap`` here and it is
  deterministic for a given seed).

Heavy imports stay inside the functions so importing this module is cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

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
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    alpha: float = ALPHA,
) -> Shift:
    """Mean of ``b - a`` over pairs with a percentile bootstrap interval (pairs resampled)."""
    import numpy as np

    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    n = len(a)
    if n == 0:
        return Shift(n=0, mean=None, ci_low=None, ci_high=None)
    diffs = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    mean = float(diffs.mean())
    if n == 1:
        return Shift(n=1, mean=mean, ci_low=None, ci_high=None)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    means = diffs[idx].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return Shift(n=n, mean=mean, ci_low=float(lo), ci_high=float(hi))
