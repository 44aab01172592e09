"""Do cheap garble signals separate the Finnish answers judges call evasive from complete ones?
(issue 16, Finnish refusal-F1 0.716 against a floor of 0.80; a negative result so far.)

Why: most Finnish answers of the SpeechMap China file that the shipped path labels complete but
the judges call EVASIVE are half-garbled essays (invented words such as "vastuustodistua",
"sisäaurança", switches into Chinese or English midway) of ``qwen-2.5-7b-instruct`` and two
other models. ``use-m3`` does not cover Finnish, so the heads read them as fluent essays. This
script measures, on the cells of ``eval_speechmap.py --split model-question`` (models and
questions split into 3 groups each; cell (i, j) is predicted from the rows of the other model
groups **and** the other question groups), whether a rule "garble signal above a threshold ->
not complete", added on top of the shipped path with the Chinese head retrained per cell (the
``cjk_cv`` column), helps held-out refusal-F1.

Signals (all O(length)):

- fixed (no fitting): ``nonlatin`` (share of letters outside Latin script), ``mixed_words``
  (share of words mixing Latin and other scripts), ``glued_case`` (a lower-case letter glued to
  an upper-case one inside a word, "naapurPink"), ``long_words`` (share of words of 20+
  letters: run-on compounds), ``english`` (:func:`lexical.english_share`, code-switching),
  ``foreign_letters`` (share of words with b c f g q w x z, letters foreign to Finnish),
  ``harmony`` (share of words of 4+ letters with both back vowels a o u and front ä ö y: vowel
  harmony breaks, which compounds also make), ``words`` (length);
- fitted per cell on the training cells only: ``unseen_words`` (share of the answer's words of
  4+ letters found in no training-cell answer) and ``surprisal`` (mean negative log-probability
  of the answer's character trigrams under a trigram model of the training cells' Finnish
  answers judged COMPLETE, add-0.1 smoothing).

Each rule's threshold is chosen per cell on the training cells' Finnish rows (the value that
maximises their refusal-F1 with the rule added; none if no value helps) and applied to the
held-out cell's answers that read as Finnish (:func:`coverage.uncovered_language`), so the
English, Chinese and US/EU/Russia columns show what the rule would cost there. ``combined``: a
balanced logistic regression on every signal plus the path's log-odds, fitted and thresholded
the same way. Held-out figures are per cell and pooled; the pooled ``optimistic`` figure uses
one threshold fitted on every Finnish row (not held out).

Usage (from the repository root; features are cached under /tmp like eval_speechmap's):

    PYTHONPATH=src .venv/bin/python benchmarks/eval_finnish.py [--scope answer|request] [--json]
        [--show-misses]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))

import eval_speechmap as es

from biasprobe.classify.coverage import uncovered_language
from biasprobe.classify.evaluate import binary_f1
from biasprobe.classify.lexical import english_share

MAX_CHARS = 4000  # of each answer, for every signal
_WORD = re.compile(r"[^\W\d_]+")
_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_NOT_LATIN = re.compile(r"[^\x00-\u024f]")
_GLUED = re.compile(r"[a-zäöå][A-Z]")
_FOREIGN = re.compile(r"[bcfgqwxz]")
_BACK = re.compile(r"[aou]")
_FRONT = re.compile(r"[äöy]")
FIXED = ("nonlatin", "mixed_words", "glued_case", "long_words", "english", "foreign_letters",
         "harmony", "words")  # fmt: skip
FITTED = ("unseen_words", "surprisal")
Rows = list[dict[str, Any]]


def fixed_signals(text: str) -> dict[str, float]:
    """The signals that need no fitting, on the first :data:`MAX_CHARS` characters."""
    t = text[:MAX_CHARS]
    words = _WORD.findall(t)
    n = max(1, len(words))
    letters = _LETTER.findall(t)
    latin = sum(1 for c in letters if _LATIN.match(c))
    low = [w.lower() for w in words]
    return {
        "nonlatin": 1.0 - latin / len(letters) if letters else 0.0,
        "mixed_words": sum(1 for w in words if _LATIN.search(w) and _NOT_LATIN.search(w)) / n,
        "glued_case": sum(1 for w in words if _GLUED.search(w)) / n,
        "long_words": sum(1 for w in words if len(w) >= 20) / n,
        "english": english_share(t),
        "foreign_letters": sum(1 for w in low if _FOREIGN.search(w)) / n,
        "harmony": sum(1 for w in low if len(w) >= 4 and _BACK.search(w) and _FRONT.search(w)) / n,
        "words": float(len(words)),
    }


class Trigrams:
    """A character trigram model (add-``alpha`` smoothing) of some texts, lower-cased."""

    def __init__(self, texts: list[str], alpha: float = 0.1) -> None:
        self.tri: Counter[str] = Counter()
        self.bi: Counter[str] = Counter()
        for text in texts:
            s = f" {text[:MAX_CHARS].lower()} "
            self.tri.update(s[k : k + 3] for k in range(len(s) - 2))
            self.bi.update(s[k : k + 2] for k in range(len(s) - 1))
        self.alpha = alpha
        self.alphabet = len(set("".join(self.bi))) + 1

    def surprisal(self, text: str) -> float:
        """Mean negative log-probability of the text's trigrams (nats), 0.0 for no trigram."""
        s = f" {text[:MAX_CHARS].lower()} "
        lp = [-math.log((self.tri[s[k : k + 3]] + self.alpha)
                        / (self.bi[s[k : k + 2]] + self.alpha * self.alphabet))
              for k in range(len(s) - 2)]  # fmt: skip
        return sum(lp) / len(lp) if lp else 0.0


