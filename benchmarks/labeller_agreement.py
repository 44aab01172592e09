"""Agreement between two hand labellers of the same answers, and how much of the classifier's
'disagreement' with one of them is label noise.

Why: every hand-check figure in the README compares the classifier with *one* labeller. If two
careful readers following the same guidelines (tests/data/README.md) disagree on a tenth of the
answers, a classifier cannot be expected to agree with either on more than about that much, and
its misses on the answers the readers split on say little. The second labeller labelled
``q05_handcheck2.jsonl``'s 100 answers blind (from a copy without labels, tags or notes) into
``tests/data/handcheck2_relabel.jsonl`` (``id``, ``label``, ``tags``, ``note``).

Usage (from the repository root)::

    PYTHONPATH=src .venv/bin/python benchmarks/labeller_agreement.py \\
        tests/data/q05_handcheck2.jsonl tests/data/handcheck2_relabel.jsonl [--classifier] [--json]

Printed per language (English; Simplified and Traditional Chinese together) and overall: raw
agreement and Cohen's kappa on the label (complete / refusal / deflection / official_line, and
partial_refusal where a file has it) and on complete-vs-not, agreement on the ``loop`` and
``off_topic`` tags, the confusion table (first labeller's label in rows, second's in columns)
and every answer the two split on. Rows of the second file with ``first_label_known: true``
(answers whose first label the second labeller had seen or could read from the guidelines'
examples) are left out of the ``blind`` rows, the honest figures. With ``--classifier`` (real
embedder, about 20 s): the default classifier's agreement with each labeller, on all answers and
on those the two agree on.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biasprobe.classify.evaluate import EvalInputError, cohen_kappa, read_json_rows
from biasprobe.report.text import table
from biasprobe.textutil import preview

LABELS = ("complete", "refusal", "partial_refusal", "deflection", "official_line")
TAGS = ("loop", "off_topic")


def read_pair(first: Path, second: Path) -> list[dict[str, Any]]:
    """One row per answer: the first file's row with ``label2``, ``tags2``, ``note2`` from the
    second; :class:`EvalInputError` when the files do not hold the same ids or a label is not
    one of :data:`LABELS`."""
    rows = [r for _n, r in read_json_rows(first, ("id", "label", "language"))]
    other = {r["id"]: r for _n, r in read_json_rows(second, ("id", "label"))}
    if len(other) != len(rows) or {r["id"] for r in rows} != set(other):
        raise EvalInputError(f"{second}: does not label the same answers as {first}")
    for path, labels in ((first, [r["label"] for r in rows]), (second, [r["label"] for r in other.values()])):
        if bad := sorted(set(labels) - set(LABELS)):
            raise EvalInputError(f"{path}: unknown label {preview(bad[0], 40)}")
    for r in rows:
        o = other[r["id"]]
        r["lang"] = "zh" if r["language"].startswith("zh") else r["language"]
        r["label2"], r["tags2"], r["note2"] = o["label"], o.get("tags", []), o.get("note", "")
        r["known"] = o.get("first_label_known") is True
    return rows


def _groups(rows: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """Row indices per language and ``all``; when any row's first label was known to the second
    labeller (``first_label_known``), the same again over the other rows only (``en blind``…)."""
    langs = [*sorted({r["lang"] for r in rows}), "all"]
    groups = {g: [i for i, r in enumerate(rows) if g in ("all", r["lang"])] for g in langs}
    if any(r["known"] for r in rows):
        for g in langs:
            groups[f"{g} blind"] = [i for i in groups[g] if not rows[i]["known"]]
    return groups


def _pair_stats(a: Sequence[str | bool], b: Sequence[str | bool]) -> dict[str, Any]:
    n = len(a)
    return {
        "agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / n, 3) if n else None,
        "kappa": cohen_kappa([str(x) for x in a], [str(y) for y in b]),
    }


def agreement(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per group (:func:`_groups`): n, label and complete-vs-not agreement and kappa, tag
    agreement, the confusion counts (``first|second``)."""
    out: dict[str, Any] = {}
    for lang, idx in _groups(rows).items():
        part = [rows[i] for i in idx]
        a, b = [r["label"] for r in part], [r["label2"] for r in part]
        res: dict[str, Any] = {"n": len(part), "label": _pair_stats(a, b)}
        res["complete_vs_not"] = _pair_stats([x == "complete" for x in a], [y == "complete" for y in b])
        for tag in TAGS:
            res[tag] = _pair_stats(
                [tag in r.get("tags", []) for r in part], [tag in r["tags2"] for r in part]
            )
        res["confusion"] = dict(Counter(f"{x}|{y}" for x, y in zip(a, b, strict=True)))
        out[lang] = res
    return out


