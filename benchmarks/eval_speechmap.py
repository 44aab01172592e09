"""Grouped cross-validation on the SpeechMap dev files.

Usage:
    .venv/bin/python benchmarks/eval_speechmap.py [--embedder use-m3] [--folds 5] [--limit N]
        [--split question|government|model-question] [--write-head PATH] [--write-lexical PATH]
        [--k 3] [--no-cv] [--write-calibration PATH] [--cjk-cv] [--write-lexical-cjk PATH]
        [--train-on both|gov] [--with-china]

``--split model-question`` (the honest guide, classifier 0.3) uses both dev files (China
criticism in EN / ZH / FI, and US / EU / Russia criticism), groups them by model **and**
question together (:func:`grouped_cv`), and reports refusal-F1 per set, expected calibration
error and the uncertain rate; see :func:`grouped_main` for its columns. The rest of this
docstring is about the older splits of the US/EU/Russia file alone.

Reports, on the same folds (no question, or with ``--split government`` no criticised
government, in both train and test):
- ``zero_shot``: the shipped classifier (exemplar kNN + phrases, built-in weights, nothing
  learnt from SpeechMap);
- ``head``: a logistic head on the same low-dimensional features, trained on the train folds
  plus the exemplar bank, threshold tuned by inner grouped CV (``head``) or left at 0.5 with
  balanced classes (``head_0.5``, the recipe of the shipped head, ``--write-head``, which does
  not depend on how common refusals are in the training data);
- ``lexical``: the shipped recipe: ``head_0.5`` for every answer, except English answers,
  which take the mean log-odds of ``head_0.5`` and the lexical head (char n-gram TF-IDF of the
  answer's opening and ending + the same features less length, trained on the English answers
  of the train folds; ``--write-lexical``); ``lexical_only``: the lexical head alone;
- ``v0.3``: ``lexical`` + the degenerate-output rules (classifier 0.3);
- ``baseline``: the substring list.
Binary refusal-F1: EVASIVE or DENIAL vs COMPLETE. The threshold of the trained heads is chosen
by inner grouped CV on the train folds only. Features are cached under /tmp.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from biasprobe.classify import phrases
from biasprobe.classify.bank import LABELS
from biasprobe.classify.calibration import fit_calibration, log_odds
from biasprobe.classify.degenerate import degenerate_reason
from biasprobe.classify.embedders import load_embedder
from biasprobe.classify.evaluate import EvalInputError, binary_f1, read_json_rows, read_labelled
from biasprobe.classify.lexical import LexicalHead, train_lexical
from biasprobe.classify.lexical_cjk import CjkLexicalHead, train_cjk_lexical
from biasprobe.classify.model import (
    CLASSIFIER_VERSION,
    DEGENERATE_CONFIDENCE,
    FEATURES,
    UNCERTAIN_BELOW,
    Classifier,
    LinearHead,
    combine_heads,
    train_head,
)
from biasprobe.classify.phrases import substring_baseline
from biasprobe.classify.prompt_aware import OFF_TOPIC_CONFIDENCE
from biasprobe.records import Label

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speechmap_gov_criticism_dev.jsonl.gz"


def best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for t in np.linspace(0.05, 0.95, 37):
        f1 = binary_f1(list(y), list(p >= t))
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


BANK_SHARE = 0.5
HEAD_MARGIN = 0.15  # Classifier(head_margin=...) default: uncertain below this margin


def _labels(y: np.ndarray) -> list[Label]:
    return [Label.refusal if v else Label.complete for v in y]


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    extra_x: np.ndarray,
    extra_y: np.ndarray,
    *,
    c: float = 1.0,
    embedder: str = "",
    note: str = "",
    bank_share: float = BANK_SHARE,
    tune: bool = True,
) -> LinearHead:
    """Logistic head on SpeechMap rows + the exemplar bank (leave-one-out features, weighted to
    ``bank_share`` of the total weight so short bilingual answers count against SpeechMap's
    long English essays); the threshold is chosen by inner grouped CV on SpeechMap rows."""
    from sklearn.model_selection import GroupKFold

    xa = np.concatenate([x, extra_x])
    ya = np.concatenate([y, extra_y])

    def weights(n_main: int) -> np.ndarray:
        w_bank = bank_share / (1 - bank_share) * n_main / max(1, len(extra_y))
        return np.concatenate([np.ones(n_main), np.full(len(extra_y), w_bank)])

    if not tune:
        return train_head(xa, _labels(ya), c=c, embedder=embedder, weights=weights(len(y)),
                          note=note or "binary, balanced classes, threshold 0.5")  # fmt: skip
    inner = np.zeros(len(y))
    for a, b in GroupKFold(n_splits=4).split(x, y, groups):
        xa_in = np.concatenate([x[a], extra_x])
        ya_in = np.concatenate([y[a], extra_y])
        hd = train_head(xa_in, _labels(ya_in), c=c, weights=weights(len(a)))
        inner[b] = 1.0 - hd.scores(x[b])[:, 0]
    t = best_threshold(inner, y)
    return train_head(xa, _labels(ya), c=c, threshold=t, embedder=embedder, weights=weights(len(y)),
                      note=note or f"binary, threshold {t:.2f} by grouped CV")  # fmt: skip


def fit_lexical(
    texts: list[str],
    x: np.ndarray,
    y: np.ndarray,
    *,
    embedder: str = "",
    note: str = "",
    max_ngrams: int = 30000,
) -> LexicalHead:
    """Lexical head on SpeechMap rows only (English; the exemplar bank is short, hand-written
    and half Chinese, and it is what the embedding head learns from)."""
    return train_lexical(texts, x, y, FEATURES, embedder=embedder, max_ngrams=max_ngrams,
                         note=note or "lexical")  # fmt: skip


def fit_lexical_cjk(texts: list[str], x: np.ndarray, y: np.ndarray, *, embedder: str = "",
                    note: str = "", weights: np.ndarray | None = None) -> CjkLexicalHead:  # fmt: skip
    """The Chinese lexical head (:mod:`biasprobe.classify.lexical_cjk`) on the CJK rows."""
    return train_cjk_lexical(texts, x, y, FEATURES, embedder=embedder, note=note or "lexical-cjk",
                             weights=weights)  # fmt: skip


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default="use-m3")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0, help="subsample COMPLETE rows (0 = all)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--chunks", type=int, default=0, help="chunks embedded after the opening")
    ap.add_argument(
        "--bank-share",
        type=float,
        default=BANK_SHARE,
        help="share of the training weight given to the exemplar bank",
    )
    ap.add_argument(
        "--write-head",
        type=Path,
        default=None,
        help="train the head on all rows + the exemplar bank and write it (JSON)",
    )
    ap.add_argument(
        "--write-lexical",
        type=Path,
        default=None,
        help="train the lexical head on all (English) rows and write it (.json.gz)",
    )
    ap.add_argument(
        "--split",
        choices=["question", "government", "model-question"],
        default="question",
        help="group folds by question (default), by criticised government (train on two of "
        "US / EU / Russia, test on the third), or by model and question together over both "
        "dev files (China EN/ZH/FI and US/EU/Russia; see grouped_cv)",
    )
    ap.add_argument("--write-lexical-cjk", type=Path, default=None,
                    help="model-question: train the Chinese lexical head, write it")  # fmt: skip
    ap.add_argument("--cjk-cv", action="store_true",
                    help="model-question: also score the shipped path with the Chinese lexical "
                    "head retrained per cell (column cjk_cv)")  # fmt: skip
    ap.add_argument("--cjk-extra", nargs="+", default=[], metavar="FILE",
                    help="--cjk-cv / --write-lexical-cjk: extra labelled Chinese answers for the "
                    "Chinese lexical head only (hand-check JSONL files, their zh rows; or "
                    "'exemplars' for the bank's Chinese exemplars); see cjk_extra_rows")  # fmt: skip
    ap.add_argument("--cjk-extra-weight", type=float, nargs="+", default=[1.0], metavar="W",
                    help="sample weight of the extra rows (one cjk_cv column per weight; "
                    "--write-lexical-cjk uses the first)")  # fmt: skip
    ap.add_argument("--train-on", choices=["both", "gov"], default="both",
                    help="model-question --write-*: train the written heads on both dev files "
                    "(default) or on the US/EU/Russia file only (the China file held out)")  # fmt: skip
    ap.add_argument("--with-china", action="store_true",
                    help="question/government split: add every China dev file row (EN/ZH/FI) to "
                    "each fold's training rows")  # fmt: skip
    ap.add_argument("--max-ngrams", type=int, default=30000, help="lexical head vocabulary")
    ap.add_argument("--write-calibration", type=Path, default=None,
                    help="model-question: fit the confidence calibration on all rows, write it")  # fmt: skip
    ap.add_argument("--no-cv", action="store_true",
                    help="model-question: skip the per-cell retraining (shipped heads only)")  # fmt: skip
    ap.add_argument("--k", type=int, default=3, help="model and question groups (model-question)")
    return ap.parse_args()


def main() -> int:
    args = parse_args()
    if args.split == "model-question":
        try:
            return grouped_main(args)
        except EvalInputError as exc:  # a --cjk-extra file that cannot be used
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if not args.data.exists():
        print(f"skip: {args.data} not found", file=sys.stderr)
        return 0
    from sklearn.model_selection import GroupKFold

    rows = read_labelled(args.data, prompt_field="question")
    if args.limit:
        rng = np.random.default_rng(0)
        pos = [r for r in rows if r["gold"] != "COMPLETE"]
        neg = [r for r in rows if r["gold"] == "COMPLETE"]
        keep = rng.choice(len(neg), size=min(args.limit, len(neg)), replace=False)
        rows = pos + [neg[i] for i in sorted(keep)]
    y = np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
    groups = np.array([r["group"] for r in rows])
    if args.split == "government":  # question ids look like "eu_criticism_01"
        args.folds = 3
        fold_groups = np.array([g.rsplit("_", 1)[0] for g in groups])
    else:
        fold_groups = groups
    emb = load_embedder(args.embedder)
    clf = Classifier(emb, shipped_head=False, n_chunks=args.chunks)
    key = hashlib.sha256(
        json.dumps(
            [
                CLASSIFIER_VERSION,
                args.embedder,
                len(rows),
                args.limit,
                clf.bank.fingerprint,
                clf.n_chunks,
                FEATURES,
                sorted(phrases.DEFLECTION["en"]),
            ]
        ).encode()
    ).hexdigest()[:12]
    cache = Path(f"/tmp/biasprobe-speechmap-{key}.npz")
    t0 = time.time()
    if cache.exists():
        z = np.load(cache)
        feats, head_emb, prompt_emb = z["feats"], z["head"], z["prompt"]
    else:
        feats, head_emb, _ = clf.features([r["text"] for r in rows])
        prompts = sorted({r["prompt"] for r in rows})
        pe = dict(zip(prompts, emb.encode(prompts), strict=True))
        prompt_emb = np.stack([pe[r["prompt"]] for r in rows])
        np.savez(cache, feats=feats, head=head_emb, prompt=prompt_emb)
    feat_s = time.time() - t0

    zero = np.array([lab is not Label.complete for lab in _best(clf, feats)])
    base = np.array([substring_baseline(r["text"]) for r in rows])
    bank_x, _, _ = clf.features(clf.bank.texts, leave_one_out=True)
    bank_y = np.array([lab is not Label.complete for lab in clf.bank.labels], dtype=int)
    pred_head = np.zeros(len(rows), dtype=bool)
    pred_bal = np.zeros(len(rows), dtype=bool)
    pred_lex = np.zeros(len(rows), dtype=bool)
    pred_lex_only = np.zeros(len(rows), dtype=bool)
    pred_v03 = np.zeros(len(rows), dtype=bool)  # "lexical" + the degenerate-output rules (0.3)
    degen = np.array([degenerate_reason(r["text"]) is not None for r in rows])
    texts = [r["text"] for r in rows]
    per_fold: list[dict[str, float]] = []
    extra = china_training(clf, args.with_china)
    for tr, te in GroupKFold(n_splits=args.folds).split(feats, y, fold_groups):
        x_tr, y_tr, g_tr, t_tr = with_extra(extra, feats[tr], y[tr], groups[tr], [texts[i] for i in tr])
        hd = fit_head(x_tr, y_tr, g_tr, bank_x, bank_y, bank_share=args.bank_share)
        pred_head[te] = hd.scores(feats[te])[:, 0] < 0.5
        hd_bal = fit_head(x_tr, y_tr, g_tr, bank_x, bank_y, tune=False, bank_share=args.bank_share)
        pred_bal[te] = hd_bal.scores(feats[te])[:, 0] < 0.5
        lex = fit_lexical(t_tr, x_tr, y_tr, max_ngrams=args.max_ngrams)
        te_texts = [texts[i] for i in te]
        use = lex.applies(te_texts)
        p_lex = lex.prob_not_complete(te_texts, feats[te])
        p_both = combine_heads(1.0 - hd_bal.scores(feats[te])[:, 0], p_lex)
        pred_lex[te] = np.where(use, p_both >= 0.5, pred_bal[te])
        pred_lex_only[te] = np.where(use, p_lex >= 0.5, pred_bal[te])
        pred_v03[te] = pred_lex[te] | degen[te]
        per_fold.append({
            "baseline": binary_f1(list(y[te]), list(base[te])),
            "zero_shot": binary_f1(list(y[te]), list(zero[te])),
            "head": binary_f1(list(y[te]), list(pred_head[te])),
            "head_0.5": binary_f1(list(y[te]), list(pred_bal[te])),
            "lexical": binary_f1(list(y[te]), list(pred_lex[te])),
            "lexical_only": binary_f1(list(y[te]), list(pred_lex_only[te])),
            "v0.3": binary_f1(list(y[te]), list(pred_v03[te])),
        })  # fmt: skip
    if args.write_head:
        hd = fit_head(feats, y, groups, bank_x, bank_y, embedder=emb.name, tune=False,
                      bank_share=args.bank_share,
                      note=f"binary, balanced, SpeechMap dev ({len(rows)}) + exemplar bank")  # fmt: skip
        args.write_head.write_text(json.dumps(hd.to_json(), indent=1) + "\n")
    if args.write_lexical:
        lex = fit_lexical(texts, feats, y, embedder=emb.name, max_ngrams=args.max_ngrams,
                          note=f"SpeechMap dev, {len(rows)} answers")  # fmt: skip
        lex.save(args.write_lexical)
    out = {
        "data": str(args.data.name),
        "n": len(rows),
        "positives": int(y.sum()),
        "folds": args.folds,
        "split": args.split,
        "embedder": emb.name,
        "refusal_f1": {
            "baseline": binary_f1(list(y), list(base)),
            "zero_shot": binary_f1(list(y), list(zero)),
            "head": binary_f1(list(y), list(pred_head)),
            "head_0.5": binary_f1(list(y), list(pred_bal)),
            "lexical": binary_f1(list(y), list(pred_lex)),
            "lexical_only": binary_f1(list(y), list(pred_lex_only)),
            "v0.3": binary_f1(list(y), list(pred_v03)),
        },
        "per_fold": per_fold,
        "with_china": bool(args.with_china),
        "errors": fold_errors(y, pred_v03, fold_groups, texts),
        "feature_seconds": round(feat_s, 1),
        "machine": f"{platform.machine()} cpus={os.cpu_count()} {platform.platform()}",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"SpeechMap {args.folds}-fold CV grouped by {args.split}, n={out['n']} "
            f"({out['positives']} EVASIVE/DENIAL), embedder {emb.name}"
        )
        for k, v in out["refusal_f1"].items():
            folds = " ".join(f"{f[k]:.2f}" for f in per_fold)
            print(f"  refusal-F1 {k:10s} {v:.3f}   folds: {folds}")
        for g, e in out["errors"].items():
            print(f"  held out {g}: {e}")
        print(f"  features computed in {feat_s:.0f}s; {out['machine']}; {out['date']}")
    return 0


Extra = tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]


def china_training(clf: Classifier, on: bool) -> Extra | None:
    """``--with-china``: every row of the China dev file (EN / ZH / FI), added to the training
    rows of each fold (its questions are about another government than any fold's, so no test
    question or criticised government is seen)."""
    if not on:
        return None
    if not CHINA.exists():
        raise SystemExit(f"error: {CHINA} not found")
    rows = read_rows(CHINA)
    x = cached_features(clf, rows, "china")
    y = np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
    return x, y, np.array([r["group"] for r in rows]), [r["text"] for r in rows]


def with_extra(extra: Extra | None, x: np.ndarray, y: np.ndarray, groups: np.ndarray,
               texts: list[str]) -> Extra:  # fmt: skip
    """The fold's training rows, with ``extra`` rows appended when given."""
    if extra is None:
        return x, y, groups, texts
    return (np.concatenate([x, extra[0]]), np.concatenate([y, extra[1]]),
            np.concatenate([groups, extra[2]]), texts + extra[3])  # fmt: skip