def unseen_share(words: list[str], vocab: set[str]) -> float:
    """Share of the words of 4+ letters not in ``vocab``."""
    long = [w for w in words if len(w) >= 4]
    return sum(w not in vocab for w in long) / len(long) if long else 0.0


def fitted_signals(rows: Rows, y: np.ndarray, cells: tuple[np.ndarray, np.ndarray], k: int
                   ) -> dict[str, np.ndarray]:  # fmt: skip
    """``unseen_words`` and ``surprisal`` of every row, fitted on its cell's training rows."""
    mg, qg = cells
    words = [_WORD.findall(r["text"][:MAX_CHARS].lower()) for r in rows]
    out = {name: np.zeros(len(rows)) for name in FITTED}
    for i in range(k):
        for j in range(k):
            te = np.flatnonzero((mg == i) & (qg == j))
            tr = np.flatnonzero((mg != i) & (qg != j))
            vocab = {w for t in tr for w in words[t]}
            model = Trigrams([rows[t]["text"] for t in tr if rows[t]["set"] == "fi" and not y[t]])
            for t in te:
                out["unseen_words"][t] = unseen_share(words[t], vocab)
                out["surprisal"][t] = model.surprisal(rows[t]["text"])
    return out


def best_cut(v: np.ndarray, y: np.ndarray, base: np.ndarray) -> float:
    """The threshold on ``v`` (``v > t`` flags) that maximises refusal-F1 of ``base | flag``;
    ``inf`` when no threshold beats ``base`` alone."""
    best, cut = binary_f1(list(y), list(base)), math.inf
    for t in np.unique(np.quantile(v, np.linspace(0.5, 1.0, 51))):
        f = binary_f1(list(y), list(base | (v > t)))
        if f > best + 1e-9:
            best, cut = f, float(t)
    return cut


