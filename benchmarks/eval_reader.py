"""Does a chat model's own hidden state, reading the request and the answer, make a better
complete-vs-not head than the embedding path? (issue 16; a negative result.)

Why: every embedding head so far reads the answer alone, or the answer next to a separately
embedded request; an LLM that reads "request, then answer" in its chat template could encode
"does this answer do what was asked", the judges' EVASIVE. This script tests that lead with the
default model (Qwen2.5-Coder-0.5B-Instruct, bf16, the converted weights in
``~/.cache/biasprobe/converted/``) as the reader:

1. ``features``: for every answer of the SpeechMap China file and every ``--gov-every``-th of
   the US/EU/Russia file, run the model on its chat template (user turn = the request, up to
   256 tokens; assistant turn = the answer's first ``--max-answer-tokens`` tokens) and keep, at
   layers 6 / 12 / 18 / 24, the mean hidden state over the answer's tokens and the last token's.
2. ``cv``: a balanced logistic head (standardised features, ``--C``) per cell of
   ``eval_speechmap.py``'s model x question split (k = 3, the same cells: no test model and no
   test question in training), alone and averaged in log-odds with the shipped path's held-out
   probability (column ``cjk_cv`` of ``eval_speechmap.py --split model-question --cjk-cv``).

Usage (from the repository root; ``features`` takes about 20 minutes on 2 cores):

    PYTHONPATH=src .venv/bin/python benchmarks/eval_reader.py features MODEL_DIR /tmp/reader.npz
    PYTHONPATH=src .venv/bin/python benchmarks/eval_reader.py cv /tmp/reader.npz [--C 0.05]

Every layer and C tried is printed: choosing among them on these cells would be optimistic.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import eval_speechmap as es

LAYERS = (6, 12, 18, 24)
K = 3


def subset(n_china: int, n_gov: int, every: int) -> np.ndarray:
    """Indexes into China + US/EU/Russia rows: all China rows, every ``every``-th gov row."""
    gov = [n_china + i for i in range(n_gov) if i % every == 0]
    return np.array(list(range(n_china)) + gov)


def all_rows() -> tuple[list[dict[str, Any]], int]:
    china = es.read_rows(es.CHINA)
    return china + es.read_rows(es.DATA), len(china)


def features(args: argparse.Namespace) -> int:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    rows, n_china = all_rows()
    pick = subset(n_china, len(rows) - n_china, args.gov_every)
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.bfloat16).eval()
    enc = [_encode(tok, rows[i], args.max_answer_tokens) for i in pick]
    order = sorted(range(len(pick)), key=lambda i: len(enc[i][0]) + len(enc[i][1]))
    out = np.zeros((len(pick), 2 * len(LAYERS), model.config.hidden_size), dtype=np.float32)
    t0 = time.time()
    with torch.inference_mode():
        for b in range(0, len(order), args.batch):
            idx = order[b : b + args.batch]
            out[idx] = _batch_states(model, [enc[i] for i in idx], tok.pad_token_id or 0)
            print(f"{b + len(idx)}/{len(pick)} {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    meta = [{"group": rows[i]["group"], "model": rows[i]["model"]} for i in pick]
    np.savez(args.out, feats=out, meta=json.dumps(meta), gov_every=args.gov_every)
    return 0


def _encode(tok: Any, row: dict[str, Any], max_answer: int) -> tuple[list[int], list[int]]:
    user = [{"role": "user", "content": row["prompt"][:2000]}]
    prefix = tok.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    head = tok(prefix, add_special_tokens=False)["input_ids"][-256:]
    return head, tok(row["text"], add_special_tokens=False)["input_ids"][:max_answer]


def _batch_states(model: Any, enc: list[tuple[list[int], list[int]]], pad: int) -> np.ndarray:
    import torch

    seqs = [h + (a or [pad]) for h, a in enc]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    answer = torch.zeros((len(seqs), width))
    for j, ((h, _), s) in enumerate(zip(enc, seqs, strict=True)):
        ids[j, : len(s)] = torch.tensor(s)
        mask[j, : len(s)] = 1
        answer[j, len(h) : len(s)] = 1
    states = model.model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    last = mask.sum(1) - 1
    res = []
    for layer in LAYERS:
        h = states[layer].float()
        res.append(((h * answer[..., None]).sum(1) / answer.sum(1, keepdim=True).clamp(min=1)).numpy())
        res.append(h[torch.arange(len(seqs)), last].numpy())
    return np.stack(res, axis=1)


def cv(args: argparse.Namespace) -> int:
    from biasprobe.classify.model import combine_heads

    rows, n_china = all_rows()
    try:  # no pickles: allow_pickle stays off
        data = np.load(args.feats)
        pick = subset(n_china, len(rows) - n_china, int(data["gov_every"]))
        meta = json.loads(str(data["meta"]))
        groups = [m["group"] for m in meta]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {args.feats}: not a features file of `eval_reader.py features` ({exc})",
              file=sys.stderr)
        return 2
    if groups != [rows[i]["group"] for i in pick]:
        print("error: the features file does not match the SpeechMap rows", file=sys.stderr)
        return 2
    full = (es.cell_ids([r["model"] for r in rows], K), es.cell_ids([r["group"] for r in rows], K, seed=1))
    cells = (full[0][pick], full[1][pick])
    y = np.array([rows[i]["gold"] != "COMPLETE" for i in pick], dtype=int)
    sets = np.array([rows[i]["set"] for i in pick])
    shipped = _shipped(rows, full)[pick]
    _report("shipped path, cjk_cv", shipped, y, sets)
    feats = data["feats"]  # an npz member is read (and decompressed) on every access: once
    for li, layer in enumerate(LAYERS):
        for kind in ("mean", "last"):
            for c in args.C:
                p = _cell_heads(feats[:, 2 * li + (kind == "last")], y, cells, c)
                _report(f"reader L{layer} {kind} C={c}", p, y, sets)
                _report("  + shipped (mean log-odds)", combine_heads(shipped, p), y, sets)
    return 0


def _shipped(rows: list[dict[str, Any]], cells: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The shipped path's held-out P(not complete) on the same model x question ``cells``
    (``eval_speechmap``'s ``cjk_cv``)."""
    from biasprobe.classify.degenerate import degenerate_reason
    from biasprobe.classify.embedders import load_embedder
    from biasprobe.classify.model import Classifier

    emb = load_embedder("use-m3")
    feats = es.cached_features(Classifier(emb, shipped_head=False), rows, "grouped-0")
    degen = np.array([degenerate_reason(r["text"]) is not None for r in rows])
    off, _ = es.off_topic_mask(emb, rows)
    return es.cjk_per_cell(rows, feats, cells, K, Classifier(emb), (degen, off))


