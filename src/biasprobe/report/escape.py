"""Making untrusted model output safe to show.

Model answers (and imported metadata) are untrusted text. In a terminal, escape sequences could
recolour, move the cursor, rewrite earlier lines or set the window title; in HTML, markup could
run scripts. Terminal output goes through :func:`clean_terminal`, JSON through
:func:`safe_json_dumps`, Markdown through :func:`md_cell`; HTML relies on Jinja2 autoescape.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls except \t and \n, DEL, C1 controls (\x9b is a one-byte CSI), and the Unicode
# bidirectional overrides/isolates that can make text display differently from what it is.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u2028\u2029]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean_terminal(text: str, *, one_line: bool = False) -> str:
    """Show control characters as visible escapes (``\\x1b``) instead of sending them."""
    out = _CONTROL.sub(_visible, text)
    if one_line:
        out = " ".join(out.split())
    return out


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def safe_json_dumps(data: Any, *, indent: int | None = 2) -> str:
    """JSON with UTF-8 text kept readable but every control character escaped.

    ``json.dumps`` already escapes C0 controls; C1 controls, bidi overrides and line/paragraph
    separators are escaped here too, so printing the JSON to a terminal is harmless.
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent, sort_keys=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_cell(text: str, limit: int | None = None) -> str:
    """Untrusted text as one Markdown table cell: no HTML, no markup, no line breaks."""
    import html

    out = clean_terminal(text, one_line=True)
    if limit is not None:
        out = truncate(out, limit)
    out = html.escape(out, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", out)
