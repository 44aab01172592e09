"""CSV: one row per run and group, with count, rate and 95% Wilson interval of every label.

A run with answers reviewed blind (``review --blind``) also fills the ``blind_*`` columns on its
``all`` row and on each ``language`` row the blind check covers: answers read, agreement with the
classifier, the classifier's censored rate and the blind-corrected rate with its 95% interval,
then each censored label's blind-corrected rate and interval (the same figures ``show`` and the
other formats print); other rows leave them empty.

Every text cell is quoted, escaped with the project's escaper and has formula starts
neutralised (also after a separator a spreadsheet might split on), so a model name or topic
cannot become a formula or drive a terminal when the CSV is printed."""

from __future__ import annotations

import csv
import io
from typing import Any

from biasprobe.blindcheck import BlindCheck, BlindRate
from biasprobe.diff import metric_names
from biasprobe.labels import censored_names
from biasprobe.results import ReportModel
from biasprobe.textutil import formula_safe, one_line


def _cell(value: Any) -> Any:
    """Text cells escaped (control characters) and formula starts neutralised with a leading
    ``'`` (CSV injection); numbers are kept as numbers."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return formula_safe(one_line(str(value)), split_cells=True)


BLIND_COLUMNS = ["blind_read", "blind_agree", "blind_classifier_rate", "blind_rate",
                 "blind_ci_low", "blind_ci_high"]


def blind_columns() -> list[str]:
    """:data:`BLIND_COLUMNS`, then rate and interval of each censored label (registry order)."""
    return BLIND_COLUMNS + [f"blind_{label}_{x}" for label in censored_names()
                            for x in ("rate", "ci_low", "ci_high")]


def _blind_row(check: BlindCheck | None, by: str, group: str) -> BlindRate | None:
    """The blind check's row for a CSV row: ``all`` for the run, a language for its group."""
    if check is None or by not in ("all", "language"):
        return None
    return next((r for r in check.rows if r.language == group), None)


def _blind_cells(check: BlindCheck | None, row: BlindRate | None) -> list[Any]:
    if check is None or row is None:
        return [None] * len(blind_columns())
    by_label = {r.label: r for r in check.labels if r.language == row.language}
    cells: list[Any] = [row.blind, row.agree, row.classifier_rate, row.rate, row.ci_low,
                        row.ci_high]
    for label in censored_names():
        lr = by_label.get(label)
        cells += [None] * 3 if lr is None else [lr.corrected, lr.ci_low, lr.ci_high]
    return cells


def render_csv(report: ReportModel) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    header = ["run_id", "model", "by", "group", "n_total", "n_uncertain", "n"]
    for m in metric_names():
        header += [f"{m}_k", f"{m}_rate", f"{m}_ci_low", f"{m}_ci_high"]
    writer.writerow(header + blind_columns())
    for run in report.runs:
        rows = [("all", "all", run.overall), *((g.by, g.group, g) for g in run.groups)]
        for by, group, g in rows:
            line: list[Any] = [run.run_id, run.model, by, group, g.n_total, g.n_uncertain, g.n]
            for m in metric_names():
                p = g.metrics[m]
                line += [p.k, p.rate, p.ci_low, p.ci_high]
            line += _blind_cells(run.blind_check, _blind_row(run.blind_check, by, group))
            writer.writerow([_cell(v) for v in line])
    return buf.getvalue()
