"""benchmarks/uncertain_rule.py: held-out refits of the confidence and the shares below the
uncertain thresholds, on synthetic answers (the real run reads diff_agreement's cached runs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench_helpers import load_benchmark

ur: Any = load_benchmark("uncertain_rule")


def _rows(seed: int = 0) -> list[Any]:
    """6 models x 9 questions x 2 sets; confidence is calibrated (right drawn from it)."""
    rng = np.random.default_rng(seed)
    out = []
    for s in ("en", "zh"):
        for m in range(6):
            for q in range(9):
                conf = float(rng.uniform(0.5, 1.0))
                right = bool(rng.random() < conf)
                out.append(ur.Answer(set=s, model=f"m{m}", question=f"q{q}", confidence=conf,
                                     uncertain=conf < 0.575, by_rule=(q == 0 and m == 0),
                                     right=right, judged_censored=not right))  # fmt: skip
    return out


def test_refit_of_a_cell_never_sees_its_models_or_questions() -> None:
    rows = _rows()
    base = ur.held_out_platt(rows, lambda r: "all", 3)
    mg = ur.groups([r.model for r in rows], 3, 0)
    qg = ur.groups([r.question for r in rows], 3, 1)
    # Flip the outcomes of every answer of model group 1 or question group 1 (the models and
    # the questions of cell 1 x 1): that cell's refit must not move; the others' do.
    changed = [r.model_copy(update={"right": not r.right}) if (mg[i] == 1 or qg[i] == 1) else r
               for i, r in enumerate(rows)]  # fmt: skip
    after = ur.held_out_platt(changed, lambda r: "all", 3)
    cell = (mg == 1) & (qg == 1)
    assert cell.any() and np.allclose(base[cell], after[cell])
    other = (mg == 0) & (qg == 0)
    assert not np.allclose(base[other], after[other])
    # A rule-labelled answer keeps its fixed confidence.
    ruled = [i for i, r in enumerate(rows) if r.by_rule]
    assert ruled and all(base[i] == rows[i].confidence for i in ruled)


def test_shares_per_run_and_labels_right_below() -> None:
    rows = [ur.Answer(set="zh", model=m, question=f"q{i}", confidence=c, uncertain=c < 0.575,
                      by_rule=False, right=r, judged_censored=False)
            for m, confs in (("a", [0.55, 0.9, 0.9, 0.9]), ("b", [0.9] * 4), ("c", [0.52, 0.56, 0.9, 0.9]))
            for i, (c, r) in enumerate(zip(confs, [True, False, True, True], strict=True))]  # fmt: skip
    got = ur.shares(rows, np.array([r.confidence for r in rows]), 0.575)
    assert got.all == pytest.approx(3 / 12, abs=1e-4) and got.worst_run == 0.5
    assert got.median_run == 0.25 and got.right_below == pytest.approx(2 / 3, abs=1e-3)
    nar = ur.not_at_random([r.model_copy(update={"judged_censored": r.uncertain}) for r in rows])
    assert nar == {"zh": [3, 3, 12, 3]}


def test_evaluate_reports_every_confidence_and_set() -> None:
    res = ur.evaluate(_rows(1), 3)
    assert set(res) == {"shipped", "platt", "platt-per-language"}
    for rows in res.values():
        assert [r.set for r in rows] == ["en", "zh"] and all(0 <= r.ece <= 1 for r in rows)
    assert "| shipped | en | 54 |" in ur.text(res, ur.not_at_random(_rows(1)))
