"""Reading user-written YAML files and turning validation errors into one-line messages.

Shared by the model registry and the probe sets, so both report problems the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from biasprobe.errors import BiasprobeError

MAX_USER_FILE_BYTES = 1024 * 1024 * 1024
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def error_location(parts: Iterable[Any]) -> str:
    """A pydantic error location as one printable line (odd keys are quoted)."""
    return ".".join(
        str(p) if isinstance(p, int) or _PLAIN_KEY.match(str(p)) else repr(str(p)) for p in parts
    )


def validation_message(err: ValidationError, where: str) -> str:
    """The first problem of a pydantic error as ``where: field.path: message``."""
    first = err.errors()[0]
    loc = error_location(first["loc"])
    msg = "unknown field" if first["type"] == "extra_forbidden" else one_line(first["msg"])
    more = f" (and {err.error_count() - 1} more problems)" if err.error_count() > 1 else ""
    return (f"{where}: {loc}: {msg}" if loc else f"{where}: {msg}") + more


def read_user_file(path: Path, error: type[BiasprobeError], what: str, fmt: str) -> bytes:
    """The bytes of a file the user named; a missing, unreadable or special file (a FIFO, a
    device, a folder) or one over 1 GiB is one ``error`` line."""
    from biasprobe.store import read_bounded

    try:
        return read_bounded(path, MAX_USER_FILE_BYTES, error)
    except FileNotFoundError:
        raise error(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror})") from None


def read_user_text(
    path: Path, error: type[BiasprobeError], what: str, fmt: str, *, bom: bool = False
) -> tuple[str, bytes]:
    """The text and bytes of a UTF-8 file the user named (``bom``: a leading BOM is dropped);
    a file that is not UTF-8, or is empty, is one ``error`` line."""
    raw = read_user_file(path, error, what, fmt)
    try:
        text = raw.decode("utf-8-sig" if bom else "utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not valid UTF-8 (byte {exc.start}); convert it to UTF-8 first") from None
    if not text.strip():
        raise error(f"{path}: {what} file is empty")
    return text, raw


def read_yaml(path: Path, error: type[BiasprobeError], what: str) -> Any:
    """Parse a YAML file; every failure is ``error`` with one line naming the file."""
    text, _raw = read_user_text(path, error, what, f"{what} YAML")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = one_line(getattr(exc, "problem", None) or str(exc))
        raise error(f"{path}:{where}: malformed YAML: {problem}") from None
    except RecursionError:
        raise error(f"{path}: malformed YAML: nested too deeply") from None
    except Exception as exc:  # e.g. ValueError from an impossible date such as 2020-02-30
        raise error(f"{path}: malformed YAML: {one_line(str(exc))}") from None
