"""Agreement of biasprobe's labels with hand labels of real answers (the hand checks in
tests/data/), per language.

Usage (from the repository root):

    PYTHONPATH=src .venv/bin/python benchmarks/eval_handcheck.py tests/data/q05_handcheck.jsonl
    PYTHONPATH=src .venv/bin/python benchmarks/eval_handcheck.py tests/data/q05_handcheck.jsonl \
        --stored /path/to/run      # also the labels the run's scores.jsonl holds (keyed by id)
    PYTHONPATH=src .venv/bin/python benchmarks/eval_handcheck.py tests/data/partial_refusals.jsonl

The file's rows carry ``id`` (probe id), ``prompt``, ``response``, ``label`` (the hand label:
complete / refusal / deflection / official_line, or partial_refusal, which counts as a refusal
on the binary task), ``language`` and ``kind`` (the probe kind) and ``tags`` (``loop``,
``off_topic`` where the reader saw a repetition loop or an invented, off-topic answer).

Printed per language: exact agreement of the four labels (a partial refusal agrees with
refusal or deflection; an ``uncertain`` label is counted with its best guess and reported),
agreement on complete-vs-not, refusal-F1 (partial counts as refusal) beside the substring
baseline; then the neutral controls labelled official_line, the loops and off-topic answers
labelled complete, and every disagreement. The classifier sees the prompts (prompt-aware
checks on) unless ``--no-prompt``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biasprobe.classify.evaluate import EvalInputError, binary_f1, read_json_rows
from biasprobe.classify.phrases import substring_baseline

PARTIAL = "partial_refusal"


FIELDS = ("id", "prompt", "response", "label", "language")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The hand-labelled rows; :class:`EvalInputError` (one ``error:`` line, exit 2) for a file
    that cannot be read or a row without the string fields :data:`FIELDS`."""
    rows = [r for _n, r in read_json_rows(path, FIELDS)]
    for r in rows:
        r["lang"] = "zh" if r["language"].startswith("zh") else r["language"]
    return rows


def agrees(hand: str, label: str) -> bool:
    if hand == PARTIAL:
        return label in ("refusal", "deflection")
    return hand == label


def classify(rows: Sequence[dict[str, Any]], use_prompt: bool) -> list[tuple[str, str]]:
    """(label, best guess) per row from the default classifier."""
    from biasprobe.classify import Classifier, load_embedder

    clf = Classifier(load_embedder(None))
    refs = _reference_check(clf) if use_prompt else None
    out: list[tuple[str, str]] = []
    for start in range(0, len(rows), 64):
        part = rows[start : start + 64]
        texts = [r["response"] for r in part]
        # Without prompts, the plain call (also runs classifiers before 0.3.1, for comparison).
        extra = {"topics": [r.get("topic") for r in part], "references": refs} if refs else {}
        got = clf.predict(texts, prompts=[r["prompt"] for r in part], **extra) \
            if use_prompt else clf.predict(texts)  # fmt: skip
        for p in got:
            out.append((p.label.value, p.best.value))
    return out


def _reference_check(clf: Any) -> Any:
    """The check against the topics' reference statements (classifier 0.5.0 candidate), or None
    on a checkout without it (so the script still measures older classifiers)."""
    try:
        from biasprobe.classify.reference_check import ReferenceCheck
    except ImportError:
        return None
    from biasprobe.classify.slant import load_references

    return ReferenceCheck.embed(clf.embedder, load_references())


def stored_labels(run: Path, rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """(label, best guess) per row from the run's scores.jsonl (read through the store)."""
    from biasprobe.store import read_scores

    by_id = {key[0]: s for key, s in read_scores(run).items()}
    out = []
    for r in rows:
        s = by_id[r["id"]]
        guess = next((f.split(":", 1)[1] for f in s.flags if f.startswith("best_guess:")), None)
        out.append((s.label.value, guess or s.label.value))
    return out


def report(rows: Sequence[dict[str, Any]], got: Sequence[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for lang in [*sorted({r["lang"] for r in rows}), "all"]:
        idx = [i for i, r in enumerate(rows) if lang in ("all", r["lang"])]
        hand = [rows[i]["label"] for i in idx]
        best = [got[i][1] for i in idx]
        gold_pos = [h != "complete" for h in hand]
        out[lang] = {
            "n": len(idx),
            "agreement": round(sum(agrees(h, b) for h, b in zip(hand, best, strict=True)) / len(idx), 3),
            "binary_agreement": round(
                sum(g == (b != "complete") for g, b in zip(gold_pos, best, strict=True)) / len(idx), 3
            ),
            "refusal_f1": binary_f1(gold_pos, [b != "complete" for b in best]),
            "baseline_refusal_f1": binary_f1(
                gold_pos, [substring_baseline(rows[i]["response"]) for i in idx]
            ),
            "uncertain": sum(got[i][0] == "uncertain" for i in idx),
        }
    neutral = [i for i, r in enumerate(rows) if r.get("kind") == "neutral"]
    out["neutral_official_line"] = {
        "classifier": sum(got[i][1] == "official_line" for i in neutral),
        "hand": sum(rows[i]["label"] == "official_line" for i in neutral),
        "both": sum(got[i][1] == rows[i]["label"] == "official_line" for i in neutral),
        "neutral": len(neutral),
    }
    for tag in ("loop", "off_topic"):
        tagged = [i for i, r in enumerate(rows) if tag in r.get("tags", [])]
        out[f"{tag}_labelled_complete"] = [rows[i]["id"] for i in tagged if got[i][1] == "complete"]
        out[f"{tag}_answers"] = len(tagged)
    out["disagreements"] = [
        {"id": rows[i]["id"], "hand": rows[i]["label"], "label": got[i][0], "best": got[i][1]}
        for i in range(len(rows))
        if not agrees(rows[i]["label"], got[i][1])
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("--stored", type=Path, default=None, help="also a run's stored labels")
    ap.add_argument("--no-prompt", action="store_true", help="classify without the prompts")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        rows = read_rows(args.file)
    except EvalInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = {"classifier (this checkout)": report(rows, classify(rows, not args.no_prompt))}
    if args.stored:
        results[f"stored in {args.stored.name}"] = report(rows, stored_labels(args.stored, rows))
    if args.json:
        print(json.dumps(results, indent=1, ensure_ascii=False))
        return 0
    for name, res in results.items():
        print(f"== {name}: {args.file.name}")
        for lang in [k for k in res if isinstance(res[k], dict) and "n" in res[k]]:
            m = res[lang]
            print(f"  {lang:4s} n={m['n']:<4d} agreement {m['agreement']:.3f}  complete-vs-not "
                  f"{m['binary_agreement']:.3f}  refusal-F1 {m['refusal_f1']:.3f} (substring "
                  f"{m['baseline_refusal_f1']:.3f})  uncertain {m['uncertain']}")  # fmt: skip
        print(f"  neutral controls labelled official_line: {res['neutral_official_line']}")
        for tag in ("loop", "off_topic"):
            print(f"  {tag} answers ({res[f'{tag}_answers']}) labelled complete: "
                  f"{res[f'{tag}_labelled_complete']}")  # fmt: skip
        for d in res["disagreements"]:
            print(f"    {d['id']}: hand {d['hand']}, classifier {d['label']} ({d['best']})")
    print(f"{platform.processor() or platform.machine()} cpus={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.1f}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
