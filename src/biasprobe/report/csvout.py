"""CSV: one row per run and group, with count, rate and 95% Wilson interval of every label."""

from __future__ import annotations

import csv
import io
from typing import Any

from biasprobe.diff import METRICS

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection); numbers are kept."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def render_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["run_id", "model", "by", "group", "n_total", "n_uncertain", "n"]
    for m in METRICS:
        header += [f"{m}_k", f"{m}_rate", f"{m}_ci_low", f"{m}_ci_high"]
    writer.writerow(header)
    for run in report["runs"]:
        rows = [{"by": "all", "group": "all", **run["overall"]}, *run["groups"]]
        for g in rows:
            line: list[Any] = [run["run_id"], run["model"], g["by"], g["group"]]
            line += [g["n_total"], g["n_uncertain"], g["n"]]
            for m in METRICS:
                p = g["metrics"][m]
                line += [p["k"], p["rate"], p["ci_low"], p["ci_high"]]
            writer.writerow([_cell(v) for v in line])
    return buf.getvalue()
