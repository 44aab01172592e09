"""Statistics audit: exact reference checks and small seeded simulations of edge cases."""

from __future__ import annotations

import math

from biasprobe.stats import Z_80, Z_975, min_detectable_change, prompt_change, t_interval


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
    pc = prompt_change(a, b, [5] * 8)
    assert pc.ci_low is None and pc.ci_high is None
    assert min_detectable_change(d) == (Z_975 + Z_80) * math.sqrt(0.5) / 2
