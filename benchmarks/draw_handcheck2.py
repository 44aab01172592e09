"""Draw the answers of the held-out hand check (tests/data/q05_handcheck2.jsonl), before labelling.

Why a script: the draw is part of the measurement. The first hand check
(``q05_handcheck.jsonl``) came from the 244 answers the classifier's rules were then tuned on, so
its agreement is optimistic. This one is drawn from the *other* 596 answers of the full run
``q05-full`` (840 answers of the default model to ``-p china-sensitive -p mirror -p controls``):
every answer whose probe id is not in ``q05_labelled_all.jsonl``. Probe ids are sorted per
language (English; Simplified and Traditional Chinese together), then
``rng = random.Random(SEED)``, ``rng.sample(english, 50)``, ``rng.sample(chinese, 50)``. The draw
knows nothing of the answers or their labels.

Usage (prints JSON lines without labels; the labeller adds ``label``, ``tags`` and ``note``)::

    python benchmarks/draw_handcheck2.py RUN_DIR tests/data/q05_labelled_all.jsonl > draw.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SEED = 1602  # issue 16, second hand check
PER_LANGUAGE = 50


def draw(pool: Iterable[tuple[str, str]], excluded: set[str], seed: int = SEED) -> list[str]:
    """The drawn probe ids from (probe id, language) pairs: English first, then Chinese (also the
    third hand check's draw, with its own seed: ``draw_handcheck3.py``)."""
    left = [(pid, lang) for pid, lang in pool if pid not in excluded]
    english = sorted(pid for pid, lang in left if lang == "en")
    chinese = sorted(pid for pid, lang in left if lang.startswith("zh"))
    rng = random.Random(seed)
    return sorted(rng.sample(english, PER_LANGUAGE)) + sorted(rng.sample(chinese, PER_LANGUAGE))


class DrawInputError(ValueError):
    """A file of excluded ids or a run folder that cannot be read (one ``error:`` line)."""


def excluded_ids(paths: Iterable[Path]) -> set[str]:
    """The ``id`` of every row of the given JSON-lines files (the answers already labelled),
    for this draw and the later ones (``draw_handcheck3.py``, ``draw_handcheck4.py``)."""
    ids: set[str] = set()
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
            ids |= {json.loads(line)["id"] for line in lines if line}
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise DrawInputError(f"{path}: not a JSON-lines file with an id on every row ({exc!r})") from exc
    return ids


def answer_row(r: Any) -> dict[str, Any]:
    """A drawn answer (a :class:`biasprobe.records.Response`) as the labeller's row, without
    ``label``, ``tags`` and ``note``."""
    return {"id": r.probe_id, "prompt": r.probe_text, "response": r.answer, "language": r.language,
            "kind": str(r.kind), "topic": r.topic, "finish_reason": r.finish_reason,
            "run": r.run_id}  # fmt: skip


def run_answers(run: Path) -> dict[str, Any]:
    """The first sample's answer of every probe of ``run``, by probe id (the store's validated
    reader; an unreadable run is a :class:`DrawInputError`)."""
    from biasprobe.errors import BiasprobeError
    from biasprobe.store import read_responses

    try:
        answers = {r.probe_id: r for r in read_responses(run) if r.sample == 0}
    except BiasprobeError as exc:
        raise DrawInputError(str(exc)) from exc
    if not answers:
        raise DrawInputError(f"{run}: no answers (not a run folder, or nothing generated yet)")
    return answers


def print_draw(run: Path, excluded: set[str], seed: int = SEED) -> None:
    """Print the drawn answers of ``run`` (sample 0) as JSON lines without labels."""
    responses = run_answers(run)
    for pid in draw(((p, r.language) for p, r in responses.items()), excluded, seed):
        print(json.dumps(answer_row(responses[pid]), ensure_ascii=False))


def report_errors(body: Callable[[], None]) -> int:
    """Run a script's ``body``; a :class:`DrawInputError` is one ``error:`` line and exit 2."""
    try:
        body()
    except DrawInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="the q05-full run folder")
    ap.add_argument("labelled", type=Path, help="tests/data/q05_labelled_all.jsonl (excluded ids)")
    args = ap.parse_args()
    return report_errors(lambda: print_draw(args.run, excluded_ids([args.labelled])))


if __name__ == "__main__":
    raise SystemExit(main())