def fold_errors(y: np.ndarray, pred: np.ndarray, fold_groups: np.ndarray,
                texts: list[str]) -> dict[str, dict[str, int]]:  # fmt: skip
    """Per held-out group (``v0.3``): missed refusals, false alarms, and how many false alarms
    carry an official-line phrase (the ``official_any`` feature; see the README's diagnosis)."""
    out: dict[str, dict[str, int]] = {}
    for g in sorted(set(fold_groups.tolist())):
        m = fold_groups == g
        fp = np.flatnonzero(m & pred & (y == 0))
        out[str(g)] = {
            "positives": int(y[m].sum()), "missed": int((m & ~pred & (y == 1)).sum()),
            "false_alarms": len(fp),
            "false_alarms_with_official_phrase": sum(phrases.count("official", texts[i][:3000]) > 0
                                                     for i in fp),
        }  # fmt: skip
    return out


CHINA = DATA.parent / "speechmap_china_dev.jsonl.gz"
LANG_OF = {"china_criticism": "en", "zh_china_criticism": "zh", "fi_china_criticism": "fi"}
SETS = ("en", "zh", "fi", "gov")  # China file by language; "gov" = the US/EU/Russia file


def read_rows(path: Path) -> list[dict[str, Any]]:
    """SpeechMap rows with text, gold, prompt, question, model and set (en/zh/fi/gov)."""
    import gzip

    from biasprobe.classify.evaluate import to_gold
    from biasprobe.classify.text import strip_think

    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            gold = to_gold(obj.get("label"))
            if gold is None:
                continue
            text = obj["response"] if isinstance(obj["response"], str) else ""
            rows.append({
                "text": strip_think(text)[0], "gold": gold, "prompt": str(obj["question"]),
                "group": str(obj["question_id"]), "model": str(obj["model"]),
                "set": LANG_OF.get(str(obj.get("category")), "gov"),
            })  # fmt: skip
    return rows


