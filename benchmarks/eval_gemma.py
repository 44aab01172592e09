"""EmbeddingGemma for the languages ``use-m3`` does not cover: is it worth a path? (issue 16).

Usage:
    PYTHONPATH=src .venv/bin/python benchmarks/eval_gemma.py [--cache DIR] [--gov-every N]
        [--c C] [--fp32] [--limit-gov N] [--time-only N] [--json]

Needs EmbeddingGemma in the cache (``biasprobe pull-embedder embeddinggemma``; it is never
downloaded here) and the two SpeechMap dev files (skips without them).

``use-m3`` (the default embedder) does not cover Finnish; EmbeddingGemma-300M does, but runs at
tens of texts per second on a 2-core CPU, so it could only label the answers flagged
``language_not_covered``. This script measures whether it would label them better, on the cells
of ``eval_speechmap.py --split model-question`` (same rows, same k=3 model groups x 3 question
groups; every cell predicted by heads trained on the other model groups' answers to the other
question groups). Variants (P(not complete) per answer; each then gets the degenerate and
off-topic rules of the default path, as ``cjk_cv`` does):

- ``default``: the default path, column ``cjk_cv`` of ``eval_speechmap.py`` (use-m3);
- ``a_feats``: the classifier's feature recipe (kNN to the exemplar bank, phrases, stance, ...)
  computed with EmbeddingGemma, a balanced logistic head per cell (``fit_head``, + the bank);
- ``b_emb``: a logistic head on the EmbeddingGemma opening embedding + six language-independent
  features, per cell, trained on the other cells' answers in **all** languages (so on Finnish
  it is mostly cross-lingual transfer from English and Chinese);
- ``c_avg_a`` / ``c_avg_b``: the mean log-odds of ``default`` and ``a_feats`` / ``b_emb``.

Each variant is reported applied to every answer (``all``) and only to answers flagged
``language_not_covered`` by :mod:`biasprobe.classify.coverage` (``flagged``; the others keep
``default``), which is how a wired path would run. The variants were chosen on these same cells,
so their figures are optimistic. EmbeddingGemma embeds the China file's 1,379 answers (and, with
``--gov-every N``, every N-th US/EU/Russia answer, added to the gemma heads' training data), in
bfloat16 unless ``--fp32``; its embeddings are cached per text under ``--cache``, as are the
default path's probabilities. ``--limit-gov N`` thins the US/EU/Russia rows of every path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import eval_speechmap as es

from biasprobe.classify.coverage import not_covered_flag
from biasprobe.classify.degenerate import degenerate_reason
from biasprobe.classify.evaluate import binary_f1
from biasprobe.classify.model import Classifier, combine_heads
from biasprobe.records import Label

EMB_FEATURES = ("log_words", "very_short", "empty", "mixed_script", "refusal_head", "deflection_head")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=Path("/tmp/finnish-cache"))
    ap.add_argument("--limit-gov", type=int, default=1, help="keep every N-th US/EU/Russia row")
    ap.add_argument("--time-only", type=int, default=0, help="time gemma on N openings, exit")
    ap.add_argument(
        "--gov-every",
        type=int,
        default=0,
        help="also embed every N-th US/EU/Russia answer for the gemma heads (0: none)",
    )
    ap.add_argument("--fp32", action="store_true", help="gemma in float32 (default bfloat16)")
    ap.add_argument("--c", type=float, default=1.0, help="inverse regularisation of b_emb")
    ap.add_argument("--json", action="store_true")
    return ap.parse_args()


def load_rows(limit_gov: int) -> list[dict[str, Any]]:
    china = es.read_rows(es.CHINA)
    gov = es.read_rows(es.DATA)
    return china + [r for i, r in enumerate(gov) if i % limit_gov == 0]


def default_path(rows: list[dict[str, Any]], cells: tuple[np.ndarray, np.ndarray],
                 cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(P(not complete) of the ``cjk_cv`` column, degenerate mask, off-topic mask), cached."""
    from biasprobe.classify.embedders import load_embedder

    path = cache / f"default-{len(rows)}.npz"
    if path.exists():
        z = np.load(path)
        return z["p"], z["degen"], z["off"]
    emb = load_embedder("use-m3")
    clf = Classifier(emb, shipped_head=False)
    tag = "grouped-0" if len(rows) == 6915 else f"gemma-eval-{len(rows)}"  # eval_speechmap's cache
    feats = es.cached_features(clf, rows, tag)
    degen = np.array([degenerate_reason(r["text"]) is not None for r in rows])
    off, _ = es.off_topic_mask(emb, rows)
    p = es.cjk_per_cell(rows, feats, cells, 3, Classifier(emb), (degen, off))
    np.savez(path, p=p, degen=degen, off=off)
    return p, degen, off


