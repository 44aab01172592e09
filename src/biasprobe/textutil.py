"""Model output is untrusted text: make it safe to print in a terminal.

The project's one escaper: ``show``, ``diff``, ``compare``, ``report`` (text, JSON, Markdown,
CSV, HTML titles), error and warning lines all escape through :func:`printable` /
:func:`one_line` / :func:`safe_json_dumps` (``biasprobe.report.escape`` builds on them), so
they agree on what is unsafe: C0/C1 controls (ESC, BEL, CR…), format characters (bidi
overrides and isolates, zero-width and tag characters; the zero-width joiner of emoji is kept),
lone surrogates and the Unicode line/paragraph separators. CSV files (review sheets and
``report -f csv``) also neutralise formula starts through :func:`formula_safe`.
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def is_unsafe(ch: str) -> bool:
    """True for a character that could drive a terminal or hide/reorder text."""
    return ch != "\u200d" and unicodedata.category(ch) in UNSAFE_CATEGORIES


def printable(text: str) -> str:
    """Replace control characters (ANSI escapes, bells, bidi overrides…) with visible escapes.

    Newlines and tabs are kept. Nothing a model writes can move the cursor, change colours or
    rewrite earlier lines of the user's terminal.
    """
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
        elif is_unsafe(ch):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


# A cell a spreadsheet would run: one starting with = + - @ (or their full-width forms, which
# some spreadsheets read as the same), tab or CR. A spreadsheet may also split a cell again on
# ; , tab or | (locale or import settings), so one-line cells are neutralised after those too.
_FORMULA_CHARS = "=+\\-@\uff1d\uff0b\uff0d\uff20"
_FORMULA_AT_START = re.compile(rf"^([{_FORMULA_CHARS}\t\r])")
_FORMULA_ANYWHERE = re.compile(rf"(^|[;,\t|\r\n\s])([{_FORMULA_CHARS}])")


def formula_safe(text: str, *, split_cells: bool = False) -> str:
    """``text`` as a CSV cell a spreadsheet will not run: a formula start gets a leading ``'``.

    With ``split_cells`` also after every separator a spreadsheet might split the cell on
    (short one-line cells of reports); a review sheet's multi-line answers keep their text
    apart from the cell's first character, so a reader sees them as written."""
    if split_cells:
        return _FORMULA_ANYWHERE.sub(lambda m: m.group(1) + "'" + m.group(2), text)
    return _FORMULA_AT_START.sub(r"'\1", text)


def preview(text: str, width: int = 70) -> str:
    """One line: whitespace collapsed, control characters escaped, cut to ``width``."""
    one = printable(_WS.sub(" ", text).strip())
    return one if len(one) <= width else one[: width - 1] + "…"


def one_line(text: str) -> str:
    """Whitespace (newlines included) collapsed to single spaces, control characters escaped:
    safe as one line of terminal output (error messages, table cells)."""
    return printable(_WS.sub(" ", str(text)).strip())


def _escape_json_char(ch: str) -> str:
    code = ord(ch)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def safe_json_dumps(data: object, indent: int | None = 2) -> str:
    """JSON with non-ASCII text kept readable but every control / format character (C0, C1,
    bidi overrides, zero-width…) written as a ``\\uXXXX`` escape. The result is still valid JSON
    that decodes to the same data, and printing it cannot drive the terminal."""
    import json

    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return "".join(
        _escape_json_char(ch)
        if ch != "\n" and (is_unsafe(ch) or ch == "\u200d")
        else ch
        for ch in text
    )