def cached_features(clf: Classifier, rows: list[dict[str, Any]], tag: str) -> np.ndarray:
    spec = [clf.embedder.name, tag, len(rows), clf.bank.fingerprint,
            clf.n_chunks, FEATURES, phrases.REFUSAL, phrases.DEFLECTION, phrases.OFFICIAL]  # fmt: skip
    key = hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:12]
    cache = Path(f"/tmp/biasprobe-grouped-{key}.npy")
    if cache.exists():
        return np.load(cache)
    feats, _, _ = clf.features([r["text"] for r in rows])
    np.save(cache, feats)
    return feats


def cell_ids(values: list[str], k: int, seed: int = 0) -> np.ndarray:
    """Assign each distinct value to one of ``k`` groups (seeded shuffle, round robin)."""
    uniq = sorted(set(values))
    order = np.random.default_rng(seed).permutation(len(uniq))
    group = {uniq[j]: i % k for i, j in enumerate(order)}
    return np.array([group[v] for v in values])


def grouped_cv(
    rows: list[dict[str, Any]],
    feats: np.ndarray,
    bank_x: np.ndarray,
    bank_y: np.ndarray,
    cells: tuple[np.ndarray, np.ndarray],
    k: int,
) -> dict[str, np.ndarray]:
    """Out-of-cell P(not complete) for every row, grouped by model and question together.

    Models are split into ``k`` groups and questions into ``k`` groups (across both files);
    each cell (model group i, question group j) is predicted by heads trained on the cells
    with model group != i **and** question group != j, so no test model and no test question
    is seen in training. Every row is predicted once (k*k fits)."""
    mg, qg = cells
    y = np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
    groups = np.array([r["group"] for r in rows])
    texts = [r["text"] for r in rows]
    p_head = np.zeros(len(rows))
    p_comb = np.zeros(len(rows))
    p_both = np.zeros(len(rows))  # + the Chinese lexical head for CJK answers (classifier 0.4)
    for i in range(k):
        for j in range(k):
            te = np.flatnonzero((mg == i) & (qg == j))
            tr = np.flatnonzero((mg != i) & (qg != j))
            if not len(te):
                continue
            hd = fit_head(feats[tr], y[tr], groups[tr], bank_x, bank_y, tune=False)
            p_head[te] = 1.0 - hd.scores(feats[te])[:, 0]
            lex = fit_lexical([texts[t] for t in tr], feats[tr], y[tr])
            te_texts = [texts[t] for t in te]
            use = lex.applies(te_texts)
            p_lex = lex.prob_not_complete(te_texts, feats[te])
            p_comb[te] = np.where(use, combine_heads(p_head[te], p_lex), p_head[te])
            cjk = fit_lexical_cjk([texts[t] for t in tr], feats[tr], y[tr])
            use_cjk = cjk.applies(te_texts)
            p_cjk = cjk.prob_not_complete(te_texts, feats[te])
            p_both[te] = np.where(use_cjk, combine_heads(p_head[te], p_cjk), p_comb[te])
    return {"head_0.5": p_head, "lexical": p_comb, "lexical+cjk": p_both}


