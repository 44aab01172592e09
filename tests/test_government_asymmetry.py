"""China against the other governments on mirror questions: the test and the change's interval.

The unit is one mirror template in one language (the same question about each government);
the null is that the governments of a unit are exchangeable, so any of them could have been
China (``stats.member_permutation_pvalue``).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from biasprobe.diff import Item, ScoredRun, _asymmetry_change, _Units, asymmetry
from biasprobe.manifest import Manifest
from biasprobe.stats import member_permutation_pvalue

GOVS = ["CN", "US", "RU", "IN", "SA", "IL", "GB", "TR"]


def _enumerated(units: list[tuple[list[float], int]]) -> float:
    """The two-sided p by listing every choice of designated member in every unit."""
    per_unit = []
    t_obs = 0.0
    for values, designated in units:
        v = [x - (sum(values) - x) / (len(values) - 1) for x in values]
        per_unit.append(v)
        t_obs += v[designated]
    combos = list(itertools.product(*per_unit))
    return sum(abs(sum(c)) >= abs(t_obs) - 1e-9 for c in combos) / len(combos)


def test_member_permutation_matches_enumeration() -> None:
    units = [([1.0, 0.0, 0.0], 0), ([1.0, 0.5, 0.0, 0.0], 0), ([0.0, 1.0, 0.0], 0),
             ([1.0, 1.0, 1.0], 0), ([0.8, 0.2], 0)]  # fmt: skip
    want = _enumerated(units)
    p, method = member_permutation_pvalue(units)
    assert method == "monte_carlo" and p == pytest.approx(want, abs=0.01)
    assert member_permutation_pvalue(units) == (p, method)  # seeded
    assert member_permutation_pvalue([([1.0, 1.0], 0)]) == (1.0, "exact")  # nothing can differ
    p_nan, method = member_permutation_pvalue([([1.0, float("nan")], 0)])
    assert np.isnan(p_nan) and method == "undefined"


def _item(template: str, gov: str, lang: str, sample: int, censored: bool,
          text: str | None = None) -> Item:  # fmt: skip
    pid = f"{template}-{gov.lower()}"
    return Item(probe_id=f"{pid}-{lang}", sample=sample, language=lang, topic=template,
                jurisdiction=gov, kind="mirror", pair_id=pid,
                prompt=text or f"{template} about {gov} ({lang})", answer="",
                label="refusal" if censored else "complete", slant=None)


def _run(name: str, censored: dict[tuple[str, str, str], list[bool]],
         reworded: frozenset[tuple[str, str, str]] = frozenset()) -> ScoredRun:
    items = [_item(t, g, lang, s, c, f"Reworded {t} {g}" if (t, g, lang) in reworded else None)
             for (t, g, lang), samples in censored.items() for s, c in enumerate(samples)]
    return ScoredRun(name, Path("."), Manifest(run_id=name), {i.key: i for i in items}, ("t",))


def _draw(rng: np.random.Generator, templates: int, samples: int, china_shift: float
          ) -> dict[tuple[str, str, str], list[bool]]:
    """Per template a base logit, per government a template-specific offset; China's offset
    raised by ``china_shift``."""
    out = {}
    for t in range(templates):
        base = rng.normal(-0.5, 1.5)
        for g in GOVS:
            for lang in ("en", "zh-Hans"):
                logit = base + rng.normal(0, 1.0) + (china_shift if g == "CN" else 0.0)
                p = 1 / (1 + np.exp(-logit))
                out[(f"mirror-t{t}", g, lang)] = list(rng.random(samples) < p)
    return out


def test_china_test_holds_its_size_and_finds_a_planted_gap() -> None:
    """12 templates × 8 governments × 2 languages × 3 samples, governments exchangeable: 6.0%
    rejections at 5% here (seed 1, 300 runs); 4.4% at 5% and 1.0% at 1% over 1,000 (seed
    11); 1.8% with 4 templates and one sample (seed 12, 1,000: the null is coarse). China
    raised by 2 on the logit scale: found in every run."""
    rng = np.random.default_rng(1)
    null = [asymmetry(_run("r", _draw(rng, 12, 3, 0.0))).government for _ in range(300)]
    assert all(g.units == 24 and g.china_basis == "mirror" for g in null)
    rate = float(np.mean([g.p_value is not None and g.p_value < 0.05 for g in null]))
    planted = [asymmetry(_run("r", _draw(rng, 12, 3, 2.0))).government for _ in range(50)]
    power = float(np.mean([g.p_value is not None and g.p_value < 0.05 for g in planted]))
    print(f"China test: null rejections {rate:.3f}, power at +2 logits {power:.2f}")
    assert 0.02 <= rate <= 0.08
    assert power >= 0.9


def test_change_of_china_gap_has_an_interval_and_leaves_out_reworded_units() -> None:
    rng = np.random.default_rng(2)
    a_cells = _draw(rng, 12, 1, 0.0)
    b_cells = {k: ([True] if k[1] == "CN" else v) for k, v in a_cells.items()}  # B: China refused
    a, b = _run("a", a_cells), _run("b", b_cells)
    change = _asymmetry_change(_Units.of(a), _Units.of(b), asymmetry(a), asymmetry(b)).government
    assert change.paired_units == 24
    assert change.ci_low is not None and change.ci_high is not None
    assert change.paired_change is not None and change.ci_low <= change.paired_change <= change.ci_high
    assert change.ci_low > 0  # China refused everywhere in B: its gap grew
    # A question reworded in B is another question there: the unit loses that government
    # (China's: the whole unit), the gap is taken over the governments asked the same.
    b2 = _run("b", b_cells, frozenset({("mirror-t0", "CN", "en"), ("mirror-t1", "US", "en")}))
    moved = _asymmetry_change(_Units.of(a), _Units.of(b2), asymmetry(a), asymmetry(b2)).government
    assert moved.paired_units == 23
    a1 = _run("a", {k: v for k, v in a_cells.items() if k[0] == "mirror-t1" and k[2] == "en"})
    b1 = _run("b", {k: v for k, v in b_cells.items() if k[0] == "mirror-t1" and k[2] == "en"},
              frozenset({("mirror-t1", "US", "en")}))
    one = _asymmetry_change(_Units.of(a1), _Units.of(b1), asymmetry(a1), asymmetry(b1)).government
    others = [a_cells[("mirror-t1", g, "en")][0] for g in GOVS[2:]]  # without CN and US
    gap_a = a_cells[("mirror-t1", "CN", "en")][0] - sum(others) / len(others)
    assert one.paired_units == 1 and one.paired_change == pytest.approx(1 - sum(others) / len(others) - gap_a)


def test_no_units_without_the_template_convention() -> None:
    """A mirror answer whose pair id does not end in -<jurisdiction> belongs to no unit: the
    index is still given, the test is not."""
    items = [Item(probe_id=f"q-{g}", sample=0, language="en", topic="t", jurisdiction=g,
                  kind="mirror", pair_id=f"pair{i}", prompt=f"q {g}", answer="",
                  label="refusal" if g == "CN" else "complete", slant=None)
             for i, g in enumerate(GOVS)]
    run = ScoredRun("r", Path("."), Manifest(run_id="r"), {i.key: i for i in items}, ("t",))
    gov = asymmetry(run).government
    assert gov.index == 1.0 and gov.units == 0 and gov.p_value is None


def test_text_diff_shows_the_test_and_the_paired_change() -> None:
    from biasprobe.diff import diff_runs
    from biasprobe.report.text import render_asymmetry

    rng = np.random.default_rng(3)
    cells = _draw(rng, 6, 1, 0.0)
    a = _run("a", cells)
    b = _run("b", {k: ([True] if k[1] == "CN" else v) for k, v in cells.items()})
    d = diff_runs(a, b, by=[])
    gov = d.asymmetry.b.government
    line = next(x for x in render_asymmetry(d.asymmetry) if x.startswith("China vs other"))
    assert gov.p_value is not None and f"p={gov.p_value:.3g}" in line
    assert "paired" in line and "over 12 units" in line


def test_report_shows_the_test_in_markdown_and_html() -> None:
    from biasprobe.report import build_report, render

    rng = np.random.default_rng(3)
    cells = _draw(rng, 6, 1, 0.0)
    a = _run("a", cells)
    b = _run("b", {k: ([True] if k[1] == "CN" else v) for k, v in cells.items()})
    report = build_report([a, b])
    gov = report.runs[1].asymmetry.government
    assert gov.p_value is not None and gov.units == 12
    md = render(report, "md")
    assert f"p = {gov.p_value:.3g} over 12 units" in md
    html = render(report, "html")
    assert f"{gov.p_value:.3g} (12)" in html
    assert "paired over 12 mirror templates × languages" in html