def classifier_agreement(rows: Sequence[dict[str, Any]], best: Sequence[str]) -> dict[str, Any]:
    """The classifier's best-guess label against each labeller, per language: on all answers,
    and on the answers the two labellers agree on (``both``)."""
    out: dict[str, Any] = {}
    for lang, idx in _groups(rows).items():
        same = [i for i in idx if rows[i]["label"] == rows[i]["label2"]]

        def share(ids: Sequence[int], key: str) -> float | None:
            return round(sum(best[i] == rows[i][key] for i in ids) / len(ids), 3) if ids else None

        out[lang] = {
            "first": share(idx, "label"),
            "second": share(idx, "label2"),
            "both_agree_n": len(same),
            "on_agreed": share(same, "label"),
            "misses_of_first_where_second_agrees": sum(
                best[i] != rows[i]["label"] and best[i] == rows[i]["label2"] for i in idx
            ),
            "misses_of_first": sum(best[i] != rows[i]["label"] for i in idx),
        }
    return out


def classify(rows: Sequence[dict[str, Any]]) -> list[str]:
    """The default classifier's best guess per answer, with the request (as eval_handcheck)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import eval_handcheck  # a sibling script, not a package

    return [best for _label, best in eval_handcheck.classify(rows, True)]


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def print_report(rows: Sequence[dict[str, Any]], res: dict[str, Any]) -> None:
    agr = res["labellers"]
    head = ["lang", "n", "label agr", "kappa", "complete-vs-not agr", "kappa", "loop agr", "off_topic agr"]
    body = [
        [lang, str(m["n"]), _fmt(m["label"]["agreement"]), _fmt(m["label"]["kappa"]),
         _fmt(m["complete_vs_not"]["agreement"]), _fmt(m["complete_vs_not"]["kappa"]),
         _fmt(m["loop"]["agreement"]), _fmt(m["off_topic"]["agreement"])]
        for lang, m in agr.items()
    ]  # fmt: skip
    print("\n".join(table(head, body)))
    for lang, m in agr.items():
        used = [x for x in LABELS if any(x in k.split("|") for k in m["confusion"])]
        conf = [[x, *(str(m["confusion"].get(f"{x}|{y}", 0)) for y in used)] for x in used]
        print(f"\nconfusion, {lang} (rows: first labeller, columns: second)")
        print("\n".join(table(["", *used], conf)))
    if "classifier" in res:
        print("\nclassifier (best guess) agreement")
        head = [
            "lang",
            "with first",
            "with second",
            "both agree (n)",
            "on those",
            "first's misses / second agrees",
        ]
        body = [
            [lang, _fmt(m["first"]), _fmt(m["second"]), str(m["both_agree_n"]), _fmt(m["on_agreed"]),
             f"{m['misses_of_first']} / {m['misses_of_first_where_second_agrees']}"]
            for lang, m in res["classifier"].items()
        ]  # fmt: skip
        print("\n".join(table(head, body)))
    print("\nanswers the labellers split on (first / second):")
    for r in rows:
        if r["label"] != r["label2"]:
            print(f"  {preview(r['id'], 60)}: {r['label']} / {r['label2']}")
            print(f"      first: {preview(r.get('note', ''), 150)}")
            print(f"      second: {preview(r['note2'], 150)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("first", type=Path, help="the first labeller's file (full rows)")
    ap.add_argument("second", type=Path, help="the second labeller's file (id, label, tags, note)")
    ap.add_argument("--classifier", action="store_true", help="also the default classifier")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    try:
        rows = read_pair(args.first, args.second)
    except EvalInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res: dict[str, Any] = {"labellers": agreement(rows)}
    if args.classifier:
        res["classifier"] = classifier_agreement(rows, classify(rows))
    if args.json:
        print(json.dumps(res, indent=1, ensure_ascii=False))
    else:
        print_report(rows, res)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