def cjk_per_cell(
    rows: list[dict[str, Any]],
    feats: np.ndarray,
    cells: tuple[np.ndarray, np.ndarray],
    k: int,
    shipped: Classifier,
    rules: tuple[np.ndarray, np.ndarray],
    extra: tuple[Extra, float] | None = None,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """``--cjk-cv``: the shipped path (heads + degenerate and off-topic rules) with the Chinese
    lexical head **retrained per cell** (on the other model groups' answers to the other
    question groups) in place of a shipped one: the held-out estimate for a shipped Chinese head,
    which is trained on the China file. ``rules``: (degenerate, off-topic) masks. ``extra``:
    (rows, weight) added to every cell's training rows (``--cjk-extra``; never SpeechMap rows);
    ``base``: the shipped path's P(not complete) without a Chinese head, if already computed."""
    mg, qg = cells
    y = np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
    texts = [r["text"] for r in rows]
    p = without_cjk(shipped, feats, texts) if base is None else base.copy()
    for i in range(k):
        for j in range(k):
            te = np.flatnonzero((mg == i) & (qg == j))
            tr = np.flatnonzero((mg != i) & (qg != j))
            cjk = fit_with_extra([texts[t] for t in tr], feats[tr], y[tr], extra)
            te_texts = [texts[t] for t in te]
            use = cjk.applies(te_texts)
            p_cjk = cjk.prob_not_complete(te_texts, feats[te])
            p[te] = np.where(use, combine_heads(p[te], p_cjk), p[te])
    return _with_off_topic(_with_degenerate(p, rules[0]), rules[1])


def without_cjk(shipped: Classifier, feats: np.ndarray, texts: list[str]) -> np.ndarray:
    """The shipped heads' P(not complete) with no Chinese lexical head."""
    saved, shipped.lexical_cjk = shipped.lexical_cjk, None
    p = 1.0 - shipped.label_scores(feats, texts)[:, 0]
    shipped.lexical_cjk = saved
    return np.asarray(p)


def fit_with_extra(texts: list[str], x: np.ndarray, y: np.ndarray, extra: tuple[Extra, float] | None,
                   *, embedder: str = "", note: str = "") -> CjkLexicalHead:  # fmt: skip
    """The Chinese lexical head on ``texts`` plus the ``--cjk-extra`` rows at their weight."""
    if extra is None:
        return fit_lexical_cjk(texts, x, y, embedder=embedder, note=note)
    (ex, ey, _, et), w = extra
    weights = np.concatenate([np.ones(len(y)), np.full(len(ey), w)])
    return fit_lexical_cjk(texts + et, np.concatenate([x, ex]), np.concatenate([y, ey]),
                           embedder=embedder, note=note, weights=weights)  # fmt: skip


# The blind hand checks of the round (file stems; for 0.9.2's round the eighth and ninth checks and
# their second labellings, the fifth, and the ja-ru checks, which measure; and the blind random
# samples of the blind check): never trained on. The one list: eval_cjk_extra.py reads it from here.
BLIND = ("q15_handcheck5", "q05_handcheck8", "handcheck8_relabel", "jaru_handcheck", "jaru15_handcheck",
         "q15_handcheck9", "handcheck9_relabel", "q05_blind_seed1", "q15_blind_seed1")  # fmt: skip
# (stems: "q05_blind_seed1" also covers its _zh, _zh2, _en2 and _zht files, likewise q15)


def cjk_extra_rows(clf: Classifier, names: list[str]) -> Extra | None:
    """``--cjk-extra``: the Chinese rows (``language`` zh-*) of hand-check JSONL files and, for
    the name ``exemplars``, the bank's Chinese exemplars (leave-one-out features, as the
    embedding head's training gets them), deduplicated by text (first file wins; the q05 sets
    overlap). ``y`` = 1 for any label but complete. Features are cached under /tmp. A blind set
    or a file :func:`read_json_rows` cannot read: :class:`EvalInputError` (one ``error:`` line)."""
    from biasprobe.classify.text import is_cjk

    xs, ys, texts, seen = [], [], [], set()
    for name in names:
        if any(b in name for b in BLIND):
            raise EvalInputError(f"{name} is a blind test set of this round")
        if name == "exemplars":
            pick = [i for i, t in enumerate(clf.bank.texts) if is_cjk(t) and t not in seen]
            x_all, _, _ = clf.features(clf.bank.texts, leave_one_out=True)
            x = x_all[pick]
            lab = [clf.bank.labels[i] is not Label.complete for i in pick]
            new = [clf.bank.texts[i] for i in pick]
        else:
            rows, kept = [], set(seen)
            for _, r in read_json_rows(Path(name), ("language", "response", "label")):
                if r["language"].startswith("zh") and r["response"] not in kept:
                    rows.append(r)
                    kept.add(r["response"])
            new = [r["response"] for r in rows]
            lab = [r["label"] != "complete" for r in rows]
            digest = hashlib.sha256("\n".join(new).encode()).hexdigest()[:8]
            x = cached_features(clf, [{"text": t} for t in new], f"cjk-extra-{Path(name).name}-{digest}")
        xs.append(x)
        ys.extend(lab)
        texts.extend(new)
        seen.update(new)
    if not texts:
        return None
    y = np.array(ys, dtype=int)
    return np.concatenate(xs), y, np.array(["extra"] * len(y)), texts


def cjk_columns(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    feats: np.ndarray,
    cells: tuple[np.ndarray, np.ndarray],
    shipped: Classifier,
    rules: tuple[np.ndarray, np.ndarray],
    extra: Extra | None,
) -> dict[str, np.ndarray]:
    """``cjk_cv`` and, with ``--cjk-extra`` (``extra``: :func:`cjk_extra_rows`), one ``cjk+x<W>``
    column per extra-row weight (the same per-cell head with the extra rows added); prints each
    column's zh and fi refusal-F1 per cell to stderr (the fold noise)."""
    base = without_cjk(shipped, feats, [r["text"] for r in rows])
    out = {"cjk_cv": cjk_per_cell(rows, feats, cells, args.k, shipped, rules, base=base)}
    if extra is not None:
        print(f"cjk-extra: {len(extra[1])} rows ({int(extra[1].sum())} not complete)", file=sys.stderr)
        for w in args.cjk_extra_weight:
            out[f"cjk+x{w:g}"] = cjk_per_cell(rows, feats, cells, args.k, shipped, rules, (extra, w), base)
    y = np.array([r["gold"] != "COMPLETE" for r in rows])
    sets = np.array([r["set"] for r in rows])
    for name, p in out.items():
        for s in ("zh", "fi"):
            f1s = [binary_f1(list(y[m]), list(p[m] >= 0.5)) for i in range(args.k) for j in range(args.k)
                   if (m := (sets == s) & (cells[0] == i) & (cells[1] == j)).any()]  # fmt: skip
            print(f"per-cell {s} {name:10s} " + " ".join(f"{f:.2f}" for f in f1s), file=sys.stderr)
        flip = (sets == "zh") & ((p >= 0.5) != (out["cjk_cv"] >= 0.5))
        fixed = int((flip & ((p >= 0.5) == y)).sum())
        print(f"zh labels changed vs cjk_cv {name}: {int(flip.sum())} ({fixed} now right)", file=sys.stderr)
    return out


def write_heads(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    feats: np.ndarray,
    bank_x: np.ndarray,
    bank_y: np.ndarray,
    embedder: str,
    extra: Extra | None = None,
) -> None:
    """``--write-head`` / ``--write-lexical`` with ``--split model-question``: the shipped
    recipe trained on every row of both dev files (EN, ZH, FI China answers and the
    US/EU/Russia file) plus the exemplar bank."""
    if args.write_lexical_cjk:  # always on every row: the China file has the non-English answers
        y_all = np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
        note = f"non-English answers of SpeechMap China + US/EU/Russia dev ({len(rows)} answers)"
        if extra is not None:
            names = ", ".join(Path(n).name for n in args.cjk_extra)
            note += (
                f" + {len(extra[1])} Chinese answers ({int(extra[1].sum())} not complete; hand labels, "
                f"deduplicated by text) of {names} (weight {args.cjk_extra_weight[0]:g})"
            )
        cjk = fit_with_extra([r["text"] for r in rows], feats, y_all,
                             None if extra is None else (extra, args.cjk_extra_weight[0]),
                             embedder=embedder, note=note)  # fmt: skip
        cjk.save(args.write_lexical_cjk)
    if args.train_on == "gov":
        keep = np.array([r["set"] == "gov" for r in rows])
        rows, feats = [r for r, k in zip(rows, keep, strict=True) if k], feats[keep]
    y = np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
    groups = np.array([r["group"] for r in rows])
    what = (f"SpeechMap China (EN/ZH/FI) + US/EU/Russia dev, {len(rows)} answers"
            if args.train_on == "both" else f"SpeechMap US/EU/Russia dev, {len(rows)} answers")  # fmt: skip
    if args.write_head:
        hd = fit_head(feats, y, groups, bank_x, bank_y, embedder=embedder, tune=False,
                      note=f"binary, balanced, {what} + exemplar bank")  # fmt: skip
        args.write_head.write_text(json.dumps(hd.to_json(), indent=1) + "\n")
    if args.write_lexical:
        lex = fit_lexical([r["text"] for r in rows], feats, y, embedder=embedder, note=what)
        lex.save(args.write_lexical)


def calibrated_confidence(
    p: np.ndarray,
    y: np.ndarray,
    degen: np.ndarray,
    cells: tuple[np.ndarray, np.ndarray],
    k: int,
    fit_on: np.ndarray,
) -> dict[str, np.ndarray]:
    """Confidence of each row's label: raw (max(p, 1-p), as in 0.2.0) and calibrated, the
    calibration for cell (i, j) fitted only on rows of other model groups and other question
    groups among the ``fit_on`` rows (nested: the calibration never saw the cell's models or
    questions)."""
    mg, qg = cells
    z = log_odds(p)
    right = (p >= 0.5) == y
    cal = np.zeros(len(p))
    for i in range(k):
        for j in range(k):
            te = (mg == i) & (qg == j)
            tr = (mg != i) & (qg != j) & fit_on
            if te.any():
                cal[te] = fit_calibration(z[tr], right[tr]).confidence(z[te])
    cal = np.where(degen, np.maximum(cal, DEGENERATE_CONFIDENCE), cal)
    return {"raw": np.maximum(p, 1 - p), "calibrated": cal}


def grouped_main(args: argparse.Namespace) -> int:
    """``--split model-question``: refusal-F1 per set (EN / ZH / FI / gov), ECE, uncertain.

    Columns: ``head_0.5`` / ``lexical`` (the 0.2.0 recipe retrained per cell, see
    :func:`grouped_cv`) and ``v0.3`` (``lexical`` + degenerate rules), skipped with ``--no-cv``;
    ``shipped`` (the shipped heads, trained on the whole US/EU/Russia file: on ``gov`` not held
    out; on the China file nothing of it was seen) and ``shipped_v0.3`` (+ degenerate rules,
    the default scoring path of 0.3.0); ``v0.4`` / ``shipped_v0.4``: the same with classifier
    0.3.1's prompt-aware checks (:mod:`biasprobe.classify.prompt_aware`; the short-loop rule is
    in both, through ``degenerate_reason``); ``zero_shot`` (built-in weights); ``baseline``
    (substrings). Also printed: what the low-similarity rule would add at other thresholds.
    Classifier 0.4: ``lexical+cjk`` / ``v0.5`` (per-cell recipe + the Chinese lexical head) and,
    with ``--cjk-cv``, ``cjk_cv`` (the shipped path with the Chinese lexical head retrained per
    cell, :func:`cjk_per_cell`: the held-out figure for Chinese, whose shipped head is trained on
    the China file; ``--write-lexical-cjk`` writes that head, ``--train-on gov`` keeps the
    embedding and English heads off the China file).
    Calibration and ECE are for ``shipped_v0.3``; the calibration of each cell is fitted on the
    China rows of the other model and question groups only."""
    if not (args.data.exists() and CHINA.exists()):
        print(f"skip: {args.data} or {CHINA} not found", file=sys.stderr)
        return 0
    t0 = time.time()
    rows = read_rows(CHINA) + read_rows(args.data)
    if args.limit:
        rows = [r for i, r in enumerate(rows) if r["gold"] != "COMPLETE" or i % args.limit == 0]
    emb = load_embedder(args.embedder)
    clf = Classifier(emb, shipped_head=False, n_chunks=args.chunks)
    extra = cjk_extra_rows(clf, args.cjk_extra)  # read once, before the long work
    feats = cached_features(clf, rows, f"grouped-{args.limit}")
    bank_x, _, _ = clf.features(clf.bank.texts, leave_one_out=True)
    bank_y = np.array([lab is not Label.complete for lab in clf.bank.labels], dtype=int)
    cells = (
        cell_ids([r["model"] for r in rows], args.k),
        cell_ids([r["group"] for r in rows], args.k, seed=1),
    )
    degen = np.array([degenerate_reason(r["text"]) is not None for r in rows])
    probs = {} if args.no_cv else grouped_cv(rows, feats, bank_x, bank_y, cells, args.k)
    off, sim = off_topic_mask(emb, rows)
    if probs:
        probs["v0.3"] = _with_degenerate(probs["lexical"], degen)
        probs["v0.4"] = _with_off_topic(probs["v0.3"], off)
        probs["v0.5"] = _with_off_topic(_with_degenerate(probs["lexical+cjk"], degen), off)
    shipped = Classifier(emb, n_chunks=args.chunks)
    probs["shipped"] = 1.0 - shipped.label_scores(feats, [r["text"] for r in rows])[:, 0]
    probs["shipped_v0.3"] = _with_degenerate(probs["shipped"], degen)
    probs["shipped_v0.4"] = _with_off_topic(probs["shipped_v0.3"], off)
    if args.cjk_cv:
        probs.update(cjk_columns(args, rows, feats, cells, shipped, (degen, off), extra))
    y = np.array([r["gold"] != "COMPLETE" for r in rows])
    sets = np.array([r["set"] for r in rows])
    preds = {name: p >= 0.5 for name, p in probs.items()}
    preds["zero_shot"] = np.array([lab is not Label.complete for lab in _best(clf, feats)])
    preds["baseline"] = np.array([substring_baseline(r["text"]) for r in rows])
    china = sets != "gov"
    conf = calibrated_confidence(probs["shipped_v0.3"], y, degen, cells, args.k, china)
    if args.write_calibration:
        note = f"shipped heads on the SpeechMap China dev file (EN/ZH/FI), {int(china.sum())} answers"
        p_c = probs["shipped_v0.3"][china]
        cal = fit_calibration(log_odds(p_c), (p_c >= 0.5) == y[china], embedder=emb.name, note=note)
        args.write_calibration.write_text(json.dumps(cal.to_json(), indent=1) + "\n")
    write_heads(args, rows, feats, bank_x, bank_y, emb.name, extra)
    out = _grouped_report(y, degen, sets, preds, probs["shipped_v0.3"], conf)
    out["off_topic_sweep"] = off_topic_sweep(sim, y, sets, probs["shipped_v0.3"] >= 0.5)
    out.update({"split": f"model-question k={args.k}", "embedder": emb.name, "n": len(rows),
                "seconds": round(time.time() - t0, 1),
                "machine": f"{platform.machine()} cpus={os.cpu_count()} load={os.getloadavg()[0]:.1f}",
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds")})  # fmt: skip
    print(json.dumps(out, indent=1) if args.json else _grouped_text(out))
    return 0


def off_topic_mask(emb: Any, rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Classifier 0.4's prompt-aware checks per row (prompt_aware.py), and the cosine between
    each request and its answer's opening. Opening embeddings are cached under /tmp."""
    from biasprobe.classify.prompt_aware import off_topic_reason, prompt_similarity
    from biasprobe.classify.text import head

    key = hashlib.sha256(json.dumps([emb.name, len(rows), "heads"]).encode()).hexdigest()[:12]
    cache = Path(f"/tmp/biasprobe-heads-{key}.npy")
    if cache.exists():
        heads = np.load(cache)
    else:
        heads = emb.encode([head(r["text"]) if r["text"].strip() else "." for r in rows])
        np.save(cache, heads)
    sim = prompt_similarity(emb, [r["prompt"] for r in rows], heads)
    off = np.array([
        off_topic_reason(r["prompt"], r["text"], float(c)) is not None
        for r, c in zip(rows, sim, strict=True)
    ])  # fmt: skip
    return off, sim


def off_topic_sweep(
    sim: np.ndarray, y: np.ndarray, sets: np.ndarray, flagged: np.ndarray
) -> dict[str, dict[str, list[int]]]:
    """Per set and similarity threshold: [answers judged EVASIVE/DENIAL, judged COMPLETE] that
    the low-similarity rule would add (among answers the shipped path calls complete)."""
    out: dict[str, dict[str, list[int]]] = {}
    for s in SETS:
        m = (sets == s) & ~flagged
        out[s] = {
            f"{t:.2f}": [int((m & (sim < t) & y).sum()), int((m & (sim < t) & ~y).sum())]
            for t in (-0.05, 0.0, 0.05, 0.1, 0.15, 0.2)
        }
    return out


def _with_off_topic(p: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Classifier 0.4: an answer about something else than the request is a deflection."""
    return np.where(off, np.maximum(p, OFF_TOPIC_CONFIDENCE), p)


def _with_degenerate(p: np.ndarray, degen: np.ndarray) -> np.ndarray:
    """Classifier 0.3: degenerate output (loops, garble, empty) is a deflection."""
    return np.where(degen, np.maximum(p, DEGENERATE_CONFIDENCE), p)


def _grouped_report(
    y: np.ndarray,
    degen: np.ndarray,
    sets: np.ndarray,
    preds: dict[str, np.ndarray],
    p: np.ndarray,
    conf: dict[str, np.ndarray],
) -> dict[str, Any]:
    from biasprobe.classify.evaluate import expected_calibration_error as ece

    out: dict[str, Any] = {"refusal_f1": {}, "ece": {}, "ece_conf": {}, "ece_conf_raw": {},
                           "uncertain": {}, "uncertain_raw": {}}  # fmt: skip
    right = (p >= 0.5) == y
    masks = {s: sets == s for s in SETS} | {"all": np.ones(len(y), dtype=bool)}
    for s, m in masks.items():
        if s != "all":
            res = {name: binary_f1(list(y[m]), list(q[m])) for name, q in preds.items()}
            out["refusal_f1"][s] = res | {"n": int(m.sum()), "positives": int(y[m].sum())}
        out["ece"][s] = ece(list(p[m]), list(y[m]))
        out["ece_conf"][s] = ece(list(conf["calibrated"][m]), list(right[m]))
        out["ece_conf_raw"][s] = ece(list(conf["raw"][m]), list(right[m]))
        out["uncertain"][s] = round(float((conf["calibrated"][m] < UNCERTAIN_BELOW).mean()), 4)
        # The rule without a shipped calibration: margin |2p - 1| below the head margin.
        low = (np.abs(2 * p[m] - 1) < HEAD_MARGIN) & ~degen[m]
        out["uncertain_raw"][s] = round(float(low.mean()), 4)
    return out


def _grouped_text(out: dict[str, Any]) -> str:
    lines = [f"SpeechMap grouped CV ({out['split']}), n={out['n']}, embedder {out['embedder']}"]
    names = [n for n in out["refusal_f1"]["en"] if n not in ("n", "positives")]
    lines.append("  refusal-F1   " + " ".join(f"{n:>10s}" for n in names)
                 + "   ECE(p) ECE(conf raw) ECE(conf cal) uncertain(cal) uncertain(raw)")  # fmt: skip
    for s, res in out["refusal_f1"].items():
        vals = " ".join(f"{res[n]:10.3f}" for n in names)
        lines.append(
            f"  {s:4s} n={res['n']:<5d}{vals}   {out['ece'][s]:.3f}  {out['ece_conf_raw'][s]:.3f}"
            f"  {out['ece_conf'][s]:.3f}  {out['uncertain'][s]:.3f}  {out['uncertain_raw'][s]:.3f}"
            f"  ({res['positives']} pos)"
        )
    lines.append(
        f"  all: ECE(p) {out['ece']['all']:.3f}, ECE(confidence) raw "
        f"{out['ece_conf_raw']['all']:.3f} calibrated {out['ece_conf']['all']:.3f}, uncertain "
        f"{out['uncertain']['all']:.3f} calibrated / {out['uncertain_raw']['all']:.3f} raw "
        "(ECE and uncertain: shipped_v0.3)"
    )
    for s, sweep in out.get("off_topic_sweep", {}).items():
        lines.append(f"  {s}: low-similarity rule would add [judged not complete, complete]: "
                     + ", ".join(f"<{t}: {v}" for t, v in sweep.items()))  # fmt: skip
    lines.append(f"  {out['seconds']}s; {out['machine']}; {out['date']}")
    return "\n".join(lines)


def _best(clf: Classifier, feats: np.ndarray) -> list[Any]:
    scores = clf.label_scores(feats)
    return [LABELS[int(i)] for i in scores.argmax(axis=1)]


if __name__ == "__main__":
    raise SystemExit(main())
