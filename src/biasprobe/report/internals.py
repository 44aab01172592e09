"""The internals section of ``diff`` and ``report`` (text, Markdown and HTML cells).

One place for the rows and the wording, so the three formats say the same; see
:mod:`biasprobe.internals_diff` for what the numbers are. Strings from the runs (ids, model
names, topics) go through the caller's escaper.
"""

from __future__ import annotations

from collections.abc import Callable

from biasprobe.results import InternalsChange, InternalsShift, InternalsSide

Escape = Callable[[str], str]
SHIFT_HEADERS = ["signal", "group", "prompts", "A", "B", "shift B-A [95% CI]", "p", "p_adjusted"]
SIGNALS = {"projection": "projection", "refusal_prob": "p(refusal opening)"}


def _num(x: float | None, signed: bool = False) -> str:
    return "–" if x is None else (f"{x:+.3f}" if signed else f"{x:.3f}")


def _p(p: float | None) -> str:
    return "–" if p is None else f"{p:.3g}"


def shift_cells(row: InternalsShift) -> list[str]:
    ci = f" [{_num(row.ci_low, True)}, {_num(row.ci_high, True)}]" if row.ci_low is not None \
        else ""
    return [str(row.n_prompts), _num(row.mean_a), _num(row.mean_b),
            f"{_num(row.shift, True)}{ci}", _p(row.p_value),
            _p(row.p_adjusted) + (" *" if row.significant else "")]


def shift_rows(ic: InternalsChange, esc: Escape) -> list[list[str]]:
    """One row per signal and group (the "all" row first), cells as :data:`SHIFT_HEADERS`."""
    proj = "projection (z)" if ic.basis == "own" else "projection"
    return [[name, esc(row.group), *shift_cells(row)]
            for name, rows in ((proj, ic.projection), (SIGNALS["refusal_prob"], ic.refusal_prob))
            for row in rows]


def side_line(name: str, side: InternalsSide, esc: Escape) -> str:
    shape = "" if side.layers is None else f", {side.layers} hidden states x {side.hidden_size}"
    return (f"{name}: {esc(side.run_id)} (model {esc(side.model)}{shape}); direction from "
            f"{esc(side.direction_source)}, best layer {side.best_layer}; AUROC censorship "
            f"probes vs controls {_num(side.auroc_probes_vs_controls)}, censored vs complete: "
            f"projection {_num(side.auroc_censored_vs_complete)}, p(refusal opening) "
            f"{_num(side.auroc_refusal_prob)}")


def cosine_line(ic: InternalsChange) -> str:
    if ic.cosine is None:
        return "cosine between the runs' own directions: – (different shapes or a direction " \
               "file missing)"
    cells = ", ".join(f"L{layer} {value:+.3f}" for layer, value in ic.cosine.items())
    return f"cosine between the runs' own directions, per layer: {cells}"


def intro_lines(ic: InternalsChange, esc: Escape) -> list[str]:
    """The basis, both sides, the cosine and the notes, one line each."""
    return [f"basis {ic.basis}: {esc(ic.basis_note)}", side_line("A", ic.a, esc),
            side_line("B", ic.b, esc), cosine_line(ic),
            f"paired {ic.n_pairs} answers; prompt as the unit, 95% paired bootstrap interval, "
            "sign-flip p adjusted across the groups of each signal (* = significant at 0.05)",
            *(esc(n) for n in ic.notes)]
