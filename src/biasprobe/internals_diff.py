"""Internals in ``diff`` and ``report`` (issue 20): how two runs' refusal signals moved.

When both runs have ``internals.jsonl`` the diff gains a typed
:class:`~biasprobe.results.InternalsChange`, built only from stored data (no model is loaded):

- **Shared axis** (``basis`` "shared"): the two passes used one direction (the same hash in
  their headers), which is how ``biasprobe internals compute B --direction-from A`` measures a
  fine-tune or update on A's axis (the compute step refuses a direction of another shape, so
  this only happens for one architecture). The projection shift is then in raw units at that
  direction's best layer. A stored projection cannot be moved onto another axis afterwards (only
  a few layers' scalars are kept, not the hidden states), so without ``--direction-from`` the diff
  falls back to the next case and says how to get the shared axis.
- **Own directions** (``basis`` "own"; models of different shapes, or passes on different
  directions): each run on its own direction at its own best layer, projections standardised
  (z over that run's paired answers), so a topic's shift says how it moved *relative to the
  other prompts*; each side also gets its separation AUROCs.
- ``cosine``: per recorded layer, the cosine between the two runs' own directions
  (``internals-direction.json``, which ``compute`` writes whenever the run has both censorship
  probes and controls, also under ``--direction-from``); None for different shapes.
- The first-token refusal probability change, in both cases.

Statistics, as ``diff`` does for the slant score: answers are paired by probe and sample, the
prompt is the unit (samples averaged), the mean change gets a 95% paired bootstrap interval and
a paired sign-flip permutation p (:mod:`biasprobe.stats`), adjusted (Holm or BH) across the
rows of each table ("all" and the topics).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from biasprobe.diff import ScoredRun
from biasprobe.errors import RunStoreError
from biasprobe.internals import (
    CENSORED_KINDS,
    CONTROL_KINDS,
    DIRECTION,
    INTERNALS,
    Direction,
    InternalsHeader,
    InternalsRecord,
    auroc,
    load_direction,
    read_internals,
)
from biasprobe.labels import is_censored
from biasprobe.results import InternalsChange, InternalsShift, InternalsSide
from biasprobe.stats import (
    ALPHA,
    Correction,
    adjust_pvalues,
    paired_bootstrap_ci,
    rnd,
    sign_flip_pvalue,
)

Pair = tuple[InternalsRecord, InternalsRecord]
SHARED_HOWTO = ("for a shift on one axis (same architecture), run `biasprobe internals compute "
                "B --direction-from A` and diff again")


def has_internals(run: ScoredRun) -> bool:
    """Whether the run has an ``internals.jsonl`` entry (anything by that name: one that is not
    a regular file is refused when read, not taken for none)."""
    return os.path.lexists(run.run_dir / INTERNALS)


def internals_change(a: ScoredRun, b: ScoredRun, *, correction: Correction = "holm",
                     other_question: Collection[tuple[str, int]] = ()
                     ) -> InternalsChange | None:
    """The internals section of ``diff A B``; None unless both runs have internals. Answers
    whose (prompt id, sample) is in ``other_question`` (the prompt text differs between the
    runs: :func:`biasprobe.diff.other_question_keys`) are not paired."""
    if not (has_internals(a) and has_internals(b)):
        return None
    ha, recs_a = read_internals(a.run_dir)
    hb, recs_b = read_internals(b.run_dir)
    da, db = _own_direction(a.run_dir, ha), _own_direction(b.run_dir, hb)
    in_b = {(r.probe_id, r.sample): r for r in recs_b}
    matched = [(x, in_b[key]) for x in recs_a if (key := (x.probe_id, x.sample)) in in_b]
    pairs = [(x, y) for x, y in matched if (x.probe_id, x.sample) not in other_question]
    shared = ha.direction_sha256 == hb.direction_sha256
    va = [x.projection[str(ha.best_layer)] for x, _ in pairs]
    vb = [y.projection[str(hb.best_layer)] for _, y in pairs]
    if not shared:
        va, vb = standardise(va), standardise(vb)
    notes = [f"{len(recs_a) - len(matched)} answers of A and {len(recs_b) - len(matched)} of B "
             "without a partner left out"] if len(matched) < max(len(recs_a), len(recs_b)) else []
    if len(pairs) < len(matched):
        notes.append(f"{len(matched) - len(pairs)} pairs whose prompt text differs (another "
                     "question under the same id) left out")
    if not pairs:
        notes.append("no answer is in both runs' internals: nothing to compare")
    return InternalsChange(
        basis="shared" if shared else "own",
        basis_note=_basis_note(ha, shared, da, db),
        layer_a=ha.best_layer, layer_b=hb.best_layer,
        cosine=_cosine(da, db, ha.layers, hb.layers),
        a=_side(a, ha, da, [x for x, _ in pairs]), b=_side(b, hb, db, [y for _, y in pairs]),
        n_pairs=len(pairs),
        projection=_shifts(pairs, va, vb, correction),
        refusal_prob=_shifts(pairs, [x.refusal_prob for x, _ in pairs],
                             [y.refusal_prob for _, y in pairs], correction),
        notes=notes,
    )


def standardise(values: Sequence[float]) -> list[float]:
    """z-scores (population sd); all zeros when the values do not vary."""
    if not values:
        return []
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    return [(v - mean) / sd if sd > 0 else 0.0 for v in values]


def _own_direction(run_dir: Path, header: InternalsHeader) -> Direction | None:
    """The run's own direction file (validated, holding every layer ``header`` names), None
    when it has none."""
    path = run_dir / DIRECTION
    if not path.is_file():
        return None
    direction = load_direction(str(path))
    outside = [layer for layer in header.layers if not 0 <= layer < len(direction.layers)]
    if outside:
        raise RunStoreError(f"{run_dir / INTERNALS}: layers {outside} are not among the "
                            f"{len(direction.layers)} hidden states of {path}")
    return direction


def _shape(d: Direction | None) -> str:
    return "?" if d is None else f"{len(d.layers)} hidden states x {d.hidden_size}"


def _basis_note(ha: InternalsHeader, shared: bool, da: Direction | None,
                db: Direction | None) -> str:
    if shared:
        return (f"both runs measured on one direction (from {ha.direction_source}, sha256 "
                f"{ha.direction_sha256[:12]}): raw projection shift at its best layer "
                f"{ha.best_layer}")
    own = ("each run on its own direction at its own best layer, projections standardised "
           "(z over the run's paired answers): shifts are relative positions")
    if da is None or db is None:
        return f"{own}; a direction file is missing, so shapes are unknown; {SHARED_HOWTO}"
    if _same_shape(da, db):
        return f"{own}; same shape ({_shape(da)}): {SHARED_HOWTO}"
    return f"{own}; different shapes (A: {_shape(da)}; B: {_shape(db)}): no shared axis"


def _same_shape(da: Direction, db: Direction) -> bool:
    return len(da.layers) == len(db.layers) and da.hidden_size == db.hidden_size


def _cosine(da: Direction | None, db: Direction | None, layers_a: Sequence[int],
            layers_b: Sequence[int]) -> dict[str, float] | None:
    """Per recorded layer, the cosine between the two runs' own unit directions."""
    if da is None or db is None or not _same_shape(da, db):
        return None
    out: dict[str, float] = {}
    for layer in sorted(set(layers_a) | set(layers_b)):
        u, v = da.layers[layer], db.layers[layer]
        norm = (sum(x * x for x in u) * sum(y * y for y in v)) ** 0.5
        dot = sum(x * y for x, y in zip(u, v, strict=True))
        out[str(layer)] = round(dot / norm, 6) if norm > 0 else 0.0
    return out


