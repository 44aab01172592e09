"""Options and helpers shared by several commands."""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import typer


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False))


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """A plain, aligned text table (no colours: output is often piped)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            typer.echo("  ".join("-" * w for w in widths))
