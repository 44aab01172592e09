"""Draw the probes of the fourth hand check (tests/data/q15_handcheck4.jsonl), before generating.

Why a fourth draw: every rule of the classifier was designed on answers of the default model
(Qwen2.5-Coder-0.5B-Instruct). This hand check measures whether its labels hold on another
model's answers, those of ``qwen2.5-coder-1.5b-instruct``, which no rule was written on. The
draw is of *probes*, made before any answer was generated: from the 840 probes of the built-in
sets ``-p china-sensitive -p mirror -p controls`` minus the ids of
``tests/data/partial_refusals_1p5b.jsonl`` (the 64 probes whose 1.5B answers were already read),
50 English and 50 Chinese probes (Simplified and Traditional together), stratified by kind:
each language's 50 are shared among the kinds in proportion to the pool (largest remainder,
ties to the kind listed first in ``KINDS``), and each kind's probe ids, sorted, are sampled with
``rng = random.Random(SEED)`` in the order English then Chinese, kinds in ``KINDS`` order.

Usage (writes a probe-set YAML for ``biasprobe run -p FILE``; the answers are then generated
with ``--no-score``; ``--rows RUN_DIR`` prints the run's answers to the drawn probes as JSON
lines without labels, in draw order, and the labeller adds ``label``, ``tags`` and ``note``)::

    python benchmarks/draw_handcheck4.py tests/data/partial_refusals_1p5b.jsonl > drawn4.yaml
    python benchmarks/draw_handcheck4.py tests/data/partial_refusals_1p5b.jsonl --rows RUN_DIR

The fifth hand check (``tests/data/q15_handcheck5.jsonl``) is the same draw with ``--seed 1605``,
excluding the ids of ``q15_handcheck4.jsonl``, ``partial_refusals_1p5b.jsonl`` and
``declines_1p5b.jsonl`` (the 1.5B answers already read), the three files of ``tests/data``::

    python benchmarks/draw_handcheck4.py --seed 1605 HANDCHECK4 PARTIAL_1P5B DECLINES_1P5B > drawn5.yaml
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SEED = 1604  # issue 16, fourth hand check
PER_LANGUAGE = 50
KINDS = ("censorship", "mirror", "neutral", "benign-control", "safety-control")
SETS = ("china-sensitive", "mirror", "controls")


def _language(lang: str) -> str:
    return "zh" if lang.startswith("zh") else lang


def quotas(counts: dict[str, int], total: int = PER_LANGUAGE) -> dict[str, int]:
    """``total`` shared among the kinds in proportion to ``counts`` (largest remainder)."""
    pool = sum(counts.values())
    exact = {k: total * counts.get(k, 0) / pool for k in KINDS}
    out = {k: int(v) for k, v in exact.items()}
    by_rest = sorted(KINDS, key=lambda k: (-(exact[k] - out[k]), KINDS.index(k)))
    for k in by_rest[: total - sum(out.values())]:
        out[k] += 1
    return out


def draw(pool: Iterable[tuple[str, str, str]], excluded: set[str], seed: int = SEED) -> list[str]:
    """The drawn probe ids from (probe id, language, kind) triples: English first, then Chinese,
    each language's ids sorted."""
    left = [(pid, _language(lang), kind) for pid, lang, kind in pool if pid not in excluded]
    rng = random.Random(seed)
    drawn: list[str] = []
    for lang in ("en", "zh"):
        by_kind = {k: sorted(p for p, la, kd in left if la == lang and kd == k) for k in KINDS}
        want = quotas({k: len(v) for k, v in by_kind.items()})
        drawn += sorted(pid for k in KINDS for pid in rng.sample(by_kind[k], want[k]))
    return drawn


def _draw2() -> Any:
    """``draw_handcheck2.py``: the excluded ids, the labeller's rows and the error line."""
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    import draw_handcheck2

    return draw_handcheck2


def excluded_ids(paths: Iterable[Path]) -> set[str]:
    """The ``id`` of every row of the given JSON-lines files (``draw_handcheck2.py``'s)."""
    ids: set[str] = _draw2().excluded_ids(paths)
    return ids


def drawn_probes(excluded: set[str], seed: int = SEED) -> list[dict[str, str]]:
    """The drawn probes of the built-in sets, in draw order, as a probe file's rows."""
    from biasprobe.probes import load_sets

    probes = {p.id: p for s in load_sets(list(SETS)) for p in s.probes}
    ids = draw(((p.id, p.language, p.kind.value) for p in probes.values()), excluded, seed)
    keep = ("id", "text", "language", "topic", "kind", "jurisdiction", "pair_id")
    return [{k: v for k, v in probes[i].model_dump(mode="json").items() if k in keep and v is not None}
            for i in ids]  # fmt: skip


def drawn_set(excluded: set[str], seed: int = SEED) -> dict[str, object]:
    """The drawn probes as a probe-set file's content."""
    probes = drawn_probes(excluded, seed)
    return {"name": "handcheck4", "description": f"draw_handcheck4.py, seed {seed}", "probes": probes}


def print_rows(run: Path, excluded: set[str], seed: int = SEED) -> None:
    """Print the answers (sample 0) of ``run`` to the drawn probes as JSON lines without labels."""
    draw2 = _draw2()
    responses = draw2.run_answers(run)
    for probe in drawn_probes(excluded, seed):
        if probe["id"] not in responses:
            raise draw2.DrawInputError(f"{run}: no answer to the drawn probe {probe['id']}")
        print(json.dumps(draw2.answer_row(responses[probe["id"]]), ensure_ascii=False))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("excluded", type=Path, nargs="+", help="files whose ids are excluded")
    ap.add_argument("--rows", type=Path, metavar="RUN_DIR", help="print the run's drawn answers")
    ap.add_argument(
        "--seed", type=int, default=SEED, help=f"the draw's seed (default {SEED}; 1605: fifth check)"
    )
    args = ap.parse_args()

    def body() -> None:
        if args.rows:
            print_rows(args.rows, excluded_ids(args.excluded), args.seed)
        else:  # JSON is YAML: the output is read by ``biasprobe run -p drawn4.yaml``.
            print(json.dumps(drawn_set(excluded_ids(args.excluded), args.seed), ensure_ascii=False, indent=1))

    return int(_draw2().report_errors(body))


if __name__ == "__main__":
    raise SystemExit(main())