def _side(run: ScoredRun, header: InternalsHeader, direction: Direction | None,
          recs: Sequence[InternalsRecord]) -> InternalsSide:
    layer = str(header.best_layer)

    def sep(value: Callable[[InternalsRecord], float],
            pos: Callable[[InternalsRecord], bool],
            neg: Callable[[InternalsRecord], bool]) -> float | None:
        return rnd(auroc([value(r) for r in recs if pos(r)], [value(r) for r in recs if neg(r)]))

    def label(r: InternalsRecord) -> str | None:
        item = run.items.get((r.probe_id, r.sample))
        return None if item is None else item.label

    def proj(r: InternalsRecord) -> float:
        return r.projection[layer]

    def censored(r: InternalsRecord) -> bool:
        name = label(r)
        return name is not None and is_censored(name)

    def complete(r: InternalsRecord) -> bool:
        return label(r) == "complete"

    return InternalsSide(
        run_id=run.run_id, model=header.model,
        layers=None if direction is None else len(direction.layers),
        hidden_size=None if direction is None else direction.hidden_size,
        direction_source=header.direction_source, best_layer=header.best_layer,
        auroc_probes_vs_controls=sep(proj, lambda r: r.kind in CENSORED_KINDS,
                                     lambda r: r.kind in CONTROL_KINDS),
        auroc_censored_vs_complete=sep(proj, censored, complete),
        auroc_refusal_prob=sep(lambda r: r.refusal_prob, censored, complete),
    )


def _shifts(pairs: Sequence[Pair], va: Sequence[float], vb: Sequence[float],
            correction: Correction) -> list[InternalsShift]:
    """One row for all paired answers, then one per topic; p adjusted across the rows."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, (x, _) in enumerate(pairs):
        groups[x.topic].append(i)
    named = [("all", list(range(len(pairs)))), *sorted(groups.items())]
    rows = [_shift(name, [pairs[i][0].probe_id for i in idx], [va[i] for i in idx],
                   [vb[i] for i in idx]) for name, idx in named]
    for row, q in zip(rows, adjust_pvalues([r.p_value for r in rows], correction), strict=True):
        row.p_adjusted = rnd(q)
        row.significant = q is not None and q < ALPHA
    return rows


def _shift(group: str, probes: Sequence[str], va: Sequence[float],
           vb: Sequence[float]) -> InternalsShift:
    """Per-prompt means (samples averaged), then the paired change over prompts."""
    per: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for pid, x, y in zip(probes, va, vb, strict=True):
        per[pid].append((x, y))
    pa = [sum(x for x, _ in v) / len(v) for _, v in sorted(per.items())]
    pb = [sum(y for _, y in v) / len(v) for _, v in sorted(per.items())]
    boot = paired_bootstrap_ci(pa, pb)
    p = sign_flip_pvalue([y - x for x, y in zip(pa, pb, strict=True)])[0] if pa else None
    return InternalsShift(
        group=group, n_prompts=len(pa),
        mean_a=rnd(sum(pa) / len(pa)) if pa else None,
        mean_b=rnd(sum(pb) / len(pb)) if pb else None,
        shift=rnd(boot.mean), ci_low=rnd(boot.ci_low), ci_high=rnd(boot.ci_high),
        p_value=rnd(p),
    )
