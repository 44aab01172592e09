"""CSV: one row per run and group, with count, rate and 95% Wilson interval of every label.

Every text cell is quoted, escaped with the project's escaper and has formula starts
neutralised (also after a separator a spreadsheet might split on), so a model name or topic
cannot become a formula or drive a terminal when the CSV is printed."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from biasprobe.diff import metric_names
from biasprobe.results import ReportModel
from biasprobe.textutil import one_line

# A spreadsheet may split a cell again on ; , tab or | (locale or import settings), so a
# formula character is neutralised at the start of the cell and after any such separator.
_FORMULA = re.compile(r"(^|[;,\t|\r\n\s])([=+\-@\uff1d\uff0b\uff0d\uff20])")


def _cell(value: Any) -> Any:
    """Text cells escaped (control characters) and formula starts neutralised with a leading
    ``'`` (CSV injection); numbers are kept as numbers."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    text = one_line(str(value))
    return _FORMULA.sub(lambda m: m.group(1) + "'" + m.group(2), text)


def render_csv(report: ReportModel) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    header = ["run_id", "model", "by", "group", "n_total", "n_uncertain", "n"]
    for m in metric_names():
        header += [f"{m}_k", f"{m}_rate", f"{m}_ci_low", f"{m}_ci_high"]
    writer.writerow(header)
    for run in report.runs:
        rows = [("all", "all", run.overall), *((g.by, g.group, g) for g in run.groups)]
        for by, group, g in rows:
            line: list[Any] = [run.run_id, run.model, by, group, g.n_total, g.n_uncertain, g.n]
            for m in metric_names():
                p = g.metrics[m]
                line += [p.k, p.rate, p.ci_low, p.ci_high]
            writer.writerow([_cell(v) for v in line])
    return buf.getvalue()