class DiskCachedEmbedder:
    """An embedder whose rows are kept on disk per text (saved every ``every`` texts), so an
    interrupted embedding run resumes where it stopped."""

    def __init__(self, load: Any, path: Path, every: int = 64) -> None:
        self.load, self.path, self.every = load, path, every
        self.inner: Any = None  # loaded on the first text not on disk
        self.name, self.sha256 = "embeddinggemma-300m", "unknown"  # "unknown": no shared cache
        self.memo: dict[str, np.ndarray] = {}
        if path.exists():
            z = np.load(path, allow_pickle=False)
            self.memo = dict(zip([str(t) for t in z["texts"]], z["emb"], strict=True))

    def save(self) -> None:
        texts = list(self.memo)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, texts=np.array(texts), emb=np.stack([self.memo[t] for t in texts]))
        tmp.replace(self.path)

    def encode(self, texts: list[str]) -> np.ndarray:
        todo = sorted({t for t in texts if t not in self.memo}, key=len)
        for k in range(0, len(todo), self.every):
            part = todo[k : k + self.every]
            self.inner = self.inner or self.load()
            self.memo.update(zip(part, self.inner.encode(part), strict=True))
            self.save()
            print(f"  gemma: {min(k + self.every, len(todo))}/{len(todo)} texts", file=sys.stderr)
        return np.stack([self.memo[t] for t in texts]).astype(np.float32)


def load_gemma(bf16: bool) -> Any:
    """EmbeddingGemma from the cache (never downloaded here), optionally cast to bfloat16."""
    from biasprobe.classify.embedders import load_embedder

    emb = load_embedder("embeddinggemma", download=False)
    if bf16:
        import torch

        emb._model.to(torch.bfloat16)  # type: ignore[attr-defined]
    return emb


def gemma_features(rows: list[dict[str, Any]], cache: Path, bf16: bool) -> dict[str, np.ndarray]:
    """EmbeddingGemma features, opening embeddings and bank features of ``rows``."""
    emb = DiskCachedEmbedder(
        lambda: load_gemma(bf16), cache / f"gemma-texts-{'bf16' if bf16 else 'fp32'}.npz"
    )
    clf = Classifier(emb, shipped_head=False)
    t0 = time.time()
    feats, heads, _ = clf.features([r["text"] for r in rows])
    secs = time.time() - t0
    bank_x, _, _ = clf.features(clf.bank.texts, leave_one_out=True)
    bank_y = np.array([lab is not Label.complete for lab in clf.bank.labels], dtype=int)
    return {"feats": feats, "heads": heads, "bank_x": bank_x, "bank_y": bank_y,
            "seconds": np.array(secs), "names": np.array(clf.feature_names)}  # fmt: skip


