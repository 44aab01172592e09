"""Evaluation on labelled JSONL: per-class P/R/F1, macro-F1, refusal-F1, confusion, baseline.

Gold labels may be SpeechMap's COMPLETE / EVASIVE / DENIAL, XSTest's full compliance /
partial refusal / full refusal, or biasprobe's own labels. Everything is compared on SpeechMap's
three classes: complete→COMPLETE, deflection/official_line→EVASIVE, refusal→DENIAL. Binary
refusal-F1 counts EVASIVE or DENIAL as positive. Cohen's κ (``kappa``) is the agreement with the
gold labels on the three classes, corrected for chance. For ``uncertain`` predictions the classifier's
best guess is used (their number is reported separately).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from biasprobe.classify import phrases
from biasprobe.classify.text import is_cjk, strip_think
from biasprobe.errors import BiasprobeError
from biasprobe.labels import GOLD_CLASSES, gold_class, registry
from biasprobe.records import Label

if TYPE_CHECKING:
    from biasprobe.goldset import GoldInfo

CLASSES = list(GOLD_CLASSES)

_GOLD = {
    "complete": "COMPLETE", "full_compliance": "COMPLETE", "full compliance": "COMPLETE",
    "1_full_compliance": "COMPLETE", "compliance": "COMPLETE",
    "evasive": "EVASIVE",
    "partial_refusal": "EVASIVE", "partial refusal": "EVASIVE", "3_partial_refusal": "EVASIVE",
    "denial": "DENIAL", "full_refusal": "DENIAL", "full refusal": "DENIAL",
    "2_full_refusal": "DENIAL",
}  # fmt: skip


class LabelledRow(TypedDict):
    """One labelled answer: the answer text (reasoning stripped), its gold class, its prompt,
    language and group (the question it answers)."""

    text: str
    gold: str
    prompt: str
    language: str
    group: str


class ClassMetrics(TypedDict):
    precision: float
    recall: float
    f1: float
    support: int


class LanguageMetrics(TypedDict):
    n: int
    accuracy: float
    macro_f1: float
    refusal_f1: float
    baseline_refusal_f1: float
    per_class: dict[str, ClassMetrics]


class Metrics(LanguageMetrics):
    confusion: dict[str, dict[str, int]]  # gold class -> predicted class -> answers


class _EvalCore(Metrics):
    uncertain: int
    kappa: float | None
    binary_accuracy: float
    by_language: dict[str, LanguageMetrics]


class EvalResult(_EvalCore, total=False):
    """``eval-classifier``'s result (``--json`` prints it); the CLI adds the method used and,
    with ``--from-run``, the gold set's provenance (``gold``, ``kappa_labels``)."""

    ece: float
    reliability: list[dict[str, float]]
    embedder: str
    embedder_sha256: str
    method: str
    kappa_labels: float | None
    gold: GoldInfo


class EvalInputError(BiasprobeError):
    """The labelled file cannot be read or has no usable rows."""


def to_gold(value: Any) -> str | None:
    if value is None:
        return None
    key = str(value).strip().lower()
    info = registry().by_name.get(key)  # biasprobe's own labels read as their gold class
    return info.gold if info is not None and info.gold else _GOLD.get(key)


def to_class(label: Label) -> str:
    return gold_class(label.value)


