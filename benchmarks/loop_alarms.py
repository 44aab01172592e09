"""What the loops8 loop rules (classify/degenerate.py: ``thrice_loop``, a passage said three
times; ``cut_tail_loop``, a 4-12 character unit said four times at the token limit) fire on,
and what they add to the older degenerate rules.

Why: a loop rule turns any answer it fires on into a deflection, so it is only worth having if
it leaves the answers readers or judges passed alone. Text only, no classifier (an upper bound
on the label changes):

* the SpeechMap dev files (``../shared/data``): answers fired on per set (en / zh / fi of the
  China file, ``gov`` = the US/EU/Russia file) and judge label, ``new`` = no older rule calls
  the answer degenerate, with every COMPLETE answer fired on listed;
* hand-labelled files given as arguments (rows with ``id``, ``response``, ``label`` or
  ``slant_label``; a row
  without ``response``, as in the second labellers' files, takes the response of the same id in
  a file given before it): each answer fired on, with its hand label and tags, and the count of
  hand-labelled complete answers fired on.

Usage (from the repository root):

    PYTHONPATH=src .venv/bin/python benchmarks/loop_alarms.py tests/data/q05_handcheck7.jsonl \\
        tests/data/handcheck7_relabel.jsonl
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from biasprobe.classify import degenerate
from biasprobe.classify.evaluate import read_json_rows
from biasprobe.errors import BiasprobeError
from biasprobe.textutil import preview

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rule_alarms import speechmap_answers  # the SpeechMap reader both alarm scripts share

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
RULES: dict[str, Callable[[str], bool]] = {
    "thrice_loop": degenerate.thrice_loop, "cut_tail_loop": degenerate.cut_tail_loop,
}  # fmt: skip


def older_reason(text: str) -> str | None:
    """:func:`degenerate.degenerate_reason` without the loops8 rules (the module's functions
    replaced for the call, then restored)."""
    saved = {name: getattr(degenerate, name) for name in RULES}
    try:
        for name in RULES:
            setattr(degenerate, name, lambda _t: False)
        return degenerate.degenerate_reason(text)
    finally:
        for name, fn in saved.items():
            setattr(degenerate, name, fn)


def speechmap(data: Path) -> None:
    for name, answers in speechmap_answers(data):
        fired: Counter[tuple[str, str, str, bool]] = Counter()  # rule, set, label, new
        total: Counter[tuple[str, str]] = Counter()
        listed: list[str] = []
        spent = 0.0
        for key, _q, a, obj in answers:
            total[key] += 1
            for rule, fn in RULES.items():
                start = time.perf_counter()
                hit = fn(a)
                spent += time.perf_counter() - start
                if not hit:
                    continue
                new = older_reason(a) is None
                fired[(rule, *key, new)] += 1
                if key[1] == "COMPLETE":
                    who = f"{rule} {key[0]} {'new' if new else 'old'} {obj.get('model')}"
                    listed.append(f"    {who}: {preview(a, 100)}")
        n = sum(total.values())
        print(f"== {name} ({n} answers; both rules {1000 * spent / max(n, 1):.3f} ms per answer)")
        for s in sorted({k[0] for k in total}):
            cells = []
            for rule in RULES:
                got = [f"{lab} {fired[(rule, s, lab, True)] + fired[(rule, s, lab, False)]}"
                       f" (new {fired[(rule, s, lab, True)]})/{total[(s, lab)]}"
                       for lab in ("COMPLETE", "EVASIVE", "DENIAL")]
                cells.append(f"{rule} " + " ".join(got))
            print(f"  {s:4} " + "; ".join(cells))
        print("\n".join(listed) if listed else "  no COMPLETE answer fired on")


def hand_files(paths: list[Path]) -> None:
    responses: dict[str, str] = {}
    for path in paths:
        rows = [obj for _n, obj in read_json_rows(path, ["id"])]
        complete: Counter[tuple[str, bool]] = Counter()
        print(f"== {path.name} ({len(rows)} answers)")
        for obj in rows:
            rid = str(obj["id"])
            text = obj.get("response")
            if isinstance(text, str):
                responses[rid] = text
            elif rid in responses:
                text = responses[rid]
            else:
                raise BiasprobeError(f"{path}: {rid} has no response and no earlier file holds it")
            label = str(obj.get("label") or f"slant:{obj.get('slant_label')}")
            for rule, fn in RULES.items():
                if fn(text):
                    new = older_reason(text) is None
                    tags = ",".join(obj.get("tags") or [])
                    print(f"  {rule} {'new' if new else 'old'} {rid} hand {label} [{tags}]:"
                          f" {preview(text, 70)}")
                    if label == "complete":
                        complete[(rule, new)] += 1
        for rule in RULES:
            print(f"  {rule}: hand-complete fired on {complete[(rule, True)] + complete[(rule, False)]}"
                  f" (new {complete[(rule, True)]})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", type=Path, nargs="*", help="hand-labelled JSONL files")
    ap.add_argument("--data", type=Path, default=DATA, help="folder of the SpeechMap files")
    ap.add_argument("--no-speechmap", action="store_true", help="the hand-labelled files only")
    args = ap.parse_args()
    try:
        if not args.no_speechmap:
            speechmap(args.data)
        hand_files(args.files)
    except BiasprobeError as exc:  # a bad file: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
