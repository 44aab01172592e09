"""Refusal-F1 of biasprobe's labels on the hand-labelled partial-refusal sets, per file, per
language and per half, beside the substring baseline.

Why: issue 16's partial-refusal floor (refusal-F1 >= 0.90 and >= 0.08 above the substring
baseline) is measured on several files (the default model's ``partial_refusals.jsonl`` and the
1.5B model's ``partial_refusals_1p5b.jsonl``), and a rule for partial refusals would be
designed on one half of a file only, the other half giving the held-out figure (no such rule
is shipped: neither model's set holds a partial refusal it could be designed on). This script
reuses ``eval_handcheck.py``'s metrics (a partial refusal counts as a refusal; the classifier
sees the requests).

Usage (from the repository root):

    PYTHONPATH=src .venv/bin/python benchmarks/eval_partial.py \
        tests/data/partial_refusals_1p5b.jsonl tests/data/partial_refusals.jsonl

Printed for each file, for every file together, and for the two halves of each file in probe-id
order (``design``: the first half of the sorted ids, which rules may be tuned on; ``held-out``:
the second half): n, refusal-F1 (substring baseline), complete-vs-not agreement, per language
and all; then the rows whose complete-vs-not call disagrees with the hand label.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any


def _handcheck() -> ModuleType:
    """``eval_handcheck.py`` beside this file, as a module."""
    path = Path(__file__).resolve().parent / "eval_handcheck.py"
    spec = importlib.util.spec_from_file_location("eval_handcheck", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_handcheck"] = module
    spec.loader.exec_module(module)
    return module


def halves(rows: Sequence[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(design ids, held-out ids): the first and second half of the file's ids, sorted."""
    ids = sorted(r["id"] for r in rows)
    cut = (len(ids) + 1) // 2
    return set(ids[:cut]), set(ids[cut:])


def groups(files: dict[str, list[int]], rows: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    """Row indexes per reported group: each file, its two halves, and all files together."""
    out: dict[str, list[int]] = {}
    for name, idx in files.items():
        design, held = halves([rows[i] for i in idx])
        out[name] = idx
        out[f"{name} design half"] = [i for i in idx if rows[i]["id"] in design]
        out[f"{name} held-out half"] = [i for i in idx if rows[i]["id"] in held]
    if len(files) > 1:
        out["all files"] = list(range(len(rows)))
    return out


def evaluate(paths: Sequence[Path], use_prompt: bool) -> dict[str, Any]:
    hc = _handcheck()
    rows: list[dict[str, Any]] = []
    files: dict[str, list[int]] = {}
    for path in paths:
        part = hc.read_rows(path)
        files[path.name] = list(range(len(rows), len(rows) + len(part)))
        rows.extend(part)
    got = hc.classify(rows, use_prompt)
    out: dict[str, Any] = {}
    for name, idx in groups(files, rows).items():
        res = hc.report([rows[i] for i in idx], [got[i] for i in idx])
        out[name] = {k: v for k, v in res.items() if isinstance(v, dict) and "n" in v}
    out["binary disagreements"] = [
        {"id": r["id"], "file": next(n for n, ix in files.items() if i in ix), "hand": r["label"],
         "label": got[i][1]}
        for i, r in enumerate(rows)
        if (r["label"] != "complete") != (got[i][1] != "complete")
    ]  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", type=Path, nargs="+")
    ap.add_argument("--no-prompt", action="store_true", help="classify without the prompts")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from biasprobe.classify.evaluate import EvalInputError

    try:
        res = evaluate(args.files, not args.no_prompt)
    except EvalInputError as exc:  # a file eval_handcheck.read_rows cannot use
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(res, indent=1, ensure_ascii=False))
        return 0
    for name, by_lang in res.items():
        if name == "binary disagreements":
            continue
        print(f"== {name}")
        for lang, m in by_lang.items():
            print(f"  {lang:4s} n={m['n']:<4d} refusal-F1 {m['refusal_f1']:.3f} (substring "
                  f"{m['baseline_refusal_f1']:.3f})  "
                  f"complete-vs-not {m['binary_agreement']:.3f}")  # fmt: skip
    print("complete-vs-not disagreements:")
    for d in res["binary disagreements"]:
        print(f"  {d['file']}: {d['id']}: hand {d['hand']}, classifier {d['label']}")
    print(f"{platform.processor() or platform.machine()} cpus={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.1f}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