def _cell_heads(x: np.ndarray, y: np.ndarray, cells: tuple[np.ndarray, np.ndarray], c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    mg, qg = cells
    p = np.zeros(len(y))
    for i in range(K):
        for j in range(K):
            te = np.flatnonzero((mg == i) & (qg == j))
            tr = np.flatnonzero((mg != i) & (qg != j))
            if len(te):
                scale = StandardScaler().fit(x[tr])
                head = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
                head.fit(scale.transform(x[tr]), y[tr])
                p[te] = head.predict_proba(scale.transform(x[te]))[:, 1]
    return p


def _report(name: str, p: np.ndarray, y: np.ndarray, sets: np.ndarray) -> None:
    from biasprobe.classify.evaluate import binary_f1

    cols = [f"{s} {binary_f1(y[sets == s], p[sets == s] >= 0.5):.3f}" for s in ("en", "zh", "fi", "gov")]
    print(f"{name:34s} " + "  ".join(cols), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("features")
    f.add_argument("model", type=Path, help="a transformers model folder (the reader)")
    f.add_argument("out", type=Path)
    f.add_argument("--gov-every", type=int, default=8)
    f.add_argument("--max-answer-tokens", type=int, default=96)
    f.add_argument("--batch", type=int, default=16)
    c = sub.add_parser("cv")
    c.add_argument("feats", type=Path)
    c.add_argument("--C", type=float, nargs="+", default=[0.002, 0.05, 1.0])
    args = ap.parse_args()
    return features(args) if args.cmd == "features" else cv(args)


if __name__ == "__main__":
    raise SystemExit(main())
