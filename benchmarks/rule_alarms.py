"""False alarms of the prompt-aware recast rules (classify/framing.py: ``official_framing`` and
``official_items``; classify/verdict.py: ``official_verdict``; classify/thin.py: ``thin_answer``;
the off-topic rule classify/kind_recast.py: ``event_recast``) on answers judged or labelled
complete.

Why: a rule that moves answers off ``complete`` is only worth having if it leaves real answers
alone. Each rule is applied to (request, answer) pairs on its own, text only (no classifier:
the count is what the rule *could* move, an upper bound, since the classifier applies it only
to answers its heads call complete):

* the SpeechMap dev files (``../shared/data``): answers fired on, per set (en / zh / fi of the
  China file, ``gov`` = the US/EU/Russia file) and judge label, with every COMPLETE answer fired
  on listed;
* with ``--run DIR`` (repeatable): the answers of a biasprobe run folder fired on, per probe
  kind, each listed with its stored label (``scores.jsonl``, if any), so the label changes of a
  rescoring can be read off; ``--exclude FILE`` drops the ids (``id`` field, nothing else read)
  of a JSONL file, e.g. a blind hand check.

Usage (from the repository root):

    PYTHONPATH=src .venv/bin/python benchmarks/rule_alarms.py \
        --run /path/to/q05-full --exclude tests/data/q05_handcheck3.jsonl
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from biasprobe.classify.evaluate import read_json_rows
from biasprobe.classify.framing import official_framing, official_items
from biasprobe.classify.kind_recast import event_recast
from biasprobe.classify.thin import thin_answer
from biasprobe.classify.verdict import official_verdict
from biasprobe.errors import BiasprobeError
from biasprobe.store import read_responses, read_scores
from biasprobe.textutil import preview

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FILES = ("speechmap_china_dev.jsonl.gz", "speechmap_gov_criticism_dev.jsonl.gz")
LANG_OF = {"china_criticism": "en", "zh_china_criticism": "zh", "fi_china_criticism": "fi"}
RULES: dict[str, Callable[[str, str], bool]] = {
    "official_framing": official_framing, "official_items": official_items,
    "official_verdict": official_verdict,
    "thin_answer": thin_answer, "event_recast": event_recast,
}  # fmt: skip


def _short(text: str, n: int = 90) -> str:
    """Model output or a request, escaped, on one line, cut to ``n`` characters."""
    return preview(text, n)


SpeechMapAnswer = tuple[tuple[str, str], str, str, dict[str, Any]]


def speechmap_answers(data: Path) -> Iterator[tuple[str, Iterator[SpeechMapAnswer]]]:
    """Each SpeechMap dev file under ``data`` (one line said for a missing one): its name and its
    answers as ((set, judge label), request, answer, row); set = en / zh / fi of the China file,
    ``gov`` for the US/EU/Russia file. Shared with ``loop_alarms.py``."""
    for name in FILES:
        path = data / name
        if not path.exists():
            print(f"{path}: not present, skipped")
            continue
        yield name, _answers_of(path)


def _answers_of(path: Path) -> Iterator[SpeechMapAnswer]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            key = (LANG_OF.get(str(obj.get("category")), "gov"), str(obj.get("label")))
            a = obj.get("response")
            yield key, str(obj.get("question", "")), a if isinstance(a, str) else "", obj


def speechmap(data: Path) -> None:
    for name, answers in speechmap_answers(data):
        fired: dict[str, Counter[tuple[str, str]]] = {rule: Counter() for rule in RULES}
        total: Counter[tuple[str, str]] = Counter()
        listed: list[str] = []
        for key, q, a, obj in answers:
            total[key] += 1
            for rule, fn in RULES.items():
                if fn(q, a):
                    fired[rule][key] += 1
                    if key[1] == "COMPLETE":
                        who = f"{rule} {key[0]} {obj.get('model')}"
                        listed.append(f"    {who}: {_short(q, 50)} | {_short(a)}")
        print(f"== {name}")
        for s in sorted({k[0] for k in total}):
            cells = []
            for rule in RULES:
                got = {lab: fired[rule][(s, lab)] for lab in ("COMPLETE", "EVASIVE", "DENIAL")}
                cells.append(f"{rule} " + " ".join(f"{lab} {got[lab]}/{total[(s, lab)]}" for lab in got))
            print(f"  {s:4} " + "; ".join(cells))
        print("\n".join(listed) if listed else "  no COMPLETE answer fired on")


def run(path: Path, exclude: set[str]) -> None:
    stored: dict[tuple[str, int], str] = {}
    if (path / "scores.jsonl").exists():
        stored = {key: s.label.value for key, s in read_scores(path).items()}
    print(f"== run {path}")
    counts: Counter[tuple[str, str]] = Counter()
    for r in read_responses(path):
        if r.probe_id in exclude:
            continue
        for rule, fn in RULES.items():
            if fn(r.probe_text, r.answer):
                counts[(rule, r.kind)] += 1
                label = stored.get((r.probe_id, r.sample), "?")
                print(f"  {rule} {r.kind} {r.probe_id} [{label}]: {_short(r.answer)}")
    for (rule, kind), n in sorted(counts.items()):
        print(f"  total {rule} {kind}: {n}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA, help="folder of the SpeechMap files")
    ap.add_argument("--run", type=Path, action="append", default=[], help="a run folder")
    ap.add_argument("--exclude", type=Path, help="JSONL file whose ids are left out of runs")
    args = ap.parse_args()
    try:
        rows = read_json_rows(args.exclude, ["id"]) if args.exclude else []
        exclude = {str(obj["id"]) for _, obj in rows}
        for path in args.run:
            if not path.is_dir():
                raise BiasprobeError(f"{path}: no such run folder")
        speechmap(args.data)
        for path in args.run:
            run(path, exclude)
    except BiasprobeError as exc:  # a bad --exclude file, run folder or run file: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
