"""Agreement of biasprobe's slant score with hand-labelled slant (tests/data/slant_labelled.jsonl).

Why: slant is a number in [-1, 1] (official PRC account .. independent account) computed from
cosines to reference statements; without hand labels nobody knows whether it means anything.

Usage (from the repository root):

    PYTHONPATH=src .venv/bin/python benchmarks/eval_slant.py tests/data/slant_labelled.jsonl
    PYTHONPATH=src .venv/bin/python benchmarks/eval_slant.py tests/data/slant_labelled.jsonl --json
    PYTHONPATH=src .venv/bin/python benchmarks/eval_slant.py tests/data/slant_labelled*.jsonl

Each row carries ``id``, ``topic``, ``language``, ``prompt``, ``response`` and the hand label
``slant_label`` (official / neutral / independent / off_topic). The slant is computed the way
``biasprobe score`` computes it: the default embedder, the built-in reference statements, the
answer's topic and language, and no slant where the classifier's verdict means no position
(``slant.verdict_null``: a refusal, an empty answer, a deflection flagged off-topic, degenerate
or thin); ``--no-gate`` scores every answer with the slant scorer alone. A reasoning trace
written inline in ``response`` (``◁think▷…◁/think▷``, ``<think>…</think>``) is split off first,
as ``biasprobe import`` and ``run`` split it (:func:`biasprobe.reasoning.strip_think`): ``score``
classifies and scores the answer, never the trace (before 2026-12-04 this benchmark scored
the trace with the answer, six SpeechMap answers of ``kimi-vl-a3b-thinking``).

Printed, for all rows and for the two halves of a fixed split by id (``tune``: the half any
threshold may be chosen on; ``test``: the held-out half, the honest figure), overall and per
language: coverage (share of non-null slant per hand label), Spearman between the slant and
the hand label (official = +1, neutral = 0, independent = -1) on the non-null on-topic answers
with a bootstrap 95% interval (2,000 resamples, seed 0), how many off_topic answers got a null
slant and how many on-topic answers did, and the mean slant per hand label.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from biasprobe.classify.evaluate import EvalInputError, read_json_rows

if TYPE_CHECKING:
    from biasprobe.classify.embedders import Embedder

LABEL_VALUE = {"official": 1.0, "neutral": 0.0, "independent": -1.0}
OFF_TOPIC = "off_topic"
LABELS = (*LABEL_VALUE, OFF_TOPIC)
FIELDS = ("id", "topic", "language", "prompt", "response", "slant_label")
BOOT_REPS = 2000


class BadInput(EvalInputError):
    """A labelled file that cannot be evaluated (one ``error:`` line, exit 2)."""


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, r in read_json_rows(path, FIELDS):
        if r["slant_label"] not in LABELS:
            raise BadInput(f"{path}:{n}: slant_label must be one of {', '.join(LABELS)}")
        rows.append(r)
    return rows


def split_of(row_id: str) -> str:
    """The fixed half of a row: ``tune`` (thresholds may be chosen on it) or ``test``."""
    return "tune" if hashlib.sha256(row_id.encode()).digest()[0] % 2 == 0 else "test"


def lang_of(row: dict[str, Any]) -> str:
    return "zh" if row["language"].startswith("zh") else row["language"].split("-")[0]


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho (average ranks for ties); None with fewer than 3 points or a constant side."""
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return float(spearmanr(x, y).statistic)


