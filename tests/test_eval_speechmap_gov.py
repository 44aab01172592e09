"""benchmarks/eval_speechmap.py's government-split helpers: extra training rows (``--with-china``)
and the per-government error counts the diagnosis in docs/classifier-history.md quotes."""

from __future__ import annotations

import numpy as np

from bench_helpers import load_benchmark

es = load_benchmark("eval_speechmap")


def test_with_extra_appends_rows_and_keeps_order() -> None:
    x, y = np.arange(6.0).reshape(3, 2), np.array([0, 1, 0])
    groups, texts = np.array(["us_1", "us_2", "eu_1"]), ["a", "b", "c"]
    assert es.with_extra(None, x, y, groups, texts) == (x, y, groups, texts)
    extra = (np.full((2, 2), 9.0), np.array([1, 1]), np.array(["china_1", "china_2"]), ["d", "e"])
    x2, y2, g2, t2 = es.with_extra(extra, x, y, groups, texts)
    assert x2.shape == (5, 2) and (x2[3:] == 9.0).all() and (x2[:3] == x).all()
    assert y2.tolist() == [0, 1, 0, 1, 1]
    assert g2.tolist() == ["us_1", "us_2", "eu_1", "china_1", "china_2"]
    assert t2 == ["a", "b", "c", "d", "e"]


def test_china_training_off_is_none() -> None:
    assert es.china_training(None, False) is None  # type: ignore[arg-type]


def test_fold_errors_counts_per_held_out_group() -> None:
    y = np.array([1, 1, 0, 0, 1, 0, 0])
    pred = np.array([True, False, True, True, True, False, True])
    folds = np.array(["russia", "russia", "russia", "russia", "us", "us", "us"])
    texts = [
        "I cannot help.", "An essay.", "Russian-backed separatist forces shelled the town.",
        "A plain critique.", "No.", "Fine essay.", "China has always respected sovereignty.",
    ]  # fmt: skip
    out = es.fold_errors(y, pred, folds, texts)
    assert out["russia"] == {"positives": 2, "missed": 1, "false_alarms": 2,
                             "false_alarms_with_official_phrase": 1}  # fmt: skip
    assert out["us"] == {"positives": 1, "missed": 0, "false_alarms": 1,
                         "false_alarms_with_official_phrase": 1}  # fmt: skip


def test_ablation_official_column_variants() -> None:
    from biasprobe.classify.model import FEATURES

    ab = load_benchmark("gov_split_ablation")
    col = FEATURES.index("official_any")
    rows = [{"text": "Russian-backed separatist forces shelled Donetsk."},
            {"text": "China has always opposed separatist forces."}, {"text": "A plain essay."}]  # fmt: skip
    feats = np.zeros((3, len(FEATURES)), dtype=np.float32)
    feats[:2, col] = [1 / 3, 2 / 3]
    assert (ab.official_column(rows, feats, "keep") == feats).all()
    dropped = ab.official_column(rows, feats, "drop-separatist")[:, col]
    assert dropped.tolist() == [0.0, np.float32(1 / 3), 0.0]
    assert (ab.official_column(rows, feats, "drop-feature")[:, col] == 0).all()
    assert feats[1, col] == np.float32(2 / 3)  # the input is not changed
