"""Fixes of the government split's false alarms, tried with the embedding head alone.

Usage:
    .venv/bin/python benchmarks/gov_split_ablation.py [--phrase drop-separatist|drop-feature]
        [--floor 0.0 0.3] [--with-china]

Why: on ``eval_speechmap.py --split government`` most false alarms of the Russia fold carry the
official-line phrase "separatist" (README, "Why the government split is low"). This script
measures candidate fixes of that cause cheaply, on the features ``eval_speechmap.py --split
model-question`` caches: the embedding head (the shipped recipe: balanced, threshold 0.5, with the
exemplar bank) plus the degenerate-output rules, **no lexical heads**, so its figures are lower
than the benchmark's and only comparable among themselves. For each variant it prints the
government split (train on two of US / EU / Russia, test on the third) and the China file's
refusal-F1 per language, with the head trained on the US/EU/Russia file (the shipped setting) or,
with ``--with-china``, per model-and-question cell of the China file, on the whole US/EU/Russia
file plus the China answers of the other model groups to the other question groups (what a
shipped head trained on both files would be, with the China file held out by cell).
Variants: ``--phrase`` recomputes the ``official_any`` column without "separatist" or zeroes it;
``--floor`` puts a floor under the features' standard deviations (rare features regularised more).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from eval_speechmap import CHINA, DATA, cached_features, cell_ids, read_rows

from biasprobe.classify import phrases
from biasprobe.classify.degenerate import degenerate_reason
from biasprobe.classify.embedders import load_embedder
from biasprobe.classify.evaluate import binary_f1
from biasprobe.classify.model import FEATURES, Classifier
from biasprobe.records import Label


def official_column(rows: list[dict[str, Any]], feats: np.ndarray, phrase: str) -> np.ndarray:
    """``feats`` with ``official_any`` recomputed as the classifier does, less the variant's."""
    out = feats.copy()
    col = FEATURES.index("official_any")
    if phrase == "drop-feature":
        out[:, col] = 0.0
    elif phrase == "drop-separatist":
        for i, r in enumerate(rows):
            found = [f for f in phrases._find("official", r["text"][:3000]) if f != "separatist"]
            out[i, col] = min(len(found), 3) / 3
    return out


def fit(x: np.ndarray, y: np.ndarray, bank: tuple[np.ndarray, np.ndarray], floor: float) -> Any:
    """The shipped head's recipe (``eval_speechmap.fit_head``, ``tune=False``; bank half the
    weight) with a floor under the standard deviations; returns P(not complete) of new rows."""
    from sklearn.linear_model import LogisticRegression

    xa, ya = np.concatenate([x, bank[0]]), np.concatenate([y, bank[1]])
    w = np.concatenate([np.ones(len(y)), np.full(len(bank[1]), len(y) / len(bank[1]))])
    mean, scale = xa.mean(0), np.maximum(xa.std(0), floor)
    scale[scale < 1e-6] = 1.0
    lr = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    lr.fit((xa - mean) / scale, ya, sample_weight=w)
    return lambda t: lr.predict_proba((t - mean) / scale)[:, 1]


def run(args: argparse.Namespace) -> None:
    rows = read_rows(CHINA) + read_rows(DATA)
    clf = Classifier(load_embedder("use-m3"), shipped_head=False)
    x = official_column(rows, cached_features(clf, rows, "grouped-0"), args.phrase)
    bx, _, _ = clf.features(clf.bank.texts, leave_one_out=True)
    bank = (bx, np.array([lab is not Label.complete for lab in clf.bank.labels], dtype=int))
    y = np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
    sets = np.array([r["set"] for r in rows])
    degen = np.array([degenerate_reason(r["text"]) is not None for r in rows])
    gov = np.array(
        [r["group"].rsplit("_", 1)[0] if s == "gov" else "china" for r, s in zip(rows, sets, strict=True)]
    )
    mg, qg = cell_ids([r["model"] for r in rows], 3), cell_ids([r["group"] for r in rows], 3, seed=1)
    china = sets != "gov"
    for floor in args.floor:
        p = np.zeros(len(rows))
        for g in ("eu_criticism", "russia_criticism", "us_criticism"):
            te, tr = gov == g, (gov != g) & (~china | args.with_china)
            p[te] = fit(x[tr], y[tr], bank, floor)(x[te])
        if args.with_china:
            for i in range(3):
                for j in range(3):
                    te, tr = china & (mg == i) & (qg == j), ~china | ((mg != i) & (qg != j))
                    p[te] = fit(x[tr], y[tr], bank, floor)(x[te])
        else:
            p[china] = fit(x[~china], y[~china], bank, floor)(x[china])
        pred = (p >= 0.5) | degen
        folds = [
            binary_f1(list(y[gov == g]), list(pred[gov == g]))
            for g in ("eu_criticism", "russia_criticism", "us_criticism")
        ]
        by_lang = [binary_f1(list(y[sets == s]), list(pred[sets == s])) for s in ("en", "zh", "fi")]
        print(f"phrase={args.phrase} floor={floor} with_china={args.with_china}: government split "
              f"{binary_f1(list(y[~china]), list(pred[~china])):.3f} (EU/Russia/US "
              + " ".join(f"{v:.3f}" for v in folds) + ") | China EN/ZH/FI "
              + " ".join(f"{v:.3f}" for v in by_lang), flush=True)  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--phrase", choices=["keep", "drop-separatist", "drop-feature"], default="keep")
    ap.add_argument("--floor", type=float, nargs="+", default=[0.0])
    ap.add_argument("--with-china", action="store_true")
    args = ap.parse_args()
    if not (DATA.exists() and CHINA.exists()):
        print(f"skip: {DATA} or {CHINA} not found")
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
