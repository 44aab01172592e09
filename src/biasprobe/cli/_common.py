"""Options and helpers shared by several commands."""

from __future__ import annotations

from enum import Enum
from typing import Any

import typer


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


def print_json(data: Any) -> None:
    """JSON for scripts; control and format characters escaped (values may be model output)."""
    from biasprobe.textutil import safe_json_dumps

    typer.echo(safe_json_dumps(data))


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """A plain, aligned text table (no colours: output is often piped)."""
    from biasprobe.textutil import one_line

    cells = [[str(h) for h in headers]] + [["" if c is None else one_line(str(c)) for c in r]
                                           for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            typer.echo("  ".join("-" * w for w in widths))
