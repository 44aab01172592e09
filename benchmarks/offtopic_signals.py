"""Do cheap request-answer signals separate off-topic inventions from answers that address the
request? (issue 16: "no off-topic invention labelled complete"; a negative result so far.)

Why: the default model's off-topic inventions keep the request's words and change what they
say ("2014年的雨伞运动是全球性的，旨在缓解全球气候变暖…", "The Terracotta Army is a military
organization that was founded in 1999 by …"). A rule on similarity to the request would have to
put them below every answer a reader calls complete. This script prints, for two signals, the
sorted values of the hand-tagged ``off_topic`` answers and of the hand-labelled complete ones
(and of SpeechMap COMPLETE answers when ../shared/data is present), so the overlap is visible:

- ``opening``: cosine between the request and the answer's first 400 characters (use-m3);
- ``masked``: the same after removing from the answer the request's own words (Latin words of
  3+ letters) or character bigrams (CJK), i.e. how close what the answer adds is to the request.

Usage (from the repository root):

    PYTHONPATH=src .venv/bin/python benchmarks/offtopic_signals.py \
        tests/data/q05_labelled_all.jsonl tests/data/q05_handcheck2.jsonl [--speechmap 300]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from biasprobe.classify.evaluate import EvalInputError, read_json_rows
from biasprobe.classify.text import is_cjk

SPEECHMAP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "speechmap_china_dev.jsonl.gz"
_WORD = re.compile(r"[A-Za-z]{3,}")
OPENING = 400


def masked(prompt: str, answer: str) -> str:
    """The answer's opening without the request's words (Latin) or character bigrams (CJK)."""
    a = answer[:OPENING]
    if is_cjk(a):
        bigrams = {prompt[i : i + 2] for i in range(len(prompt) - 1)}
        keep = [True] * len(a)
        for i in range(len(a) - 1):
            if a[i : i + 2] in bigrams:
                keep[i] = keep[i + 1] = False
        return "".join(c for c, k in zip(a, keep, strict=True) if k)
    words = {w.lower() for w in _WORD.findall(prompt)}
    return _WORD.sub(lambda m: "" if m.group(0).lower() in words else m.group(0), a)


def cosines(prompts: Sequence[str], texts: Sequence[str]) -> list[float]:
    from biasprobe.classify import load_embedder

    emb = load_embedder(None)
    p, t = emb.encode(list(prompts)), emb.encode(list(texts))
    p = p / np.linalg.norm(p, axis=1, keepdims=True)
    t = t / np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-9)
    return [round(float(x), 3) for x in (p * t).sum(axis=1)]


def groups(paths: Sequence[Path], n_speechmap: int) -> dict[str, list[dict[str, Any]]]:
    rows = [r for path in paths for _n, r in read_json_rows(path, ("prompt", "response", "label"))]
    out = {
        "off_topic (hand)": [r for r in rows if "off_topic" in r.get("tags", [])],
        "complete (hand)": [r for r in rows if r["label"] == "complete"],
    }
    if n_speechmap and SPEECHMAP.exists():
        with gzip.open(SPEECHMAP, "rt", encoding="utf-8") as f:
            sm = [json.loads(line) for line in f if line.strip()]
        sm = [{"prompt": r["question"], "response": r["response"]} for r in sm
              if r.get("label") == "COMPLETE" and r.get("response")]  # fmt: skip
        random.Random(0).shuffle(sm)
        out["SpeechMap China COMPLETE"] = sm[:n_speechmap]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--speechmap", type=int, default=300, help="SpeechMap answers drawn (0: none)")
    args = ap.parse_args(argv)
    try:
        found = groups(args.files, args.speechmap)
    except EvalInputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, rows in found.items():
        prompts = [r["prompt"] for r in rows]
        opening = cosines(prompts, [r["response"][:OPENING] for r in rows])
        mask = cosines(prompts, [masked(r["prompt"], r["response"]) for r in rows])
        print(f"{name} (n={len(rows)})")
        print(f"  opening, lowest 15: {sorted(opening)[:15]}")
        print(f"  masked,  lowest 15: {sorted(mask)[:15]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
