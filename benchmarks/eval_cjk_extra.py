"""Leave-one-set-out check of extra Chinese training data for the Chinese lexical head (issue 16).

Why: ``eval_speechmap.py --cjk-cv --cjk-extra ...`` measures whether the project's hand-labelled
Chinese answers, added to the Chinese lexical head's training, help on SpeechMap's held-out
cells; this script measures the other side: for each hand-check set, the shipped-style head
(every SpeechMap non-English answer, as ``--write-lexical-cjk``) is trained with the extra rows
of the **other** sets (any answer whose text is in the left-out set removed, since the q05 sets
overlap) and the default classifier, with that head in place of the shipped one, labels the
left-out set's Chinese answers. Printed per set: complete-vs-not agreement and refusal-F1 of
the head trained on SpeechMap alone (``base``) and with the extra rows (``extra``), and how
many labels differ. The blind sets of this round are refused.

Usage (from the repository root; SpeechMap features come from eval_speechmap's /tmp cache):

    PYTHONPATH=src .venv/bin/python benchmarks/eval_cjk_extra.py --weight 0.5 \\
        tests/data/q05_labelled_all.jsonl tests/data/q05_handcheck2.jsonl ... [--also exemplars]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from biasprobe.classify.evaluate import EvalInputError, binary_f1, read_json_rows
from biasprobe.classify.lexical_cjk import CjkLexicalHead

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_speechmap as es


def memoised_features(clf: Any) -> None:
    """Embed each batch once: the classifier is run twice on the same answers (two heads)."""
    plain, memo = clf.features, {}

    def features(texts: Any, **kw: Any) -> Any:
        key = (tuple(texts), tuple(sorted((k, str(v)) for k, v in kw.items())))
        if key not in memo:
            memo[key] = plain(texts, **kw)
        feats, head_emb, heads = memo[key]
        return feats.copy(), head_emb, heads

    clf.features = features


def labels(clf: Any, head: CjkLexicalHead, rows: list[dict[str, Any]]) -> list[bool]:
    """Not-complete (best guess) per row from the default classifier with ``head`` as its
    Chinese lexical head, prompts on (as eval_handcheck)."""
    clf.lexical_cjk = head
    preds = clf.predict([r["response"] for r in rows], prompts=[r["prompt"] for r in rows],
                        topics=[r.get("topic") for r in rows])  # fmt: skip
    return [p.best.value != "complete" for p in preds]


def zh_rows(path: str) -> list[dict[str, Any]]:
    """The Chinese rows of a hand-check file (:func:`read_json_rows`: :class:`EvalInputError`
    for a file it cannot use)."""
    rows = read_json_rows(Path(path), ("id", "prompt", "response", "language", "label"))
    return [r for _, r in rows if r["language"].startswith("zh")]


def without(extra: es.Extra, drop: set[str]) -> es.Extra:
    """``extra`` less the rows whose text is in ``drop``."""
    keep = np.array([t not in drop for t in extra[3]], dtype=bool)
    kept = [t for t, k in zip(extra[3], keep, strict=True) if k]
    return extra[0][keep], extra[1][keep], extra[2][keep], kept


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+", help="hand-check JSONL files (each left out in turn)")
    ap.add_argument("--also", nargs="*", default=[], help="extra training only (e.g. exemplars)")
    ap.add_argument("--weight", type=float, default=1.0, help="sample weight of the extra rows")
    args = ap.parse_args()
    try:
        return leave_one_set_out(args)
    except EvalInputError as exc:  # a blind set, an unreadable file, nothing to train on
        print(f"error: {exc}", file=sys.stderr)
        return 2


def leave_one_set_out(args: argparse.Namespace) -> int:
    """The per-set lines and the total (module docstring)."""
    if any(b in f for f in args.files + args.also for b in es.BLIND):
        raise EvalInputError("a blind test set of this round was named")
    if len(args.files) < 2 and not args.also:
        raise EvalInputError("leave-one-set-out needs two files or more, or --also")
    from biasprobe.classify import Classifier, load_embedder

    emb = load_embedder("use-m3")
    plain = Classifier(emb, shipped_head=False)
    rows = es.read_rows(es.CHINA) + es.read_rows(es.DATA)
    feats = es.cached_features(plain, rows, "grouped-0")
    texts, y = [r["text"] for r in rows], np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
    base = es.fit_lexical_cjk(texts, feats, y)
    clf = Classifier(emb)
    memoised_features(clf)
    totals = np.zeros(3, dtype=int)
    for left in args.files:
        test = zh_rows(left)
        if not test:
            continue
        others = [f for f in args.files if f != left] + args.also
        extra = es.cjk_extra_rows(plain, others)  # refuses the blind sets
        if extra is None:
            raise EvalInputError(f"no Chinese rows to train on besides {left}")
        extra = without(extra, {r["response"] for r in test})
        head = es.fit_with_extra(texts, feats, y, (extra, args.weight))
        gold = [r["label"] != "complete" for r in test]
        got = {"base": labels(clf, base, test), "extra": labels(clf, head, test)}
        agree = {k: sum(g == p for g, p in zip(gold, v, strict=True)) for k, v in got.items()}
        changed = [test[i]["id"] for i in range(len(test)) if got["base"][i] != got["extra"][i]]
        totals += [len(test), agree["base"], agree["extra"]]
        f1 = {k: binary_f1(gold, v) for k, v in got.items()}
        print(f"{Path(left).name:28s} zh n={len(test):<4d} extra rows {len(extra[1]):<4d} "
              f"complete-vs-not base {agree['base'] / len(test):.3f} extra {agree['extra'] / len(test):.3f}  "
              f"refusal-F1 base {f1['base']:.3f} extra {f1['extra']:.3f}  "
              f"changed {len(changed)}: {' '.join(changed)}")  # fmt: skip
    print(f"all (rows of overlapping sets counted per set): n={totals[0]} base {totals[1] / totals[0]:.3f} "
          f"extra {totals[2] / totals[0]:.3f}; weight {args.weight:g}; also {args.also}; "
          f"load={os.getloadavg()[0]:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
