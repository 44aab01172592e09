"""Reading foreign prompt files (CSV, JSONL, plain text) into plain rows.

A reader knows a file format and nothing about probes: it turns bytes into numbered rows of
``column -> text`` so that one builder (:mod:`biasprobe.probes.builder`) can map any format to
validated :class:`~biasprobe.records.Probe` records. YAML probe sets have their own structure
(defaults, templates) and are read in :mod:`biasprobe.probes.sets`; they reach the same builder.

Every problem is one :class:`~biasprobe.errors.ProbeError` naming the file (and line): not
UTF-8, empty, no header, ragged rows, duplicate or blank column names, over-long cells.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from biasprobe.errors import ProbeError
from biasprobe.yamlio import one_line, read_user_text

#: Largest file a reader accepts (a prompt set is small; this stops accidents, not attacks).
MAX_FILE_BYTES = 64 * 1024 * 1024


class RowFormat(str, Enum):
    csv = "csv"
    jsonl = "jsonl"
    txt = "txt"


#: File extensions that name a row format (``run -p FILE.csv`` and ``probes import``).
EXTENSIONS: dict[str, RowFormat] = {
    ".csv": RowFormat.csv,
    ".jsonl": RowFormat.jsonl,
    ".ndjson": RowFormat.jsonl,
    ".txt": RowFormat.txt,
}


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line of the file where the row ends (for error messages)
    values: dict[str, str]


@dataclass(frozen=True)
class RowTable:
    path: Path
    format: RowFormat
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    sha256: str


def infer_format(path: Path) -> RowFormat:
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(EXTENSIONS)
        raise ProbeError(f"{path}: cannot tell the format from the extension ({known}); give --format")
    return fmt


def _decode(path: Path) -> tuple[str, str]:
    import hashlib

    text, raw = read_user_text(path, ProbeError, "prompt", "prompt", bom=True)
    if len(raw) > MAX_FILE_BYTES:
        raise ProbeError(f"{path}: {len(raw):,} bytes; the limit for a prompt file is {MAX_FILE_BYTES:,}")
    return text, hashlib.sha256(raw).hexdigest()


def _read_csv(path: Path, text: str) -> tuple[tuple[str, ...], list[Row]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[Row] = []
    try:
        header = next(reader)
        columns = tuple(c.strip() for c in header)
        if not any(columns):
            raise ProbeError(f"{path}: line 1: empty header row")
        blank = [i + 1 for i, c in enumerate(columns) if not c]
        if blank:
            raise ProbeError(f"{path}: line 1: column {blank[0]} has no name")
        dupes = sorted({c for c in columns if columns.count(c) > 1})
        if dupes:
            raise ProbeError(f"{path}: line 1: duplicate column {dupes[0]!r}")
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if len(record) != len(columns):
                raise ProbeError(
                    f"{path}: line {reader.line_num}: {len(record)} fields, the header has "
                    f"{len(columns)} (quote cells that contain commas)"
                )
            rows.append(Row(reader.line_num, dict(zip(columns, record, strict=True))))
    except csv.Error as exc:
        raise ProbeError(f"{path}: line {reader.line_num}: malformed CSV: {one_line(str(exc))}") from None
    return columns, rows


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _read_jsonl(path: Path, text: str) -> tuple[tuple[str, ...], list[Row]]:
    columns: dict[str, None] = {}
    rows: list[Row] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:  # bad JSON, too deep, a huge integer
            raise ProbeError(f"{path}: line {n}: not valid JSON ({one_line(str(exc))[:120]})") from None
        if not isinstance(obj, dict):
            raise ProbeError(f"{path}: line {n}: expected a JSON object, got {type(obj).__name__}")
        values = {str(k): v for k, v in ((k, _scalar(v)) for k, v in obj.items()) if v is not None}
        columns.update(dict.fromkeys(values))
        rows.append(Row(n, values))
    return tuple(columns), rows


def _read_txt(text: str) -> tuple[tuple[str, ...], list[Row]]:
    rows = [
        Row(n, {"text": line.strip()})
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    return ("text",), rows


def read_rows(path: Path, fmt: RowFormat | None = None) -> RowTable:
    """Read a CSV (header row), JSONL (one object a line) or text file (one prompt a line)."""
    fmt = fmt or infer_format(path)
    text, digest = _decode(path)
    if fmt is RowFormat.csv:
        columns, rows = _read_csv(path, text)
    elif fmt is RowFormat.jsonl:
        columns, rows = _read_jsonl(path, text)
    else:
        columns, rows = _read_txt(text)
    if not rows:
        raise ProbeError(f"{path}: no rows (only a header or blank lines)")
    return RowTable(path, fmt, columns, tuple(rows), digest)