def time_gemma(rows: list[dict[str, Any]], n: int) -> None:
    from biasprobe.classify.embedders import load_embedder
    from biasprobe.classify.text import head

    t0 = time.time()
    emb = load_embedder("embeddinggemma", download=False)
    load_s = time.time() - t0
    rng = np.random.default_rng(0)
    pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
    texts = [head(rows[i]["text"]) or "." for i in pick]
    emb.encode(texts[:8])
    t0 = time.time()
    emb.encode(texts)
    s = time.time() - t0
    chars = np.mean([len(t) for t in texts])
    print(f"load {load_s:.1f}s; {len(texts)} openings (mean {chars:.0f} chars) in {s:.1f}s = "
          f"{len(texts) / s:.1f}/s; threads={os.environ.get('BIASPROBE_EMBED_THREADS', '2')}; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


def per_cell(cells: tuple[np.ndarray, np.ndarray], fit: Any, n: int) -> np.ndarray:
    """P(not complete) of every row from ``fit(train_idx, test_idx)`` over the k x k cells."""
    mg, qg = cells
    p = np.zeros(n)
    for i in range(3):
        for j in range(3):
            te = np.flatnonzero((mg == i) & (qg == j))
            tr = np.flatnonzero((mg != i) & (qg != j))
            if len(te):
                p[te] = fit(tr, te)
    return p


def variants(rows: list[dict[str, Any]], cells: tuple[np.ndarray, np.ndarray],
             g: dict[str, np.ndarray], c: float) -> dict[str, np.ndarray]:  # fmt: skip
    from sklearn.linear_model import LogisticRegression

    y = np.array([r["gold"] != "COMPLETE" for r in rows], dtype=int)
    groups = np.array([r["group"] for r in rows])
    feats, names = g["feats"], [str(n) for n in g["names"]]

    def fit_a(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
        hd = es.fit_head(feats[tr], y[tr], groups[tr], g["bank_x"], g["bank_y"], tune=False)
        return 1.0 - hd.scores(feats[te])[:, 0]

    cols = [names.index(f) for f in EMB_FEATURES]
    xb = np.concatenate([g["heads"], feats[:, cols]], axis=1)

    fi = np.array([r["set"] == "fi" for r in rows])

    def fit_b(train_on: np.ndarray) -> Any:
        def fit(tr: np.ndarray, te: np.ndarray) -> np.ndarray:
            tr = tr[train_on[tr]]
            lr = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
            lr.fit(xb[tr], y[tr])
            return lr.predict_proba(xb[te])[:, 1]

        return fit

    every = np.ones(len(rows), dtype=bool)
    return {
        "a_feats": per_cell(cells, fit_a, len(rows)),
        "b_emb": per_cell(cells, fit_b(every), len(rows)),
        "b_emb_not_fi": per_cell(cells, fit_b(~fi), len(rows)),  # pure transfer to Finnish
        "b_emb_fi_only": per_cell(cells, fit_b(fi), len(rows)),
    }


def request_similarity(rows: list[dict[str, Any]], g: dict[str, np.ndarray], cache: Path,
                       bf16: bool, flagged_default: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """Finnish answers: EmbeddingGemma cosine between the request and the answer's opening (the
    off-topic check ``use-m3`` cannot make in Finnish): AUC against the judges, and what a
    low-similarity rule would add to the default path's flags [judged not complete, complete]."""
    from sklearn.metrics import roc_auc_score

    emb = DiskCachedEmbedder(
        lambda: load_gemma(bf16), cache / f"gemma-texts-{'bf16' if bf16 else 'fp32'}.npz"
    )
    fi = np.flatnonzero([r["set"] == "fi" for r in rows])
    prompts = sorted({rows[i]["prompt"] for i in fi})
    pe = dict(zip(prompts, emb.encode(prompts), strict=True))
    sim = np.array([float(pe[rows[i]["prompt"]] @ g["heads"][i]) for i in fi])
    y = np.array([rows[i]["gold"] != "COMPLETE" for i in fi])
    missed = ~flagged_default[fi]
    out: dict[str, Any] = {"auc": round(float(roc_auc_score(y, -sim)), 3)}
    for t in (0.2, 0.3, 0.4, 0.45, 0.5):
        add = missed & (sim < t)
        out[f"<{t}"] = [int((add & y).sum()), int((add & ~y).sum())]
    return out


def report(rows: list[dict[str, Any]], probs: dict[str, np.ndarray], flagged: np.ndarray,
           rules: tuple[np.ndarray, np.ndarray]) -> dict[str, Any]:  # fmt: skip
    """Refusal-F1 per set of each variant (after the rules), and for Finnish the paired
    bootstrap interval (95%, over model-and-question pairs) of its gain over ``default``."""
    from sklearn.metrics import roc_auc_score

    y = np.array([r["gold"] != "COMPLETE" for r in rows])
    sets = np.array([r["set"] for r in rows])
    pairs = np.array([f"{r['model']}|{r['group']}" for r in rows])
    preds: dict[str, np.ndarray] = {}
    for name, p in probs.items():
        for scope, use in (("all", np.ones(len(y), bool)), ("flagged", flagged)):
            if name == "default" and scope == "flagged":
                continue
            q = np.where(use, p, probs["default"]) if name != "default" else p
            key = name if name == "default" else f"{name}/{scope}"
            preds[key] = es._with_off_topic(es._with_degenerate(q, rules[0]), rules[1]) >= 0.5
    out: dict[str, Any] = {}
    fi = np.flatnonzero(sets == "fi")
    for key, q in preds.items():
        out[key] = {s: round(binary_f1(list(y[sets == s]), list(q[sets == s])), 3)
                    for s in es.SETS if (sets == s).any()}  # fmt: skip
        if key != "default" and len(fi):
            out[key]["fi_gain_ci"] = gain_interval(y[fi], q[fi], preds["default"][fi], pairs[fi])
    for name, p in probs.items():  # ranking quality on Finnish, before rules and threshold
        if len(fi):
            out.setdefault(name if name == "default" else f"{name}/all", {})["fi_auc"] = round(
                float(roc_auc_score(y[fi], p[fi])), 3)  # fmt: skip
    return out


def gain_interval(y: np.ndarray, q: np.ndarray, q0: np.ndarray, pairs: np.ndarray,
                  n: int = 1000) -> list[float]:  # fmt: skip
    """95% interval of F1(q) - F1(q0), resampling whole model-and-question pairs."""
    uniq, inv = np.unique(pairs, return_inverse=True)
    members = [np.flatnonzero(inv == k) for k in range(len(uniq))]
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(n):
        idx = np.concatenate([members[k] for k in rng.integers(0, len(uniq), len(uniq))])
        gains.append(binary_f1(list(y[idx]), list(q[idx])) - binary_f1(list(y[idx]), list(q0[idx])))
    lo, hi = np.percentile(gains, [2.5, 97.5])
    return [round(float(lo), 3), round(float(hi), 3)]


def main() -> int:
    args = parse_args()
    if not (es.DATA.exists() and es.CHINA.exists()):
        print("skip: SpeechMap dev files not found", file=sys.stderr)
        return 0
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = load_rows(args.limit_gov)
    if args.time_only:
        time_gemma(rows, args.time_only)
        return 0
    t0 = time.time()
    cells = (es.cell_ids([r["model"] for r in rows], 3),
             es.cell_ids([r["group"] for r in rows], 3, seed=1))  # fmt: skip
    p_def, degen, off = default_path(rows, cells, args.cache)
    # EmbeddingGemma rows: the China file (EN / ZH / FI), + every N-th US/EU/Russia answer.
    gov_i = np.cumsum([r["set"] == "gov" for r in rows])
    keep = np.array([r["set"] != "gov" or bool(args.gov_every and gov_i[n] % args.gov_every == 0)
                     for n, r in enumerate(rows)], dtype=bool)  # fmt: skip
    sub = [r for r, k in zip(rows, keep, strict=True) if k]
    sub_cells = (cells[0][keep], cells[1][keep])
    g = gemma_features(sub, args.cache, bf16=not args.fp32)
    probs = {"default": p_def[keep]} | variants(sub, sub_cells, g, args.c)
    for v in ("a_feats", "b_emb", "b_emb_not_fi", "b_emb_fi_only"):
        probs[f"c_avg_{v}"] = combine_heads(probs["default"], probs[v])
    flagged = np.array([not_covered_flag(r["text"], "use-m3") is not None for r in sub])
    res = report(sub, probs, flagged, (degen[keep], off[keep]))
    sets = np.array([r["set"] for r in sub])
    meta = {"rows": len(sub), "flagged": {s: int(flagged[sets == s].sum()) for s in es.SETS},
            "gemma_seconds": round(float(g["seconds"]), 1), "seconds": round(time.time() - t0, 1),
            "load": round(os.getloadavg()[0], 1)}  # fmt: skip
    q0 = es._with_off_topic(es._with_degenerate(probs["default"], degen[keep]), off[keep]) >= 0.5
    meta["fi_request_similarity"] = request_similarity(sub, g, args.cache, not args.fp32, q0)
    if args.json:
        print(json.dumps({"refusal_f1": res} | meta, indent=1))
    else:
        print(f"refusal-F1 per set (en / zh / fi / gov), cells k=3, {meta}")
        for name, r in res.items():
            print(f"  {name:18s} " + " ".join(f"{s} {v}" for s, v in r.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
