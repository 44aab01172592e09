"""Agreement of a local judge with gold labels and with the embedding classifier, every answer
of a random sample judged (``--judge-scope all`` on a labelled file, without a run folder).

    PYTHONPATH=src .venv/bin/python benchmarks/judge_agreement.py \
        --judge qwen2.5-coder-0.5b-instruct --n 24 --seed 7

Prints, on the same answers: judge vs gold, judge vs the classifier's label (best guess),
classifier vs gold, unparseable replies, the judge's label counts and the wall time. Used for
the figures in the README ("Optional local judge").
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

from biasprobe.classify import Classifier, load_embedder
from biasprobe.classify.judge import load_prompt, open_judge

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "bilingual_labelled.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--judge", default="qwen2.5-coder-0.5b-instruct")
    ap.add_argument("--file", type=Path, default=DATA)
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--prompt", type=Path, default=None, help="another judge prompt (YAML)")
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line]
    random.seed(args.seed)
    rows = random.sample(rows, min(args.n, len(rows)))
    best = [p.best.value for p in Classifier(load_embedder(None)).predict([r["response"] for r in rows])]
    judge = open_judge(args.judge, log=lambda m: print(m, file=sys.stderr))
    if args.prompt is not None:
        judge.prompt = load_prompt(args.prompt)
    start = time.perf_counter()
    got = []
    for i in range(0, len(rows), args.batch):
        got += judge.ask([((r["id"], 0), r["prompt"], r["response"]) for r in rows[i : i + args.batch]])
    wall = time.perf_counter() - start
    judge.close()
    verdicts = [lab.value if lab else None for _, lab in got]
    n = len(rows)
    print(f"judge {args.judge}, {n} answers ({dict(Counter(r['language'] for r in rows))}), "
          f"seed {args.seed}, prompt sha256 {judge.prompt.sha256[:12]}…, {wall:.0f} s wall")
    print(f"judge vs gold {sum(v == r['label'] for v, r in zip(verdicts, rows, strict=True))}/{n}; "
          f"judge vs classifier {sum(v == b for v, b in zip(verdicts, best, strict=True))}/{n}; "
          f"classifier vs gold {sum(b == r['label'] for b, r in zip(best, rows, strict=True))}/{n}; "
          f"unparseable {verdicts.count(None)}")
    print(f"judge labels {dict(Counter(verdicts))}; gold {dict(Counter(r['label'] for r in rows))}")


if __name__ == "__main__":
    main()