def json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a JSON-lines file (``.gz`` read
    through gzip): the one reader of the labelled files, so every one fails the same way, with
    :class:`EvalInputError` (``file:line: why``) for a missing or unreadable file, a line that is
    not JSON or one that is not an object."""
    if not path.exists():
        raise EvalInputError(f"{path}: file not found")
    if not path.is_file():  # a folder, FIFO or device would fail late or hang
        raise EvalInputError(f"{path}: not a regular file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except (ValueError, RecursionError):  # bad JSON, too deep, huge integer
                    raise EvalInputError(f"{path}:{lineno}: not JSON") from None
                if not isinstance(obj, dict):
                    raise EvalInputError(f"{path}:{lineno}: not a JSON object")
                yield lineno, obj
    except (OSError, UnicodeDecodeError, EOFError, zlib.error) as exc:
        raise EvalInputError(f"{path}: cannot read ({exc.__class__.__name__})") from None


def read_labelled(
    path: Path,
    *,
    text_field: str = "response",
    label_field: str = "label",
    prompt_field: str | None = None,
    language_field: str | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[LabelledRow]:
    """Rows with keys text, gold, prompt, language, group (question) from JSONL or JSONL.gz.

    A row whose label is not a gold class (a typo, SpeechMap's ERROR rows) is left out and,
    with ``warn``, counted in one warning; a row whose text is not a string is an error."""
    rows: list[LabelledRow] = []
    skipped = Counter[str]()
    for lineno, obj in json_objects(path):
        if text_field not in obj:
            raise EvalInputError(f"{path}:{lineno}: no field {text_field!r}")
        if not isinstance(obj[text_field], str):
            raise EvalInputError(f"{path}:{lineno}: field {text_field!r} is not a string")
        gold = to_gold(obj.get(label_field))
        if gold is None:
            skipped[str(obj.get(label_field))[:40]] += 1
            continue
        text = obj[text_field]
        answer, _reasoning = strip_think(text)
        prompt = str(obj.get(prompt_field, "")) if prompt_field else ""
        lang = obj.get(language_field) if language_field else None
        if not lang:
            lang = "zh" if is_cjk(answer or prompt) else "en"
        group = obj.get("question_id") or prompt or obj.get("question") or str(lineno)
        rows.append(
            {"text": answer, "gold": gold, "prompt": prompt, "language": str(lang),
             "group": str(group)}
        )  # fmt: skip
    if rows and skipped and warn is not None:
        shown = ", ".join(f"{k!r} ({n})" for k, n in skipped.most_common(5))
        warn(f"{path}: left out {skipped.total()} row(s) whose {label_field!r} is not a gold "
             f"label: {shown}{', …' if len(skipped) > 5 else ''}")
    if not rows:
        shown = ", ".join(f"{k!r}" for k in list(skipped)[:5])
        raise EvalInputError(
            f"{path}: no rows with a known label in field {label_field!r}"
            + (f" (saw {shown})" if shown else "")
        )
    return rows


def read_json_rows(path: Path, fields: Sequence[str]) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line of a hand-labelled JSON-lines file
    (the benchmarks' own files: hand checks, slant labels), each object carrying string
    ``fields``; :class:`EvalInputError` (``file:line: why``) for anything else, and for a file
    with no rows."""
    rows: list[tuple[int, dict[str, Any]]] = []
    for n, obj in json_objects(path):
        if any(not isinstance(obj.get(f), str) for f in fields):
            raise EvalInputError(f"{path}:{n}: needs string fields {', '.join(fields)}")
        rows.append((n, obj))
    if not rows:
        raise EvalInputError(f"{path}: no rows")
    return rows


def prf(gold: Sequence[str], pred: Sequence[str], cls: str) -> ClassMetrics:
    tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == cls and p == cls)
    fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != cls and p == cls)
    fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == cls and p != cls)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
            "support": sum(1 for g in gold if g == cls)}  # fmt: skip


def binary_f1(gold_pos: Sequence[bool], pred_pos: Sequence[bool]) -> float:
    g = ["P" if x else "N" for x in gold_pos]
    p = ["P" if x else "N" for x in pred_pos]
    return prf(g, p, "P")["f1"]


def metrics(gold: Sequence[str], pred: Sequence[str], baseline: Sequence[bool]) -> Metrics:
    pairs = list(zip(gold, pred, strict=True))
    confusion: dict[str, dict[str, int]] = {
        g: {p: sum(1 for a, b in pairs if a == g and b == p) for p in CLASSES} for g in CLASSES
    }
    return {**language_metrics(gold, pred, baseline), "confusion": confusion}


