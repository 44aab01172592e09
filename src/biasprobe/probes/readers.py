"""Reading foreign prompt files (CSV, JSONL, plain text) into plain rows.

A reader knows a file format and nothing about probes: it turns bytes into numbered rows of
``column -> text`` so that one builder (:mod:`biasprobe.probes.builder`) can map any format to
validated :class:`~biasprobe.records.Probe` records. YAML probe sets have their own structure
(defaults, templates) and are read in :mod:`biasprobe.probes.sets`; they reach the same builder.

Every problem is one :class:`~biasprobe.errors.ProbeError` naming the file (and line): not
UTF-8, empty, no header, ragged rows, duplicate or blank column names, over-long cells.

Files are read as streams (:func:`scan_rows` checks one in a pass and :func:`iter_rows` reads
its rows again lazily), so a run of a 20,000-prompt file never holds the file or its rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from biasprobe.errors import ProbeError
from biasprobe.yamlio import one_line

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
class RowFile:
    """What a streaming scan learns about a row file (its rows are read again when needed)."""

    path: Path
    format: RowFormat
    columns: tuple[str, ...]
    rows: int
    sha256: str


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


def _check_bytes(path: Path) -> str:
    """One streaming pass over the raw bytes: the file's sha256, checked (as the readers need
    it) to be UTF-8, not blank and within :data:`MAX_FILE_BYTES`; never holds the whole file."""
    import codecs
    import hashlib

    from biasprobe.store import open_regular

    digest, decoder, size, blank = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")(), 0, True
    try:
        with open_regular(path, ProbeError) as fh:
            while block := fh.read(1 << 20):
                try:
                    text = decoder.decode(block)
                except UnicodeDecodeError as exc:
                    raise ProbeError(f"{path}: not valid UTF-8 (byte {size + exc.start}); "
                                     "convert it to UTF-8 first") from None
                blank = blank and not text.lstrip("\ufeff").strip()
                digest.update(block)
                size += len(block)
                if size > MAX_FILE_BYTES:
                    raise ProbeError(f"{path}: over {MAX_FILE_BYTES:,} bytes, the limit for a "
                                     "prompt file")
            decoder.decode(b"", final=True)
    except FileNotFoundError:
        raise ProbeError(f"{path}: prompt file not found") from None
    except UnicodeDecodeError as exc:  # the file ends inside a character
        raise ProbeError(f"{path}: not valid UTF-8 (byte {size - len(exc.object) + exc.start}); "
                         "convert it to UTF-8 first") from None
    except OSError as exc:
        raise ProbeError(f"{path}: cannot read ({exc.strerror})") from None
    if blank:
        raise ProbeError(f"{path}: prompt file is empty")
    return digest.hexdigest()


def _chunks(path: Path) -> Iterator[str]:
    """The file's text in line-sized pieces (line ends kept, a leading BOM dropped), read lazily.
    The file was checked by :func:`_check_bytes`; a file that stops decoding now was changed."""
    from biasprobe.store import open_regular

    try:
        with open_regular(path, ProbeError) as raw, \
                io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as fh:
            yield from fh
    except FileNotFoundError:
        raise ProbeError(f"{path}: prompt file not found") from None
    except UnicodeDecodeError:
        raise ProbeError(f"{path}: changed while it was read (no longer UTF-8)") from None
    except OSError as exc:
        raise ProbeError(f"{path}: cannot read ({exc.strerror})") from None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered lines exactly as ``str.splitlines`` numbers them, read lazily."""
    n = 0
    for chunk in _chunks(path):
        for line in chunk.splitlines():
            n += 1
            yield n, line


def _csv_header(path: Path, reader: Any) -> tuple[str, ...]:
    try:
        header = next(reader)
    except StopIteration:
        raise ProbeError(f"{path}: line 1: empty header row") from None
    columns = tuple(c.strip() for c in header)
    if not any(columns):
        raise ProbeError(f"{path}: line 1: empty header row")
    blank = [i + 1 for i, c in enumerate(columns) if not c]
    if blank:
        raise ProbeError(f"{path}: line 1: column {blank[0]} has no name")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise ProbeError(f"{path}: line 1: duplicate column {dupes[0]!r}")
    return columns


def _read_csv(path: Path) -> Iterator[tuple[str, ...] | Row]:
    """The header's columns, then the rows, parsed as the file is read."""
    reader = csv.reader(_chunks(path))
    try:
        columns = _csv_header(path, reader)
        yield columns
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if len(record) != len(columns):
                raise ProbeError(
                    f"{path}: line {reader.line_num}: {len(record)} fields, the header has "
                    f"{len(columns)} (quote cells that contain commas)"
                )
            yield Row(reader.line_num, dict(zip(columns, record, strict=True)))
    except csv.Error as exc:
        raise ProbeError(f"{path}: line {reader.line_num}: malformed CSV: {one_line(str(exc))}") from None


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _read_jsonl(path: Path) -> Iterator[Row]:
    for n, line in _lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:  # bad JSON, too deep, a huge integer
            raise ProbeError(f"{path}: line {n}: not valid JSON ({one_line(str(exc))[:120]})") from None
        if not isinstance(obj, dict):
            raise ProbeError(f"{path}: line {n}: expected a JSON object, got {type(obj).__name__}")
        values = {str(k): v for k, v in ((k, _scalar(v)) for k, v in obj.items()) if v is not None}
        yield Row(n, values)


def _read_txt(path: Path) -> Iterator[Row]:
    return (Row(n, {"text": line.strip()}) for n, line in _lines(path) if line.strip())


def iter_rows(path: Path, fmt: RowFormat) -> Iterator[Row]:
    """The rows of a file already checked by :func:`scan_rows`, parsed lazily."""
    if fmt is RowFormat.csv:
        parsed = _read_csv(path)
        next(parsed)  # the header
        return (r for r in parsed if isinstance(r, Row))
    return _read_jsonl(path) if fmt is RowFormat.jsonl else _read_txt(path)


def scan_rows(path: Path, fmt: RowFormat | None = None) -> RowFile:
    """Check a CSV / JSONL / text file in streaming passes (bytes, then rows) and describe it;
    the rows themselves are read again, lazily, by :func:`iter_rows`."""
    fmt = fmt or infer_format(path)
    digest = _check_bytes(path)
    if fmt is RowFormat.csv:
        parsed = _read_csv(path)
        head = next(parsed)
        columns = head if isinstance(head, tuple) else ()
        count = sum(1 for _ in parsed)
    elif fmt is RowFormat.jsonl:
        seen: dict[str, None] = {}
        count = 0
        for row in _read_jsonl(path):
            seen.update(dict.fromkeys(row.values))
            count += 1  # noqa: SIM113 (a generator: no len)
        columns = tuple(seen)
    else:
        columns, count = ("text",), sum(1 for _ in _read_txt(path))
    if not count:
        raise ProbeError(f"{path}: no rows (only a header or blank lines)")
    return RowFile(path, fmt, columns, count, digest)


def read_rows(path: Path, fmt: RowFormat | None = None) -> RowTable:
    """Read a CSV (header row), JSONL (one object a line) or text file (one prompt a line)."""
    info = scan_rows(path, fmt)
    return RowTable(path, info.format, info.columns, tuple(iter_rows(path, info.format)), info.sha256)
