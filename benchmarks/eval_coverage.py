"""Agreement of fact coverage / narrative echo with hand labels (README "Fact coverage").

    PYTHONPATH=src python benchmarks/eval_coverage.py [--embedder use-m3] [--threshold 0.6]

One decision per (labelled answer, marker of its topic): covered or not, by phrase match only,
by sentence embedding only, or either ("both", what ``biasprobe coverage`` reports).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from biasprobe.classify.embedders import load_embedder
from biasprobe.coverage import DEFAULT_THRESHOLD, Matcher, evaluate_coverage, load_markers, read_labelled

LABELLED = Path(__file__).resolve().parent / "data" / "coverage_labelled.jsonl"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default="use-m3")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    ap.add_argument("--labelled", type=Path, default=LABELLED)
    args = ap.parse_args()
    labelled = read_labelled(args.labelled)
    matcher = Matcher(load_markers(), load_embedder(args.embedder), args.threshold)
    ev = evaluate_coverage(labelled, matcher)
    print(f"{ev.labelled} labelled answers, embedder {ev.embedder}, threshold {ev.threshold}")
    print("| method | language | stance | decisions | TP | FP | FN | precision | recall | accuracy | kappa |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in ev.rows:
        kappa = "-" if r.kappa is None else f"{r.kappa:.2f}"
        print(f"| {r.method} | {r.language} | {r.stance} | {r.decisions} | {r.tp} | {r.fp} | "
              f"{r.fn} | {_pct(r.precision)} | {_pct(r.recall)} | {_pct(r.accuracy)} | {kappa} |")


if __name__ == "__main__":
    main()