def language_metrics(
    gold: Sequence[str], pred: Sequence[str], baseline: Sequence[bool]
) -> LanguageMetrics:
    """:func:`metrics` without the confusion table."""
    per_class: dict[str, ClassMetrics] = {c: prf(gold, pred, c) for c in CLASSES}
    present = [c for c in CLASSES if per_class[c]["support"] > 0]
    macro = sum(per_class[c]["f1"] for c in present) / len(present) if present else 0.0
    gold_pos = [g != "COMPLETE" for g in gold]
    return {
        "n": len(gold),
        "accuracy": (
            round(sum(a == b for a, b in zip(gold, pred, strict=True)) / len(gold), 4) if gold else 0.0
        ),
        "macro_f1": round(macro, 4),
        "refusal_f1": binary_f1(gold_pos, [p != "COMPLETE" for p in pred]),
        "baseline_refusal_f1": binary_f1(gold_pos, list(baseline)),
        "per_class": per_class,
    }


def cohen_kappa(gold: Sequence[str], pred: Sequence[str]) -> float | None:
    """Cohen's κ: agreement beyond chance, (p_o − p_e) / (1 − p_e); None when undefined
    (no rows, or both sides always give the same single class)."""
    n = len(gold)
    if n == 0:
        return None
    observed = sum(g == p for g, p in zip(gold, pred, strict=True)) / n
    g_counts, p_counts = Counter(gold), Counter(pred)
    expected = sum(g_counts[c] * p_counts[c] for c in g_counts) / (n * n)
    if expected >= 1.0:
        return None
    return round((observed - expected) / (1.0 - expected), 4)


def evaluate(
    rows: Sequence[LabelledRow],
    predictions: Sequence[Label],
    best: Sequence[Label],
    confidences: Sequence[float] | None = None,
) -> EvalResult:
    """Metrics overall and per language; ``best`` replaces ``uncertain`` predictions. With
    ``confidences``: expected calibration error and a reliability table of the confidence
    against "the label is right" on the binary task (complete vs not)."""
    gold = [r["gold"] for r in rows]
    pred = [to_class(b) for b in best]
    base = [phrases.substring_baseline(r["text"]) for r in rows]
    by_lang: dict[str, LanguageMetrics] = {}
    for lang in sorted({r["language"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["language"] == lang]
        by_lang[lang] = language_metrics(
            [gold[i] for i in idx], [pred[i] for i in idx], [base[i] for i in idx]
        )
    m = metrics(gold, pred, base)
    out: EvalResult = {
        "n": m["n"], "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
        "refusal_f1": m["refusal_f1"], "baseline_refusal_f1": m["baseline_refusal_f1"],
        "per_class": m["per_class"], "confusion": m["confusion"],
        "uncertain": sum(1 for p in predictions if p is Label.uncertain),
        "kappa": cohen_kappa(gold, pred),
        "binary_accuracy": round(
            sum((g != "COMPLETE") == (p != "COMPLETE") for g, p in zip(gold, pred, strict=True))
            / len(gold), 4
        ),
        "by_language": by_lang,
    }
    if confidences is not None:
        right = [(g != "COMPLETE") == (p != "COMPLETE") for g, p in zip(gold, pred, strict=True)]
        out["ece"] = expected_calibration_error(list(confidences), right)
        out["reliability"] = reliability(list(confidences), right)
    return out


def reliability(
    probs: Sequence[float], outcomes: Sequence[bool], n_bins: int = 10
) -> list[dict[str, float]]:
    """Reliability table: per equal-width bin of predicted probability, the number of answers,
    the mean predicted probability and the observed frequency of the outcome."""
    table: list[dict[str, float]] = []
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        idx = [i for i, p in enumerate(probs) if lo <= p < hi or (b == n_bins - 1 and p == 1.0)]
        if not idx:
            continue
        table.append({
            "bin": round(lo, 2), "n": len(idx),
            "predicted": round(sum(probs[i] for i in idx) / len(idx), 4),
            "observed": round(sum(1 for i in idx if outcomes[i]) / len(idx), 4),
        })  # fmt: skip
    return table


def expected_calibration_error(
    probs: Sequence[float], outcomes: Sequence[bool], n_bins: int = 10
) -> float:
    """ECE: the answer-weighted mean gap between predicted probability and observed frequency
    over equal-width bins (0 = perfectly calibrated)."""
    if not probs:
        return 0.0
    table = reliability(probs, outcomes, n_bins)
    return round(sum(r["n"] * abs(r["predicted"] - r["observed"]) for r in table) / len(probs), 4)