def rule_cv(score: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
            y: np.ndarray, base: np.ndarray, fi_train: np.ndarray, applies: np.ndarray,
            cells: tuple[np.ndarray, np.ndarray], k: int) -> tuple[np.ndarray, list[float]]:  # fmt: skip
    """Held-out predictions of ``base | rule`` per cell. ``score(train, test)`` returns the
    signal on the training and on the test rows (masks); the cut is fitted on the training
    cells' Finnish rows (``fi_train``) and applied to the test cell's ``applies`` rows."""
    mg, qg = cells
    pred = base.copy()
    cuts = []
    for i in range(k):
        for j in range(k):
            te, tr = (mg == i) & (qg == j), (mg != i) & (qg != j) & fi_train
            s_tr, s_te = score(tr, te)
            cut = best_cut(s_tr, y[tr], base[tr])
            cuts.append(cut)
            pred[te] = base[te] | ((s_te > cut) & applies[te])
    return pred, cuts


def signal_score(v: np.ndarray) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A signal as it is, on the training and on the test rows."""
    return lambda tr, te: (v[tr], v[te])


def logistic_score(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray, np.ndarray],
                                                             tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """``combined``: a balanced logistic regression fitted on the training rows."""
    from sklearn.linear_model import LogisticRegression

    def score(tr: np.ndarray, te: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(x[tr], y[tr])
        return m.predict_proba(x[tr])[:, 1], m.predict_proba(x[te])[:, 1]

    return score


def base_path(rows: Rows) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """P(not complete) of the ``cjk_cv`` column of ``eval_speechmap.py --split model-question
    --no-cv --cjk-cv`` for every row, and the model and question groups (k = 3)."""
    from biasprobe.classify.degenerate import degenerate_reason
    from biasprobe.classify.embedders import load_embedder
    from biasprobe.classify.model import Classifier

    emb = load_embedder("use-m3")
    clf = Classifier(emb, shipped_head=False)
    feats = es.cached_features(clf, rows, "grouped-0")
    cells = (es.cell_ids([r["model"] for r in rows], 3),
             es.cell_ids([r["group"] for r in rows], 3, seed=1))  # fmt: skip
    degen = np.array([degenerate_reason(r["text"]) is not None for r in rows])
    off, _ = es.off_topic_mask(emb, rows)
    return es.cjk_per_cell(rows, feats, cells, 3, Classifier(emb), (degen, off)), cells


def f1_by_set(y: np.ndarray, pred: np.ndarray, sets: np.ndarray) -> dict[str, float]:
    return {s: round(binary_f1(list(y[sets == s]), list(pred[sets == s])), 3) for s in es.SETS}


def cell_f1(y: np.ndarray, pred: np.ndarray, m: np.ndarray, cells: tuple[np.ndarray, np.ndarray],
            k: int) -> list[float]:  # fmt: skip
    """Held-out refusal-F1 of the ``m`` rows of each cell (i, j), in order."""
    mg, qg = cells
    return [round(binary_f1(list(y[c]), list(pred[c])), 3)
            for i in range(k) for j in range(k) for c in [m & (mg == i) & (qg == j)]]  # fmt: skip


def evaluate(rows: Rows, p: np.ndarray, cells: tuple[np.ndarray, np.ndarray], *,
             by_request: bool = False) -> dict[str, Any]:  # fmt: skip
    """Every signal's rule, held out per cell, against the base path; see the module doc.
    ``by_request``: apply the rules to every answer to a Finnish request (the China file's
    Finnish rows, also those written in English or Chinese) instead of answers read as Finnish."""
    k = 3
    y = np.array([r["gold"] != "COMPLETE" for r in rows])
    sets = np.array([r["set"] for r in rows])
    base = p >= 0.5
    fi = sets == "fi"
    applies = fi if by_request else np.array([uncovered_language(r["text"]) == "fi" for r in rows])
    fixed = [fixed_signals(r["text"]) for r in rows]
    sig = {name: np.array([f[name] for f in fixed]) for name in FIXED}
    sig |= fitted_signals(rows, y, cells, k)
    out: dict[str, Any] = {"base": {"refusal_f1": f1_by_set(y, base, sets),
                                    "fi_cells": cell_f1(y, base, fi, cells, k)}}  # fmt: skip
    labelled_complete = fi & ~base
    x = np.column_stack([np.log1p(v) if name == "words" else v for name, v in sig.items()]
                        + [np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))])  # fmt: skip
    scorers = {name: signal_score(v) for name, v in sig.items()}
    scorers["combined"] = logistic_score(x, y)
    for name, score in scorers.items():
        pred, cuts = rule_cv(score, y, base, fi, applies, cells, k)
        added = pred & ~base
        res: dict[str, Any] = {
            "refusal_f1": f1_by_set(y, pred, sets), "fi_cells": cell_f1(y, pred, fi, cells, k),
            "cuts": [round(c, 4) if math.isfinite(c) else None for c in cuts],
            "added_fi": [int((added & fi & y).sum()), int((added & fi & ~y).sum())],
            "added_other": [int((added & ~fi & y).sum()), int((added & ~fi & ~y).sum())],
        }  # fmt: skip
        if name in sig:
            res["auc_fi_labelled_complete"] = _auc(sig[name][labelled_complete], y[labelled_complete])
            cut = best_cut(sig[name][fi], y[fi], base[fi])
            res["optimistic_fi"] = round(binary_f1(list(y[fi]), list(base[fi] | (sig[name][fi] > cut))), 3)
        out[name] = res
    return out


def _auc(v: np.ndarray, y: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, v)), 3) if 0 < y.sum() < len(y) else None


def misses(rows: Rows, p: np.ndarray) -> list[str]:
    """The Finnish answers the base path labels complete and the judges do not, one line each."""
    return [f"{r['gold']:8s} p={p[i]:.2f} {r['model']}: {r['text'][:160]!r}"
            for i, r in enumerate(rows)
            if r["set"] == "fi" and p[i] < 0.5 and r["gold"] != "COMPLETE"]  # fmt: skip


def text_report(out: dict[str, Any]) -> str:
    lines = [f"Finnish garble rules on the cjk_cv path, model-question cells k=3 (held out per cell), "
             f"scope {out['scope']}",
             "  rule              EN     ZH     FI    gov  FI cells (9)                       "
             "added FI [pos, neg] other [pos, neg]  AUC  FI optimistic"]  # fmt: skip
    for name, res in out["results"].items():
        f = res["refusal_f1"]
        cells = " ".join(f"{c:.2f}" for c in res["fi_cells"])
        extra = (f"  {res.get('added_fi', '')} {res.get('added_other', '')}"
                 f"  {res.get('auc_fi_labelled_complete', '')}  {res.get('optimistic_fi', '')}")  # fmt: skip
        lines.append(f"  {name:15s} {f['en']:.3f} {f['zh']:.3f} {f['fi']:.3f} {f['gov']:.3f}  {cells}{extra}")
    lines.append(f"  {out['seconds']}s; {out['machine']}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-misses", action="store_true",
                    help="print the Finnish answers the base path misses (first 160 characters)")  # fmt: skip
    ap.add_argument("--scope", choices=["answer", "request"], default="answer",
                    help="apply the rules to answers that read as Finnish (default) or to every "
                    "answer to a Finnish request")  # fmt: skip
    args = ap.parse_args()
    if not (es.DATA.exists() and es.CHINA.exists()):
        print(f"skip: {es.DATA} or {es.CHINA} not found", file=sys.stderr)
        return 0
    import os
    import platform

    t0 = time.time()
    rows = es.read_rows(es.CHINA) + es.read_rows(es.DATA)
    p, cells = base_path(rows)
    machine = f"{platform.machine()} cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}"
    out = {"results": evaluate(rows, p, cells, by_request=args.scope == "request"),
           "scope": args.scope, "seconds": round(time.time() - t0, 1), "machine": machine}  # fmt: skip
    print(json.dumps(out, indent=1) if args.json else text_report(out))
    if args.show_misses:
        print("\n".join(misses(rows, p)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