def bootstrap_ci(
    x: Sequence[float], y: Sequence[float], reps: int = BOOT_REPS, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile 95% interval of Spearman's rho over resampled (x, y) pairs."""
    if spearman(x, y) is None:
        return None
    rng = np.random.default_rng(seed)
    xa, ya = np.asarray(x, float), np.asarray(y, float)
    got = []
    for _ in range(reps):
        idx = rng.integers(0, len(xa), len(xa))
        r = spearman(list(xa[idx]), list(ya[idx]))
        if r is not None:
            got.append(r)
    lo, hi = np.percentile(got, [2.5, 97.5])
    return float(lo), float(hi)


def answer_of(row: dict[str, Any]) -> str:
    """The answer ``score`` would see: ``response`` without an inline reasoning trace (split as
    ``biasprobe import`` splits it)."""
    from biasprobe.reasoning import strip_think

    return strip_think(str(row["response"]))[0]


def compute_slants(
    rows: Sequence[dict[str, Any]], embedder: Embedder, *, gate: bool = True
) -> list[tuple[float | None, str | None]]:
    """(slant, method) per row, as ``score`` computes it (refusals get none when ``gate``)."""
    from biasprobe.classify import Classifier
    from biasprobe.classify.slant import SlantScorer, load_references, verdict_null

    scorer = SlantScorer(embedder, load_references())
    answers = [answer_of(r) for r in rows]
    why: list[str | None] = [None] * len(rows)
    if gate:
        from biasprobe.classify.reference_check import ReferenceCheck

        # as score does: the topics' reference statements, embedded once by the slant scorer
        check = ReferenceCheck(scorer.refs, scorer.reference_embeddings) if scorer.refs else None
        preds = Classifier(embedder).predict(
            answers, prompts=[r["prompt"] for r in rows],
            topics=[r["topic"] for r in rows], references=check,
        )  # fmt: skip
        why = [verdict_null(p.best, p.flags) for p in preds]
    idx = [i for i, w in enumerate(why) if w is None]
    got = scorer.score(
        [answers[i] for i in idx],
        [rows[i]["topic"] for i in idx],
        [rows[i]["language"] for i in idx],
    )
    out: list[tuple[float | None, str | None]] = [(None, w) for w in why]
    for i, s in zip(idx, got, strict=True):
        out[i] = s
    return out


def summarise(rows: Sequence[dict[str, Any]], slants: Sequence[float | None]) -> dict[str, Any]:
    """Coverage, Spearman with its interval, and null counts for one subset of rows."""
    labels = [r["slant_label"] for r in rows]
    coverage = {}
    for lab in LABELS:
        mine = [s for s, la in zip(slants, labels, strict=True) if la == lab]
        coverage[lab] = {"n": len(mine), "non_null": sum(s is not None for s in mine)}
    pairs = [
        (s, LABEL_VALUE[la]) for s, la in zip(slants, labels, strict=True)
        if s is not None and la in LABEL_VALUE
    ]  # fmt: skip
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    rho = spearman(xs, ys)
    on_topic = [s for s, la in zip(slants, labels, strict=True) if la in LABEL_VALUE]
    means = {
        lab: round(float(np.mean(got)), 3) if got else None
        for lab in LABEL_VALUE
        for got in [[s for s, la in zip(slants, labels, strict=True) if la == lab and s is not None]]
    }
    return {
        "n": len(rows),
        "coverage": coverage,
        "spearman": None if rho is None else round(rho, 3),
        "spearman_ci95": None if rho is None else [round(v, 3) for v in bootstrap_ci(xs, ys) or ()],
        "spearman_n": len(pairs),
        "off_topic_null": coverage[OFF_TOPIC]["n"] - coverage[OFF_TOPIC]["non_null"],
        "off_topic_n": coverage[OFF_TOPIC]["n"],
        "on_topic_null": sum(s is None for s in on_topic),
        "on_topic_n": len(on_topic),
        "mean_slant": means,
    }


def evaluate(rows: Sequence[dict[str, Any]], slants: Sequence[float | None]) -> dict[str, Any]:
    """``summarise`` for every (split, language) cell: split all/tune/test x language all/en/zh."""
    out: dict[str, Any] = {}
    for split in ("all", "tune", "test"):
        for lang in ("all", "en", "zh"):
            keep = [
                i for i, r in enumerate(rows)
                if split in ("all", split_of(r["id"])) and lang in ("all", lang_of(r))
            ]  # fmt: skip
            out[f"{split}/{lang}"] = summarise([rows[i] for i in keep], [slants[i] for i in keep])
    return out


def render(result: dict[str, Any]) -> str:
    lines = [
        "cell       n   spearman [95% CI]        (n)   off_topic null   on-topic null   "
        "coverage official/neutral/independent/off_topic   mean slant off/neu/ind",
    ]
    for cell, s in result.items():
        ci = s["spearman_ci95"]
        rho = "   n/a" if s["spearman"] is None else f"{s['spearman']:+.3f}"
        ci_s = f"[{ci[0]:+.2f}, {ci[1]:+.2f}]" if ci else " " * 14
        mean = " ".join("n/a" if v is None else f"{v:+.2f}" for v in s["mean_slant"].values())
        cov = " ".join(
            f"{c['non_null']}/{c['n']}" for c in (s["coverage"][lab] for lab in LABELS)
        )
        lines.append(
            f"{cell:<9} {s['n']:>3}   {rho} {ci_s}  ({s['spearman_n']:>3})   "
            f"{s['off_topic_null']:>3}/{s['off_topic_n']:<3}        "
            f"{s['on_topic_null']:>3}/{s['on_topic_n']:<3}       {cov:<22} {mean}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", type=Path, nargs="+",
                    help="labelled JSON lines (tests/data/slant_labelled*.jsonl)")  # fmt: skip
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--no-gate", action="store_true",
                    help="ignore the classifier's verdict (the slant scorer alone)")  # fmt: skip
    args = ap.parse_args(argv)
    try:
        rows = [r for path in args.file for r in read_rows(path)]
        if len({r["id"] for r in rows}) != len(rows):
            raise BadInput("the same id occurs twice")
    except EvalInputError as exc:  # BadInput too
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from biasprobe.classify import load_embedder

    emb = load_embedder(None)
    got = compute_slants(rows, emb, gate=not args.no_gate)
    result = evaluate(rows, [s for s, _m in got])
    if args.json:
        print(json.dumps({"embedder": emb.name, "gate": not args.no_gate, "cells": result}))
    else:
        print(f"embedder {emb.name}; classifier gate {'off' if args.no_gate else 'on'}; "
              "tune = half for choosing thresholds, test = held-out half (honest)")  # fmt: skip
        print(render(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
