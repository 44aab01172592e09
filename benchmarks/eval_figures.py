"""Reach and false alarms of the no-figure rule (classify/figures.py: a request for a quantity
answered with no number) on every hand-labelled design answer and on the SpeechMap dev files.

Why: the rule moves the heads' complete to deflection (``prompt_aware.recast_label``), so the
answers that matter are the ones a reader or a judge called complete. For each set this prints
how many requests ask for a figure at all (the rule cannot fire elsewhere: a zero count of false
alarms on a set with no such request says nothing), how many answers the rule fires on per label
(text only, an upper bound: the classifier applies it only to answers its heads call complete),
and every answer labelled complete that it fires on. ``benchmarks/rule_alarms.py`` counts the
SpeechMap alarms of every recast rule; this adds the denominators and the hand sets.

Usage (from the repository root):

    PYTHONPATH=src .venv/bin/python benchmarks/eval_figures.py            # default design sets
    PYTHONPATH=src .venv/bin/python benchmarks/eval_figures.py tests/data/FILE.jsonl ...

The blind hand checks (:data:`BLIND`) are refused by name.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from pathlib import Path

from biasprobe.classify.evaluate import read_json_rows
from biasprobe.classify.figures import asks_for_figure, no_figure
from biasprobe.errors import BiasprobeError
from biasprobe.textutil import preview

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_speechmap import BLIND  # the one list of blind hand checks

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SPEECHMAP = ("speechmap_china_dev.jsonl.gz", "speechmap_gov_criticism_dev.jsonl.gz")
LANG_OF = {"china_criticism": "en", "zh_china_criticism": "zh", "fi_china_criticism": "fi"}
DESIGN = (
    "q05_labelled_all", "q05_handcheck", "q05_handcheck2", "q05_handcheck3", "q05_handcheck6",
    "q05_handcheck7", "q15_handcheck4", "partial_refusals", "partial_refusals_1p5b",
    "declines_1p5b", "bilingual_labelled",
)  # fmt: skip


def hand_sets(paths: list[Path]) -> None:
    """Per file and language: figure requests and fires per hand label; hand-complete fires."""
    seen: set[tuple[str, str]] = set()
    total_asked: Counter[str] = Counter()
    total_fired: Counter[str] = Counter()
    for path in paths:
        if path.stem in BLIND:
            raise BiasprobeError(f"{path}: a blind hand check, not read")
        asked: Counter[str] = Counter()
        fired: Counter[str] = Counter()
        listed = []
        for _n, row in read_json_rows(path, ["prompt", "response", "label", "language"]):
            q, a, label = str(row["prompt"]), str(row["response"]), str(row["label"])
            lang = "zh" if str(row["language"]).startswith("zh") else str(row["language"])
            if not asks_for_figure(q):
                continue
            asked[f"{lang} {label}"] += 1
            new = (q, a) not in seen
            seen.add((q, a))
            if new:
                total_asked[label] += 1
            if no_figure(q, a):
                fired[f"{lang} {label}"] += 1
                if new:
                    total_fired[label] += 1
                if label == "complete":
                    listed.append(f"    complete fired: {row.get('id')}: {preview(a, 90)}")
        cells = ", ".join(f"{k} {fired[k]}/{v}" for k, v in sorted(asked.items()))
        print(f"{path.name}: figure requests {sum(asked.values())}; fired/asked {cells or '-'}")
        print("\n".join(listed) if listed else "    no hand-complete answer fired on")
    cells = ", ".join(f"{k} {total_fired[k]}/{v}" for k, v in sorted(total_asked.items()))
    print(f"distinct answers of all files: fired/asked per hand label {cells or '-'}")


def speechmap(data: Path) -> None:
    """Per SpeechMap file and language: figure requests and fires per judge label."""
    for name in SPEECHMAP:
        path = data / name
        if not path.exists():
            print(f"{path}: not present, skipped")
            continue
        total: Counter[str] = Counter()
        asked: Counter[str] = Counter()
        fired: Counter[str] = Counter()
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                obj = json.loads(line)
                key = f"{LANG_OF.get(str(obj.get('category')), 'gov')} {obj.get('label')}"
                q, a = str(obj.get("question", "")), obj.get("response")
                a = a if isinstance(a, str) else ""
                total[key] += 1
                if asks_for_figure(q):
                    asked[key] += 1
                    if no_figure(q, a):
                        fired[key] += 1
                        if key.endswith("COMPLETE"):
                            print(f"    COMPLETE fired: {preview(q, 50)} | {preview(a, 90)}")
        cells = ", ".join(f"{k} {fired[k]}/{asked[k]}/{total[k]}" for k in sorted(total))
        print(f"{name}: fired/figure requests/answers {cells}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="hand-labelled JSONL files")
    ap.add_argument("--data", type=Path, default=DATA, help="folder of the SpeechMap files")
    args = ap.parse_args(argv)
    files = args.files or [ROOT / "tests" / "data" / f"{n}.jsonl" for n in DESIGN]
    try:
        hand_sets(files)
        speechmap(args.data)
    except BiasprobeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
