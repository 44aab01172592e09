"""Draw the answers of the third hand check (tests/data/q05_handcheck3.jsonl), before labelling.

Why a third draw: in the round after classifier 0.4.1 the Chinese rules and the other-language
path are rewritten by developers who read the first two hand checks' disagreements, so
``q05_labelled_all.jsonl`` and ``q05_handcheck2.jsonl`` became design sets. This draw is the
blind set that measures that round: every answer of the full run ``q05-full`` (840 answers of the
default model to ``-p china-sensitive -p mirror -p controls``) whose probe id is in neither
file (496 left: 290 English, 206 Chinese). Same logic as ``draw_handcheck2.py`` with another
seed: probe ids sorted per language (English; Simplified and Traditional Chinese together), then
``rng = random.Random(SEED)``, ``rng.sample(english, 50)``, ``rng.sample(chinese, 50)``, each
sorted. The draw knows nothing of the answers or their labels (it reads ``responses.jsonl`` only).

The sixth hand check (``tests/data/q05_handcheck6.jsonl``) is the same draw with ``--seed 1606``,
excluding the third file too (the default seed 1603 leaves the third draw unchanged): the third
set had become a design set, so the next blind set of the same run needed a fresh seed.

Usage (prints JSON lines without labels; the labeller adds ``label``, ``tags`` and ``note``)::

    python benchmarks/draw_handcheck3.py RUN_DIR tests/data/q05_labelled_all.jsonl \\
        tests/data/q05_handcheck2.jsonl > draw.jsonl
    python benchmarks/draw_handcheck3.py --seed 1606 RUN_DIR tests/data/q05_labelled_all.jsonl \\
        tests/data/q05_handcheck2.jsonl tests/data/q05_handcheck3.jsonl > draw6.jsonl
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SEED = 1603  # issue 16, third hand check


def _draw2() -> Any:
    """``draw_handcheck2.py``: the same draw and printing, with its own seed."""
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import draw_handcheck2

    return draw_handcheck2


def draw(pool: Iterable[tuple[str, str]], excluded: set[str], seed: int = SEED) -> list[str]:
    """The drawn probe ids from (probe id, language) pairs: English first, then Chinese."""
    return list(_draw2().draw(pool, excluded, seed=seed))


def excluded_ids(paths: Iterable[Path]) -> set[str]:
    """The ``id`` of every row of the given JSON-lines files (``draw_handcheck2.py``'s)."""
    ids: set[str] = _draw2().excluded_ids(paths)
    return ids


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="the q05-full run folder")
    ap.add_argument("labelled", type=Path, nargs="+", help="files whose ids are excluded")
    ap.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED}: the third draw)")
    args = ap.parse_args()
    draw2 = _draw2()

    def body() -> None:
        draw2.print_draw(args.run, excluded_ids(args.labelled), seed=args.seed)

    return int(draw2.report_errors(body))


if __name__ == "__main__":
    raise SystemExit(main())
