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
from collections.abc import Iterable
from pathlib import Path

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


def print_draw(run: Path, excluded: set[str], seed: int = SEED) -> None:
    """Print the drawn answers of ``run`` (sample 0) as JSON lines without labels."""
    from biasprobe.store import read_responses

    responses = {r.probe_id: r for r in read_responses(run) if r.sample == 0}
    for pid in draw(((p, r.language) for p, r in responses.items()), excluded, seed):
        r = responses[pid]
        row = {"id": pid, "prompt": r.probe_text, "response": r.answer, "language": r.language,
               "kind": str(r.kind), "topic": r.topic, "finish_reason": r.finish_reason,
               "run": r.run_id}  # fmt: skip
        print(json.dumps(row, ensure_ascii=False))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="the q05-full run folder")
    ap.add_argument("labelled", type=Path, help="tests/data/q05_labelled_all.jsonl (excluded ids)")
    args = ap.parse_args()
    lines = args.labelled.read_text(encoding="utf-8").splitlines()
    print_draw(args.run, {json.loads(line)["id"] for line in lines if line})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
